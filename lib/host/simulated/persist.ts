// SimulatedHost({ stateDir }): the model's state on disk, so that other processes see what a
// process — killed or not — left in HCS, as the real service outlives its clients. Several
// processes may use one state directory at once (README.md "Persistence"):
// - every state-changing call is a locked read-modify-write: it takes the directory's lock
//   (lib/resources/journal/lock.ts: written complete before visible, a dead holder's lock
//   taken over), re-reads the state if another process changed it, checks and changes it,
//   and writes it back before unlocking;
// - the state is written to a temporary file and renamed over `host-state.json`, so a
//   reader without the lock (and a process killed mid-write) never sees half of it;
// - calls that only read take the latest state written, without the lock.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { lock, lockSync, type HeldLock } from '../../resources/journal/lock';
import { parseHostState, type HostState } from './state';

const STATE_FILE = 'host-state.json';
const LOCK_FILE = 'host-state.lock';

/** What tells one written state from the next: a rename gives the file a new inode. */
function versionOf(st: fs.BigIntStats): string {
  return `${st.ino}:${st.mtimeNs}:${st.size}`;
}

function version(file: string): string | undefined {
  try {
    return versionOf(fs.statSync(file, { bigint: true }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class StateStore {
  readonly #file: string;
  readonly #tmp: string;
  readonly #lock: string;
  /** The version last read or written by this process. */
  #seen: string | undefined;

  constructor(stateDir: string) {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.#file = nodePath.join(stateDir, STATE_FILE);
    this.#tmp = nodePath.join(stateDir, `${STATE_FILE}.${process.pid}.tmp`);
    this.#lock = nodePath.join(stateDir, LOCK_FILE);
  }

  /** The state on disk when another process wrote it since this one last read or wrote it; else undefined. */
  changed(): HostState | undefined {
    const v = version(this.#file);
    if (v === undefined || v === this.#seen) return undefined;
    // Version and content from one open file: a rename meanwhile cannot pair them wrongly.
    const fd = fs.openSync(this.#file, 'r');
    try {
      this.#seen = versionOf(fs.fstatSync(fd, { bigint: true }));
      return parseHostState(fs.readFileSync(fd, 'utf8'), this.#file);
    } finally {
      fs.closeSync(fd);
    }
  }

  save(state: HostState): void {
    fs.writeFileSync(this.#tmp, JSON.stringify(state), { mode: 0o600 });
    fs.renameSync(this.#tmp, this.#file);
    this.#seen = version(this.#file);
  }

  lock(): Promise<HeldLock> {
    return lock(this.#lock);
  }

  lockSync(): HeldLock {
    return lockSync(this.#lock);
  }
}
