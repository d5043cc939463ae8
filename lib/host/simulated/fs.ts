// The simulated host's Windows file system, rooted in a real directory:
// `C:\layers\x` is `<root>/C/layers/x` (drive letter upper-cased as the folder).
//
// Lookups are case-insensitive and case-preserving like NTFS: each component is
// matched against the real directory entries (exact spelling first, then
// case-folded), and a missing component keeps the caller's spelling when it is
// created. hcsshim itself compares path strings case-sensitively (mounts.md §4.4,
// §5.2) — that is the engine's business; the file system underneath is NTFS.
//
// Accepted spellings: `C:\…`, `C:/…`, `\\?\C:\…`, `\\.\C:\…` and the GUID volume
// paths this host hands out from ResolvePath (`\\?\Volume{…}\…`, one stable GUID
// per drive). Physical drives `\\.\PHYSICALDRIVE<n>` are host objects that exist
// once `SimulatedHost.addPhysicalDrive(n)` was called; nothing else (pipes, UNC
// shares) is a file here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { clean, volumeName } from '../winpath';
import { derivedGuid } from './guid';

export type WinPath =
  | { kind: 'file'; drive: string; parts: string[] }
  | { kind: 'physicalDrive'; number: number };

/** The GUID of a drive's volume (`\\?\Volume{<this>}\`), stable per drive letter. */
export function driveVolumeGuid(drive: string): string {
  return derivedGuid('volume', drive.toUpperCase());
}

const PHYSICAL_DRIVE = /^\\\\\.\\PHYSICALDRIVE(\d+)$/i;
const VOLUME = /^\\\\\?\\Volume\{([0-9a-fA-F-]{36})\}$/;

export interface RealStat {
  isDirectory: boolean;
  isFile: boolean;
  size: number;
}

export class WindowsFs {
  private readonly volumes = new Map<string, string>();

  constructor(readonly root: string) {
    for (const d of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') this.volumes.set(driveVolumeGuid(d), d);
  }

  /** Parse an absolute Windows path; undefined when it names nothing this host models. */
  parse(p: string): WinPath | undefined {
    const drive = PHYSICAL_DRIVE.exec(p);
    if (drive) return { kind: 'physicalDrive', number: Number(drive[1]) };
    let rest = p;
    if (/^[\\/][\\/][?.][\\/][A-Za-z]:/.test(rest)) rest = rest.slice(4);
    const vol = volumeName(rest);
    let letter: string | undefined;
    const guid = VOLUME.exec(vol);
    if (guid) letter = this.volumes.get(guid[1]!.toLowerCase());
    else if (/^[A-Za-z]:$/.test(vol)) letter = vol[0]!.toUpperCase();
    const tail = rest.slice(vol.length);
    if (letter === undefined || !/^[\\/]/.test(tail)) return undefined;
    const parts = clean(tail).split('\\').filter((s) => s !== '');
    return { kind: 'file', drive: letter, parts };
  }

  /**
   * The real path of a drive path, each existing component in its on-disk
   * spelling; `found` is how many leading components exist.
   *
   * Synchronous on purpose: these are metadata look-ups of a few microseconds, and
   * going through the libuv pool per component made the model, not the engine,
   * dominate every allocation's cost. The exact spelling is tried first (one stat);
   * only a miss walks the components case-insensitively.
   */
  locate(w: { drive: string; parts: string[] }): { real: string; spelled: string[]; found: number; stat?: fs.Stats } {
    const exact = path.join(this.root, w.drive, ...w.parts);
    const st = statOrUndefined(exact);
    if (st !== undefined) return { real: exact, spelled: [...w.parts], found: w.parts.length, stat: st };
    let real = path.join(this.root, w.drive);
    const spelled: string[] = [];
    let found = 0;
    let missing = false;
    for (const part of w.parts) {
      let name = part;
      if (!missing) {
        const entries = readdirOrUndefined(real);
        const hit = entries?.includes(part) ? part : entries?.find((e) => e.toLowerCase() === part.toLowerCase());
        if (hit === undefined) missing = true;
        else {
          name = hit;
          found++;
        }
      }
      spelled.push(name);
      real = path.join(real, name);
    }
    return { real, spelled, found };
  }

  /** The real file behind a Windows path, or undefined when it does not exist. */
  async existing(p: string): Promise<{ real: string; stat: RealStat; win: string; volumePath: string } | undefined> {
    const w = this.parse(p);
    if (w?.kind !== 'file') return undefined;
    const { real, spelled, found, stat } = this.locate(w);
    if (found !== w.parts.length) return undefined;
    const st = stat ?? statOrUndefined(real);
    if (st === undefined) return undefined;
    const tail = spelled.join('\\');
    return {
      real,
      // Windows reports a directory's size as 0 (Go os.Stat on NTFS).
      stat: { isDirectory: st.isDirectory(), isFile: st.isFile(), size: st.isDirectory() ? 0 : st.size },
      win: `${w.drive}:\\${tail}`,
      volumePath: `\\\\?\\Volume{${driveVolumeGuid(w.drive)}}\\${tail}`,
    };
  }
}

function readdirOrUndefined(dir: string): string[] | undefined {
  try {
    return fs.readdirSync(dir);
  } catch {
    return undefined;
  }
}

/** ENOENT, and ENOTDIR for a file in the way, both mean "not there". */
function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}
