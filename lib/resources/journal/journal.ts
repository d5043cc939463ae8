// One container's crash journal: an append-only file of JSON lines (README.md "Format").
// An acquisition is written and flushed before the HCS call that may create it; its outcome,
// removals and dropped references are written after. The file is 0600 in a 0700 directory
// (trust.ts) and removed once the container's resources are all released.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import { AlreadyExistsError, JournalError } from '../../errors';
import { traceStep } from '../../trace';
import { currentOwner, type Owner } from './owner';
import { Holdings } from './replay';
import { checkDirectory } from './trust';
import type { Undo } from './undo';

export const JOURNAL_SUFFIX = '.journal';
/** A journal being created (journal.ts) or a lock being written (lock.ts): `<name>.<pid>.<random>.tmp`. */
export const TEMP_SUFFIX = '.tmp';

export type Entry =
  | { t: 'owner'; v: 2; id: string; pid: number; start?: string; at: number; host: string }
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

/** Bytes written (zeros) when a journal is created, for the records to come. */
const PREALLOCATE = 16 * 1024;

/** The journals of this process still being written (see `othersNaming`). */
const open = new Set<Journal>();

/** Writes still on their way to a journal file, in this process (see Journal.remove). */
const inFlight = new Set<Promise<void>>();

function journalError(err: unknown, op: string, path: string): JournalError {
  if (err instanceof JournalError) return err;
  const e = err as NodeJS.ErrnoException;
  return new JournalError(`crash journal ${path}: ${e.message ?? String(err)}`, {
    op,
    resource: path,
    ...(typeof e.code === 'string' && { errno: e.code }),
    cause: err,
  });
}

/** Write all of `data` at `position`: a short write goes on with the rest. */
async function writeAll(fd: fs.promises.FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fd.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error('no progress writing'), { code: 'EIO' });
    done += bytesWritten;
  }
}

interface Pending {
  data: Buffer;
  flush: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The name of container `id`'s journal: one per id and directory, so creating it reserves the id. */
export function journalName(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 32) + JOURNAL_SUFFIX;
}

export class Journal {
  readonly path: string;
  readonly id: string;
  /** Records that could not be written after their call succeeded (reported, see `noteFailure`). */
  readonly writeFailures: JournalError[] = [];
  readonly #fd: fs.promises.FileHandle;
  readonly #tally = new Holdings();
  #n = 0;
  /** Bytes of complete lines on disk: the next write goes there, over a torn tail. */
  #size: number;
  #queue: Pending[] = [];
  #writer: Promise<void> | undefined;
  #closed = false;
  #retained = false;

  private constructor(path: string, id: string, fd: fs.promises.FileHandle, size: number) {
    this.path = path;
    this.id = id;
    this.#fd = fd;
    this.#size = size;
  }

  /**
   * A new journal for container `id` of `host` (trust.ts hostIdentity) in `dir`. It is
   * written complete — owner record flushed — under a temporary name and then linked to its
   * name (the id's hash), so no reader ever sees an empty journal and a second allocation of
   * the same id in the directory fails (ERR_ALREADY_EXISTS) before it acquires anything.
   * A failure closes the file and leaves nothing behind.
   */
  static async create(dir: string, id: string, host: string): Promise<Journal> {
    const owner: Owner = currentOwner();
    const path = nodePath.join(dir, journalName(id));
    const tmp = `${path}.${owner.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
    let fd: fs.promises.FileHandle | undefined;
    try {
      checkDirectory(dir, true);
      fd = await fs.promises.open(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      const entry: Entry = { t: 'owner', v: 2, id, ...owner, at: Date.now(), host };
      const line = Buffer.from(JSON.stringify(entry) + '\n');
      // Zeros after the owner record: the records that follow overwrite them in place, so
      // their flushes leave the file's size (metadata) alone — a cheaper fdatasync. Readers
      // stop at the last complete line (replay.ts).
      const head = Buffer.alloc(Math.max(PREALLOCATE, line.length));
      line.copy(head);
      await writeAll(fd, head, 0);
      await fd.datasync();
      try {
        await fs.promises.link(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        throw new AlreadyExistsError(`container '${id}' has a crash journal already (${path}): release or recover it first`, {
          op: 'journal.open',
          resource: id,
        });
      }
      await fs.promises.rm(tmp, { force: true });
      await syncDirectory(dir);
      const j = new Journal(path, id, fd, line.length);
      j.#tally.apply(entry, 0);
      open.add(j);
      return j;
    } catch (err) {
      await fd?.close().catch(() => undefined);
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      throw err instanceof AlreadyExistsError ? err : journalError(err, 'journal.open', path);
    }
  }

  /** Write-ahead: recorded and flushed before the call; returns the number `done` refers to. */
  async acquire(undo: Undo): Promise<number> {
    const n = ++this.#n;
    const entry: Entry = { t: 'acquire', n, at: Date.now(), undo };
    await this.#append(entry, true);
    // Counted once on disk: an acquisition that could not be written is never attempted.
    this.#tally.apply(entry, n);
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

  /**
   * A record of a call that succeeded could not be written (disk full): the call stays
   * succeeded — the process knows what it did, and the journal's stale line only makes a
   * later recover find the resource gone. The failure is kept and published as a failed
   * `journal.write` step (logged as a warning).
   */
  noteFailure(err: unknown): void {
    const e = journalError(err, 'journal.write', this.path);
    this.writeFailures.push(e);
    void traceStep('journal.write', 'step', () => Promise.reject(e), this.path).catch(() => undefined);
  }

  /** How many resources the journal still names (the in-memory replay of what was written). */
  get holds(): number {
    return this.#tally.held().length;
  }

  /** Whether the journal names the resource `key` (undo.ts keyOf). */
  names(key: string): boolean {
    return this.#tally.held().some((h) => h.key === key);
  }

  /**
   * The other open journals of this process that name `key`. A removal made for one
   * container can take away what another's journal names — lib/uvm removes an attachment a
   * failed rollback left (another container's) before its next add — and that journal must
   * hear of it, or it would name a resource that is gone, or someone else's by then.
   */
  static othersNaming(key: string, except: Journal | undefined): Journal[] {
    return [...open].filter((j) => j !== except && j.names(key));
  }

  /** What the journal names now, for a hand-over (`handOver`). */
  heldUndos(): Undo[] {
    return this.#tally.held().flatMap((h) => Array.from({ length: h.count }, () => h.undo));
  }

  /**
   * `undos` now belong to someone else (a pod sandbox's layers to its UVM, lib/layers
   * README): one reference less each, so this journal no longer answers for them.
   */
  async handOver(undos: readonly Undo[]): Promise<void> {
    await Promise.all(undos.map((u) => this.dropped(u)));
  }

  /** The owner gives up: recover() may take over; nothing more is written. */
  async abandon(): Promise<void> {
    if (this.#closed) return;
    await this.#append({ t: 'abandoned' }, true);
    this.#closed = true;
    open.delete(this);
    await this.#writer;
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
   * Everything released: close and delete — or, when retained (a rollback failed) and it
   * still names something, hand it over to recover(). A journal that still names a resource is never deleted (ERR_JOURNAL): it may be the only
   * record of it. A reference another container of this process took over (recorded in its
   * journal) must be on disk before this journal disappears — so every write in flight in
   * this process is awaited first.
   */
  async remove(): Promise<void> {
    if (this.#closed) return;
    const held = this.#tally.held();
    if (held.length > 0 && this.#retained) return this.abandon();
    if (held.length > 0) {
      throw new JournalError(`crash journal ${this.path} still names ${held.length} resource(s) (${held.map((h) => h.key).join(', ')}); not deleted`, {
        op: 'journal.remove',
        resource: this.path,
      });
    }
    this.#closed = true;
    open.delete(this);
    await Promise.all([this.#writer, ...inFlight]);
    try {
      await this.#fd.close();
      await fs.promises.rm(this.path, { force: true });
    } catch (err) {
      throw journalError(err, 'journal.remove', this.path);
    }
  }

  /**
   * Group commit: records queued while a write is under way go out together in one write
   * and, if any of them needs it, one flush — so acquisitions made at once (references taken
   * together, containers of one journal) share the fsync, and each is still on disk before
   * its promise resolves. The in-memory tally counts a record when it is made: what the
   * process did stays known even when the disk refuses the line.
   */
  #append(entry: Entry, flush: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new JournalError(`crash journal ${this.path} is closed`, { op: 'journal.write', resource: this.path }));
    if (entry.t !== 'acquire') this.#tally.apply(entry, 0);
    const data = Buffer.from(JSON.stringify(entry) + '\n');
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ data, flush, resolve, reject });
      if (this.#writer === undefined) {
        const w = this.#drain();
        this.#writer = w;
        inFlight.add(w);
        void w.then(() => inFlight.delete(w));
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      const data = batch.length === 1 ? batch[0]!.data : Buffer.concat(batch.map((p) => p.data));
      try {
        await writeAll(this.#fd, data, this.#size);
        if (batch.some((p) => p.flush)) await this.#fd.datasync();
        this.#size += data.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        // Cut what part of the batch reached the file, so no torn line stays in the middle
        // (the next write goes to #size in any case and covers a cut that failed).
        await this.#fd.truncate(this.#size).catch(() => undefined);
        const e = journalError(err, 'journal.write', this.path);
        for (const p of batch) p.reject(e);
      }
    }
    this.#writer = undefined;
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
