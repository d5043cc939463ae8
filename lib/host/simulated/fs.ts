// The simulated host's Windows file system, rooted in a real directory:
// `C:\layers\x` is `<root>/C/layers/x` (drive letter upper-cased as the folder).
//
// Lookups are case-insensitive and case-preserving like NTFS: each component is
// matched against the real directory entries (exact spelling first, then
// case-folded), and a missing component keeps the caller's spelling when it is
// created. hcsshim itself compares path strings case-sensitively (docs/mounts.md#reusing-an-attachment,
// docs/mounts.md#adding-a-share) — that is the engine's business; the file system underneath is NTFS.
//
// Accepted spellings: `C:\…`, `C:/…`, `\\?\C:\…`, `\\.\C:\…` and the GUID volume
// paths this host hands out from ResolvePath (`\\?\Volume{…}\…`, one stable GUID
// per drive). Physical drives `\\.\PHYSICALDRIVE<n>` are host objects that exist
// once `SimulatedHost.addPhysicalDrive(n)` was called; nothing else (pipes, UNC
// shares) is a file here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { clean, volumeName } from '../winpath';
import { DirectoryIndex, stampOf } from './dirindex';
import { derivedGuid } from './guid';

export type WinPath =
  | { readonly kind: 'file'; readonly drive: string; readonly parts: readonly string[] }
  | { readonly kind: 'physicalDrive'; readonly number: number };

const driveGuids = new Map<string, string>();

/** The GUID of a drive's volume (`\\?\Volume{<this>}\`), stable per drive letter (kept: every look-up names it). */
export function driveVolumeGuid(drive: string): string {
  const letter = drive.toUpperCase();
  let guid = driveGuids.get(letter);
  if (guid === undefined) {
    guid = derivedGuid('volume', letter);
    driveGuids.set(letter, guid);
  }
  return guid;
}

const PHYSICAL_DRIVE = /^\\\\\.\\PHYSICALDRIVE(\d+)$/i;
const VOLUME = /^\\\\\?\\Volume\{([0-9a-fA-F-]{36})\}$/;
const PARSED_MAX = 4096;

export interface RealStat {
  isDirectory: boolean;
  isFile: boolean;
  size: number;
}

export class WindowsFs {
  private readonly volumes = new Map<string, string>();
  private readonly index: DirectoryIndex;
  /**
   * Every call parses the same few dozen paths again (layer folders, mount sources);
   * the regular expressions and clean() were a visible share of a cycle. Bounded: a
   * runtime's fresh scratch folders are new paths each time.
   */
  private readonly parsed = new Map<string, WinPath | undefined>();

  /** `<root>/<drive>/` per drive letter. */
  private readonly drivePrefixes = new Map<string, string>();

  constructor(readonly root: string) {
    this.index = new DirectoryIndex(root);
    for (const d of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') this.volumes.set(driveVolumeGuid(d), d);
  }

  /**
   * The real path of a drive's components: path.join without its normalisation, which a
   * look-up paid several times (the components are clean: no `.`, `..` or separators).
   */
  protected realOf(drive: string, parts: readonly string[]): string {
    let prefix = this.drivePrefixes.get(drive);
    if (prefix === undefined) {
      prefix = path.join(this.root, drive, path.sep);
      this.drivePrefixes.set(drive, prefix);
    }
    return parts.length === 0 ? prefix.slice(0, -1) : prefix + parts.join(path.sep);
  }

  /** Parse an absolute Windows path; undefined when it names nothing this host models. */
  parse(p: string): WinPath | undefined {
    if (this.parsed.has(p)) return this.parsed.get(p);
    if (this.parsed.size >= PARSED_MAX) this.parsed.clear();
    const w = this.parseUncached(p);
    this.parsed.set(p, w);
    return w;
  }

  private parseUncached(p: string): WinPath | undefined {
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
    const parts = Object.freeze(clean(tail).split('\\').filter((s) => s !== ''));
    return Object.freeze({ kind: 'file', drive: letter, parts });
  }

  /**
   * The real path of a drive path, each existing component in its on-disk
   * spelling; `found` is how many leading components exist.
   *
   * Synchronous on purpose: these are metadata look-ups of a few microseconds, and
   * going through the libuv pool per component made the model, not the engine,
   * dominate every allocation's cost. The exact spelling is tried first (one stat);
   * a miss stats the shorter prefixes until one exists as spelled — every component
   * of that prefix is its own on-disk spelling, an exact name winning over a
   * case-folded one — and matches only the components below it through the
   * directory index (dirindex.ts), never by reading a whole directory per look-up.
   */
  locate(w: { drive: string; parts: readonly string[] }): { real: string; spelled: string[]; found: number; stat?: fs.Stats } {
    const exact = this.realOf(w.drive, w.parts);
    const st = statOrUndefined(exact);
    if (st !== undefined) return { real: exact, spelled: [...w.parts], found: w.parts.length, stat: st };
    let found = w.parts.length - 1;
    let real = this.realOf(w.drive, w.parts.slice(0, found));
    let stamp = stampOf(real);
    while (stamp === undefined && found > 0) {
      found--;
      real = path.dirname(real);
      stamp = stampOf(real);
    }
    const spelled = w.parts.slice(0, found);
    if (stamp === undefined) return this.missingFrom(real, spelled, w.parts);
    for (; found < w.parts.length; found++) {
      const hit = this.index.find(real, stamp, w.parts[found]!);
      if (hit === undefined) break;
      spelled.push(hit);
      real = path.join(real, hit);
      // The last component was the exact miss; only a folded hit above it needs its own stamp.
      if (found + 1 < w.parts.length) {
        const next = stampOf(real);
        if (next === undefined) return this.missingFrom(real, spelled, w.parts);
        stamp = next;
      }
    }
    return this.missingFrom(real, spelled, w.parts);
  }

  /** A located path: `spelled` is what exists, the rest keeps the caller's spelling. */
  private missingFrom(real: string, spelled: string[], parts: readonly string[]): { real: string; spelled: string[]; found: number } {
    const rest = parts.slice(spelled.length);
    return { real: rest.length === 0 ? real : path.join(real, ...rest), spelled: [...spelled, ...rest], found: spelled.length };
  }

  /** os.MkdirAll's check: the existing part of a located path ends in a directory, not a file. */
  directories(w: { drive: string }, located: { spelled: string[]; found: number; stat?: fs.Stats }): boolean {
    if (located.found === 0) return true;
    const st = located.stat ?? statOrUndefined(this.realOf(w.drive, located.spelled.slice(0, located.found)));
    return st?.isDirectory() === true;
  }

  /**
   * os.MkdirAll's creation step for a located path: the missing folders from `found`
   * on, one synchronous mkdir each, recorded in the index.
   */
  mkdirs(w: { drive: string }, located: { spelled: string[]; found: number }): void {
    let dir = this.realOf(w.drive, located.spelled.slice(0, located.found));
    if (located.found === 0) fs.mkdirSync(dir, { recursive: true });
    for (const name of located.spelled.slice(located.found)) {
      this.index.mkdir(dir, name);
      dir = path.join(dir, name);
    }
  }

  /** The real file behind a Windows path, or undefined when it does not exist. */
  async existing(p: string): Promise<ExistingFile | undefined> {
    const w = this.parse(p);
    if (w?.kind !== 'file') return undefined;
    const located = this.locate(w);
    if (located.found !== w.parts.length) return undefined;
    const st = located.stat ?? statOrUndefined(located.real);
    if (st === undefined) return undefined;
    // Windows reports a directory's size as 0 (Go os.Stat on NTFS).
    return existingFile(w, located, { isDirectory: st.isDirectory(), isFile: st.isFile(), size: st.isDirectory() ? 0 : st.size });
  }

  /** Write a new file (CreateSandboxLayer's sandbox.vhdx) with `write(real path)`. */
  create(target: { win: string; real: string }, write: (real: string) => Promise<void>): Promise<void> {
    return write(target.real);
  }
}

export interface ExistingFile {
  real: string;
  stat: RealStat;
  win: string;
  volumePath: string;
  /** Made by a rehearsal (overlay.ts): it has no bytes on the drive to read or change. */
  rehearsed?: true;
}

/** A located path that exists, as `existing` reports it. */
export function existingFile(w: { drive: string }, located: { real: string; spelled: readonly string[] }, stat: RealStat): ExistingFile {
  const tail = located.spelled.join('\\');
  return { real: located.real, stat, win: `${w.drive}:\\${tail}`, volumePath: `\\\\?\\Volume{${driveVolumeGuid(w.drive)}}\\${tail}` };
}

/** ENOENT, and ENOTDIR for a file in the way, both mean "not there". */
function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    // No exception for the common miss: building one cost more than the stat.
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
