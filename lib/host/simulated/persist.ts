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

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { lock, lockSync, type HeldLock } from '../../resources/journal/lock';
import { parseHostState, type HostState } from './state';
import { secretReplacer } from '../../credentials/redact';

const STATE_FILE = 'host-state.json';
const LOCK_FILE = 'host-state.lock';

/**
 * Each write starts with a fresh random version (`{"version":"…",`): reading 40 bytes tells
 * whether another process wrote since. (An inode number and mtime do not: a freed inode is
 * reused at once, and mtime ticks coarser than these writes.)
 */
const VERSION = /^\{"version":"([0-9a-f]{16})",/;
const HEAD = 40;

export class StateStore {
  readonly #file: string;
  readonly #tmp: string;
  readonly #lock: string;
  /** The version last read or written by this process (see VERSION). */
  #seen: string | undefined;

  constructor(stateDir: string) {
        this.#file = nodePath.join(stateDir, STATE_FILE);
    this.#tmp = nodePath.join(stateDir, `${STATE_FILE}.${process.pid}.tmp`);
    this.#lock = nodePath.join(stateDir, LOCK_FILE);
  }

  /** Whether any process ever wrote the state here. */
  written(): boolean {
    return fs.existsSync(this.#file);
  }

  /** The state on disk when another process wrote it since this one last read or wrote it; else undefined. */
  changed(): HostState | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.#file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const head = Buffer.alloc(HEAD);
      const n = fs.readSync(fd, head, 0, HEAD, 0);
      const version = VERSION.exec(head.toString('utf8', 0, n))?.[1];
      if (version !== undefined && version === this.#seen) return undefined;
      this.#seen = version;
      return parseHostState(fs.readFileSync(fd, 'utf8'), this.#file);
    } finally {
      fs.closeSync(fd);
    }
  }

  save(state: HostState): void {
    const version = randomBytes(8).toString('hex');
    fs.writeFileSync(this.#tmp, `{"version":"${version}",${JSON.stringify(state, secretReplacer).slice(1)}`, { mode: 0o600 });
    fs.renameSync(this.#tmp, this.#file);
    this.#seen = version;
  }

  lock(): Promise<HeldLock> {
    return lock(this.#lock);
  }

  lockSync(): HeldLock {
    return lockSync(this.#lock);
  }
}
