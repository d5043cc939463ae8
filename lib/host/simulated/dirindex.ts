// The case-insensitive index behind the simulated drives' look-ups: per real
// directory, its entries by case-folded name, so that a look-up whose exact
// spelling misses asks a map instead of reading the whole directory (a runtime
// gives every container a new scratch folder beside the others in C:\layers).
//
// The files under the root are not the model's alone: tests and `--setup` write
// them directly, and under wine node.exe writes through the C: symlink. So an
// entry is used only while the directory is provably unchanged since it was read:
// its stamp (inode, mtime, ctime, size, link count), taken before the read, must
// equal a stat taken by the look-up. A changed stamp means the directory is read
// again. The model only ever creates (MkdirAll, CreateSandboxLayer; it renames and
// deletes nothing): its mkdir patches the entry (stamp before and after the mkdir,
// nothing else in between), which is what keeps C:\layers from being re-read once
// per container; its asynchronous VHDX writes show as a new stamp like any other.
//
// An equal stamp proves "unchanged" only when a change made after our stat gets a
// timestamp of its own. Linux ≥ 6.13 guarantees that (multigrain timestamps: a
// change after a stat of ctime is stamped with the fine-grained clock); older
// kernels stamp with the tick (1-10 ms) and some file systems with seconds. So a
// directory is trusted from its stamp alone only on a file system seen to keep
// such changes apart (probed once per device, in a folder made for the purpose in the
// simulated root: PROBE_PREFIX); elsewhere only once its ctime is older than
// COARSE_WINDOW_MS at the time it was read (git's "racily clean" rule), and read
// again until then.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fold } from './state';

/** Longer than any file system's timestamp granularity (FAT: 2 s). */
const COARSE_WINDOW_MS = 2500;

interface Listing {
  stamp: fs.BigIntStats;
  /** Exact names. */
  names: Set<string>;
  /** Case-folded name → the first entry with that folding, in directory order. */
  folded: Map<string, string>;
  /** Whether `stamp` alone proves the listing current (see the file comment). */
  trusted: boolean;
}

function sameStamp(a: fs.BigIntStats, b: fs.BigIntStats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.size === b.size && a.nlink === b.nlink;
}

/** A directory's stamp; undefined when it is missing (or a file is in the way). */
export function stampOf(dir: string): fs.BigIntStats | undefined {
  try {
    return fs.statSync(dir, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * The probe's folder in the simulated root, removed at once; one a killed process left is
 * part of the simulated machine (`reset` removes it).
 */
export const PROBE_PREFIX = '.wcow-mtime-';

/** Whether a device keeps changes apart (probe), by device: once per process. */
const probed = new Map<bigint, boolean>();

/**
 * Whether changes to a directory on `dev` right after a stat of it get a timestamp
 * different from the one that stat saw. Probed in `root` (the simulated root, on the
 * device of the directories it holds); a directory on another device than its root's
 * (a mount inside it) is taken to be coarse.
 */
function fineGrained(dev: bigint, root: string): boolean {
  let fine = probed.get(dev);
  if (fine === undefined) {
    const p = probe(root);
    if (p !== undefined) probed.set(p.dev, p.fine);
    fine = probed.get(dev);
    if (fine === undefined) probed.set(dev, (fine = false));
  }
  return fine;
}

function probe(root: string): { dev: bigint; fine: boolean } | undefined {
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(root, PROBE_PREFIX));
    let seen = fs.statSync(dir, { bigint: true });
    // mkdirs microseconds after a stat: a tick-stamping file system gives the directory
    // the mtime that stat saw almost always, so three that differ mean fine-grained stamps.
    for (let i = 0; i < 3; i++) {
      fs.mkdirSync(path.join(dir, String(i)));
      const now = fs.statSync(dir, { bigint: true });
      if (now.mtimeNs === seen.mtimeNs) return { dev: seen.dev, fine: false };
      seen = now;
    }
    return { dev: seen.dev, fine: true };
  } catch {
    return undefined;
  } finally {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export class DirectoryIndex {
  private readonly dirs = new Map<string, Listing>();

  /** `root`: the simulated root, where the probe runs (fineGrained). */
  constructor(private readonly root: string) {}

  /**
   * The on-disk name of `name` in `dir` — the exact spelling when it exists, else the
   * first case-folded match — or undefined. `stamp` is a stat of `dir` taken now.
   */
  find(dir: string, stamp: fs.BigIntStats, name: string): string | undefined {
    const listing = this.current(dir, stamp);
    if (listing === undefined) return undefined;
    return listing.names.has(name) ? name : listing.folded.get(fold(name));
  }

  /**
   * The model's own mkdir of `name` in `dir`, synchronous, keeping the entry current:
   * an entry valid just before the mkdir is valid with `name` added just after it.
   */
  mkdir(dir: string, name: string): void {
    const before = stampOf(dir);
    const listing = this.dirs.get(dir);
    const current = listing !== undefined && before !== undefined && listing.trusted && sameStamp(listing.stamp, before);
    try {
      fs.mkdirSync(path.join(dir, name));
    } catch (err) {
      this.dirs.delete(dir);
      // Created meanwhile by someone else: os.MkdirAll is content with a directory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && stampOf(path.join(dir, name))?.isDirectory() === true) return;
      throw err;
    }
    const after = current ? stampOf(dir) : undefined;
    if (listing === undefined || after === undefined) {
      this.dirs.delete(dir);
      return;
    }
    listing.stamp = after;
    listing.trusted = this.trustedStamp(after, Date.now());
    listing.names.add(name);
    if (!listing.folded.has(fold(name))) listing.folded.set(fold(name), name);
  }

  private current(dir: string, stamp: fs.BigIntStats): Listing | undefined {
    if (!stamp.isDirectory()) return undefined;
    const known = this.dirs.get(dir);
    if (known !== undefined && known.trusted && sameStamp(known.stamp, stamp)) return known;
    const readAt = Date.now();
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      this.dirs.delete(dir);
      return undefined;
    }
    const folded = new Map<string, string>();
    for (const e of entries) if (!folded.has(fold(e))) folded.set(fold(e), e);
    // `stamp` was taken before the read: a change during the read shows as a new stamp next time.
    const listing: Listing = { stamp, names: new Set(entries), folded, trusted: this.trustedStamp(stamp, readAt) };
    this.dirs.set(dir, listing);
    return listing;
  }

  private trustedStamp(stamp: fs.BigIntStats, readAtMs: number): boolean {
    return fineGrained(stamp.dev, this.root) || readAtMs - Number(stamp.ctimeMs) > COARSE_WINDOW_MS;
  }
}
