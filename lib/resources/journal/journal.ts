// One container's crash journal: an append-only file of JSON lines (README.md "Format").
// An acquisition is written and fsync'ed before the HCS call that may create it; its outcome,
// removals and dropped references are written after. The file is opened 0600 in a 0700
// directory and removed once the container's resources are all released.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import { JournalError } from '../../errors';
import { makeDirectory } from '../../host/directory';
import { currentOwner, type Owner } from './owner';
import type { Undo } from './undo';

export const JOURNAL_SUFFIX = '.journal';

export type Entry =
  | { t: 'owner'; v: 1; id: string; pid: number; start?: string; at: number }
  /** About to make a call that may create `undo`'s resource (or took one more reference to it). */
  | { t: 'acquire'; n: number; at: number; undo: Undo }
  /** The outcome of acquisition `n`: a failed call created nothing. */
  | { t: 'done'; n: number; ok: boolean }
  /** The resource is gone (a counted one: one activation less). `by: 'recover'` is recover's progress. */
  | { t: 'removed'; undo: Undo; by?: 'recover' }
  /** One reference less; the resource stays for the other holders. */
  | { t: 'dropped'; undo: Undo }
  /** The owner gave up (a rollback failed): recover may take over although the owner lives. */
  | { t: 'abandoned' };

/** Writes still on their way to a journal file, in this process (see Journal.remove). */
const inFlight = new Set<Promise<void>>();

function journalError(err: unknown, op: string, path: string): JournalError {
  const e = err as NodeJS.ErrnoException;
  return new JournalError(`crash journal ${path}: ${e.message ?? String(err)}`, {
    op,
    resource: path,
    ...(typeof e.code === 'string' && { errno: e.code }),
    cause: err,
  });
}

export class Journal {
  readonly path: string;
  readonly id: string;
  readonly #fd: fs.promises.FileHandle;
  #n = 0;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;
  #retained = false;

  private constructor(path: string, id: string, fd: fs.promises.FileHandle) {
    this.path = path;
    this.id = id;
    this.#fd = fd;
  }

  /**
   * A new journal for container `id` in `dir`. The name hashes the id (ids may hold any
   * character) and adds the pid and a random part, so two allocations never share a file.
   * The file and the directory entry are flushed before anything is acquired.
   */
  static async create(dir: string, id: string): Promise<Journal> {
    const owner: Owner = currentOwner();
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 16);
    const path = nodePath.join(dir, `${hash}-${owner.pid}-${randomBytes(4).toString('hex')}${JOURNAL_SUFFIX}`);
    try {
      makeDirectory(dir, 0o700);
      const fd = await fs.promises.open(path, 'wx', 0o600);
      const j = new Journal(path, id, fd);
      await j.#append({ t: 'owner', v: 1, id, ...owner, at: Date.now() }, true);
      await syncDirectory(dir);
      return j;
    } catch (err) {
      throw err instanceof JournalError ? err : journalError(err, 'journal.open', path);
    }
  }

  /** Write-ahead: recorded and flushed before the call; returns the number `done` refers to. */
  async acquire(undo: Undo): Promise<number> {
    const n = ++this.#n;
    await this.#append({ t: 'acquire', n, at: Date.now(), undo }, true);
    return n;
  }

  /**
   * A success needs no flush: losing it only makes recover try an undo that finds the
   * resource gone. A failure is flushed: without it recover would remove a resource of the
   * same name the failed call could not create because someone else holds it.
   */
  done(n: number, ok: boolean): Promise<void> {
    return this.#append({ t: 'done', n, ok }, !ok);
  }

  /** Not flushed: losing it makes recover redo a removal that then finds nothing. */
  removed(undo: Undo): Promise<void> {
    return this.#append({ t: 'removed', undo }, false);
  }

  dropped(undo: Undo): Promise<void> {
    return this.#append({ t: 'dropped', undo }, false);
  }

  /** The owner gives up: recover() may take over; nothing more is written. */
  async abandon(): Promise<void> {
    await this.#append({ t: 'abandoned' }, true);
    this.#closed = true;
    await this.#tail;
    await this.#fd.close().catch(() => undefined);
  }

  /**
   * Something this container acquired could not be given back in process (a rollback
   * failed and nobody holds what it left): when the container is otherwise released, the
   * journal is handed to recover() (abandoned) instead of deleted.
   */
  retain(): void {
    this.#retained = true;
  }

  /**
   * Everything released: close and delete — or, when retained, hand over to recover(). A
   * reference another container of this process
   * took over (recorded in its journal) must be on disk before this journal, which may be
   * the only other record of that resource, disappears — so every write in flight in this
   * process is awaited first.
   */
  async remove(): Promise<void> {
    if (this.#closed) return;
    if (this.#retained) return this.abandon();
    this.#closed = true;
    await Promise.all([this.#tail, ...inFlight]);
    try {
      await this.#fd.close();
      await fs.promises.rm(this.path, { force: true });
    } catch (err) {
      throw journalError(err, 'journal.remove', this.path);
    }
  }

  #append(entry: Entry, flush: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new JournalError(`crash journal ${this.path} is closed`, { op: 'journal.write', resource: this.path }));
    const line = JSON.stringify(entry) + '\n';
    // One write after another: lines never interleave, and a flush covers the lines before it.
    const write = this.#tail.then(async () => {
      try {
        await this.#fd.write(line);
        if (flush) await this.#fd.datasync();
      } catch (err) {
        throw journalError(err, 'journal.write', this.path);
      }
    });
    this.#tail = write.catch(() => undefined);
    inFlight.add(this.#tail);
    void this.#tail.then(() => inFlight.delete(this.#tail));
    return write;
  }
}

/** fsync of a directory makes a created (or renamed) entry durable; Windows cannot open directories. */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const d = await fs.promises.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

// The journal an operation writes to travels with the async context: one UVM's state, and
// so its calls, serve every container in it (like lib/trace's container id). A scope is
// opened before the journal exists (the container id is known only after validation) and
// bound to it once it does.
interface Scope {
  journal: Journal | undefined;
}
const scope = new AsyncLocalStorage<Scope>();

export function currentJournal(): Journal | undefined {
  return scope.getStore()?.journal;
}

// A scope costs promise hooks for the whole process (lib/trace avoids them for the same
// reason), so none is opened unless a journal is, or could be, in play.

/** Run `fn` with `journal` (or none) as the journal of every call inside it. */
export function withJournal<T>(journal: Journal | undefined, fn: () => Promise<T>): Promise<T> {
  if (journal === undefined && scope.getStore() === undefined) return fn();
  return scope.run({ journal }, fn);
}

/**
 * Run `fn` in a scope without a journal yet; `bind` sets the journal of the calls made
 * after it. Without `enabled` there is no scope and `bind` must not be called.
 */
export function journalScope<T>(enabled: boolean, fn: (bind: (journal: Journal) => void) => Promise<T>): Promise<T> {
  const s: Scope = { journal: undefined };
  const bind = (journal: Journal): void => {
    s.journal = journal;
  };
  return enabled ? scope.run(s, () => fn(bind)) : fn(bind);
}
