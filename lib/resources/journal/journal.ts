// One container's crash journal: an append-only file of JSON lines (README.md "Format").
// An acquisition is in the file before the HCS call that may create it — flushed too when
// the resource lives on the host (undo.ts isOnHost); a failed outcome is written before the
// call's error goes on; removals and dropped references are written after, without anyone
// waiting. Records go to the page cache with write(2); only flushes (group-committed) go
// through the thread pool (README.md "Cost"). The file is 0600 in a 0700 directory (trust.ts)
// and removed once the container's resources are all released.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import { AlreadyExistsError, JournalError } from '../../errors';
import { traceStep } from '../../trace';
import { currentOwner, type Owner } from './owner';
import { JOURNAL_SUFFIX, TEMP_SUFFIX, encodeEntry, type Entry } from './format';
import { Holdings, type Held } from './replay';
import { checkDirectory, openJournalFile } from './trust';
import { isOnHost, type Undo } from './undo';

/** Bytes written (zeros) when a journal is created, for the records to come. */
const PREALLOCATE = 16 * 1024;

let temporaries = randomBytes(4).readUInt32BE(0);

/**
 * 8 hex digits for a temporary name, unique in this process (O_EXCL refuses a collision with
 * a dead process's leftover of the same pid): a random start counted up, so a creation does
 * not pay for randomness (README.md "Cost").
 */
function temporarySuffix(): string {
  temporaries = (temporaries + 1) >>> 0;
  return temporaries.toString(16).padStart(8, '0');
}

/** The journals of this process still being written, by resolved path (see `othersNaming`, `openAt`). */
const open = new Map<string, Journal>();

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

/** Write all of `data` at `position` with write(2): a short write goes on with the rest. */
function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) {
    const written = fs.writeSync(fd, data, done, data.length - done, position + done);
    if (written <= 0) throw noProgress();
    done += written;
  }
}

/** unlink(2), a missing file counting as done (fs.rmSync runs rimraf's JavaScript for one file). */
function unlinkIfThere(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing is pending on it: every write had returned
  }
}

function noProgress(): Error {
  return Object.assign(new Error('no progress writing'), { code: 'EIO' });
}

const noop = (): void => undefined;

/** A record held back (Journal #after) and its writer's promise. */
interface Later {
  data: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** fdatasync(2) in the thread pool: a flush takes milliseconds, which the event loop must not wait out. */
function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Flushes shared by whoever asks while one runs (group commit): `commit()` resolves once a
 * flush that started after the call has completed, so what the caller wrote before it is
 * on disk; callers arriving while one runs share the next one.
 */
export class GroupCommit {
  readonly #flush: () => Promise<void>;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(flush: () => Promise<void>) {
    this.#flush = flush;
  }

  commit(): Promise<void> {
    if (this.#running === undefined) return this.#start();
    // The one running may have started before the caller's write: the next one covers it.
    this.#queued ??= this.#running.then(noop, noop).then(() => {
      this.#queued = undefined;
      return this.#start();
    });
    return this.#queued;
  }

  /** Resolves once no flush runs or waits to run (a descriptor may be closed then). */
  async idle(): Promise<void> {
    while (this.#running !== undefined || this.#queued !== undefined) await (this.#queued ?? this.#running)?.then(noop, noop);
  }

  #start(): Promise<void> {
    const run = this.#flush();
    this.#running = run;
    void run.then(noop, noop).then(() => {
      if (this.#running === run) this.#running = undefined;
    });
    return run;
  }
}

/** The directory flushes of this process, one GroupCommit per journal directory. */
const directories = new Map<string, GroupCommit>();

/** Make every name linked in `dir` so far durable, sharing the flush with every journal asking meanwhile. */
function syncNames(dir: string): Promise<void> {
  const key = nodePath.resolve(dir);
  let g = directories.get(key);
  if (g === undefined) directories.set(key, (g = new GroupCommit(() => syncDirectory(key))));
  return g.commit();
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
  readonly #fd: number;
  readonly #tally = new Holdings();
  #n = 0;
  /** Bytes of complete lines on disk: the next write goes there, over a torn tail. */
  #size: number;
  #closed = false;
  /** Records nobody waits for, held back until the event loop's next turn (#after); undefined when none is. */
  #later: Later[] | undefined;
  #retained = false;
  readonly #dir: string;
  readonly #flushes: GroupCommit;
  /** Whether the journal's name has been flushed (before its first flushed record). */
  #named = false;

  private constructor(path: string, id: string, fd: number, size: number) {
    this.path = path;
    this.id = id;
    this.#fd = fd;
    this.#size = size;
    this.#dir = nodePath.dirname(path);
    this.#flushes = new GroupCommit(() => fdatasync(fd));
  }

  /** A new journal for container `id` of `host` (trust.ts hostIdentity) in `dir`: `begin` and `open` at once. */
  static create(dir: string, id: string, host: string): Promise<Journal> {
    return Journal.begin(dir, id, host).open();
  }

  /**
   * Start writing container `id`'s journal: the owner record and the zeros the records will
   * overwrite go to a temporary name now, before the caller's preflight; `open()` makes it
   * the journal.
   */
  static begin(dir: string, id: string, host: string): JournalDraft {
    return new JournalDraft(dir, id, host, (path, fd, size, entry) => {
      const j = new Journal(path, id, fd, size);
      j.#tally.apply(entry, 0);
      open.set(nodePath.resolve(j.path), j);
      return j;
    });
  }

  /**
   * Write-ahead: in the file before the call (which may follow at once), and flushed too
   * when the resource lives on the host; returns the number `failed` refers to.
   */
  async acquire(undo: Undo): Promise<number> {
    const n = ++this.#n;
    const entry: Entry = { t: 'acquire', n, at: Date.now(), undo };
    await this.#before(entry, isOnHost(undo));
    // Counted once in the file: an acquisition that could not be recorded is never attempted.
    this.#tally.apply(entry, n);
    return n;
  }

  /**
   * Acquisition `n`'s call failed: it created nothing. Written before the error goes on
   * (flushed like the acquisition): without it recover would remove a resource of that name
   * which the call could not create because someone else holds it. A success adds nothing —
   * the acquisition already says the resource may exist.
   */
  failed(n: number, undo: Undo): Promise<void> {
    const entry: Entry = { t: 'done', n, ok: false };
    this.#tally.apply(entry, 0);
    return this.#before(entry, isOnHost(undo));
  }

  /** Written after, nobody waiting: losing it makes recover redo a removal that then finds nothing. */
  removed(undo: Undo): Promise<void> {
    return this.#after({ t: 'removed', undo });
  }

  dropped(undo: Undo): Promise<void> {
    return this.#after({ t: 'dropped', undo });
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
    return this.held().length;
  }

  /** Whether the journal names the resource `key` (undo.ts keyOf). */
  names(key: string): boolean {
    return this.#tally.holds(key);
  }

  /**
   * The other open journals of this process that name `key`. A removal made for one
   * container can take away what another's journal names — lib/uvm removes an attachment a
   * failed rollback left (another container's) before its next add — and that journal must
   * hear of it, or it would name a resource that is gone, or someone else's by then.
   */
  static othersNaming(key: string, except: Journal | undefined): Journal[] {
    return [...open.values()].filter((j) => j !== except && j.names(key));
  }

  /**
   * The journal at `path` if this process is writing it: what it names is known in memory,
   * so a reader here (lib/preflight) need not read the file.
   */
  static openAt(path: string): Journal | undefined {
    return open.get(nodePath.resolve(path));
  }

  /** What the journal names (the in-memory replay of what was written). */
  held(): Held[] {
    return this.#tally.held();
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
    await this.#after({ t: 'abandoned' });
    this.#closed = true;
    open.delete(nodePath.resolve(this.path));
    await this.#close();
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
   * record of it. A reference another container of this process took over is in that
   * container's journal already: every record is in the page cache when its write returns.
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
    open.delete(nodePath.resolve(this.path));
    // Records held back go with the file — unless it stays.
    const later = this.#takeLater();
    try {
      unlinkIfThere(this.path);
    } catch (err) {
      this.#writeHeldBack(later, []);
      throw journalError(err, 'journal.remove', this.path);
    } finally {
      await this.#close();
    }
    for (const l of later) l.resolve();
  }

  /**
   * Close the file once no flush of it runs (a closed descriptor's number is soon another
   * file's). The last close of a removed file frees its blocks: a file that was flushed has
   * some, and freeing them takes the file system's own journal (0.1–0.3 ms here), so that
   * close goes to the thread pool and nobody waits for it; a file never flushed has none
   * yet (delayed allocation), and close(2) costs less than the trip to the pool.
   */
  async #close(): Promise<void> {
    await this.#flushes.idle();
    if (this.#named) fs.close(this.#fd, noop);
    else closeQuietly(this.#fd);
  }

  /**
   * A record the caller's next step (a call, an error going on) waits for: written at once
   * with write(2) — microseconds into the page cache, where a thread-pool round trip costs
   * 50–200 µs on a loaded machine (README.md "Cost"). With `flush` it is then flushed, with
   * the journal's name (#durable).
   */
  async #before(entry: Entry, flush: boolean): Promise<void> {
    if (this.#closed) throw this.#closedError();
    // After the records held back: a removal must not land after a new acquisition of its key.
    if (this.#later === undefined) this.#writeNow(encodeEntry(entry));
    else this.#writeHeldBack(this.#takeLater(), [encodeEntry(entry)]);
    if (flush) await this.#durable();
  }

  /**
   * A record nobody waits for (a removal, a dropped reference, the hand-over to recover). The
   * in-memory tally counts it first: what the process did stays known even when the disk
   * refuses the line (the rejection is the caller's to report). The first is written at
   * once; those that follow in the same turn of the event loop (the rest of a release on a
   * fast host) are held back and go out together at the next turn, before the next record,
   * or with the file when the journal is removed meanwhile.
   */
  #after(entry: Entry): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    this.#tally.apply(entry, 0);
    const data = encodeEntry(entry);
    const later = this.#later;
    if (later !== undefined) return new Promise((resolve, reject) => later.push({ data, resolve, reject }));
    try {
      this.#writeNow(data);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#later = [];
    setImmediate(() => this.#writeHeldBack(this.#takeLater(), []));
    return Promise.resolve();
  }

  #takeLater(): Later[] {
    const later = this.#later ?? [];
    this.#later = undefined;
    return later;
  }

  /**
   * `later` and then `now` in one write(2). A failure rejects `later`'s promises and is thrown
   * for `now`. (A removed journal took what was held back already: nothing is left to write.)
   */
  #writeHeldBack(later: readonly Later[], now: readonly Buffer[]): void {
    const parts = [...later.map((l) => l.data), ...now];
    if (parts.length === 0) return;
    try {
      this.#writeNow(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    } catch (err) {
      for (const l of later) l.reject(err);
      if (now.length > 0) throw err;
      return;
    }
    for (const l of later) l.resolve();
  }

  #closedError(): JournalError {
    return new JournalError(`crash journal ${this.path} is closed`, { op: 'journal.write', resource: this.path });
  }

  /** write(2) at the end of the complete lines; a failure cuts off what part of the line got there. */
  #writeNow(data: Buffer): void {
    try {
      writeAll(this.#fd, data, this.#size);
    } catch (err) {
      try {
        fs.ftruncateSync(this.#fd, this.#size);
      } catch {
        // the next write goes to #size in any case and covers it
      }
      throw journalError(err, 'journal.write', this.path);
    }
    this.#size += data.length;
  }

  /**
   * What was written so far on disk: one fdatasync shared by every record of this journal
   * written meanwhile (GroupCommit) — and, the first time, the directory entry too, with one
   * directory flush shared by every journal of the directory asking meanwhile.
   */
  async #durable(): Promise<void> {
    try {
      if (this.#named) await this.#flushes.commit();
      else {
        await Promise.all([this.#flushes.commit(), syncNames(this.#dir)]);
        this.#named = true;
      }
    } catch (err) {
      throw journalError(err, 'journal.flush', this.path);
    }
  }
}

interface Written {
  fd: number;
  tmp: string;
  entry: Entry;
  size: number;
}

/**
 * A journal written complete — owner record in the page cache, zeros after it — under a
 * temporary name (`<name>.<pid>.<random>.tmp`, which readers ignore and recover removes once
 * its pid is dead), and then linked to its name, the id's hash: so no reader ever sees an
 * empty journal, and a second allocation of the same id in the directory fails
 * (ERR_ALREADY_EXISTS) before it acquires anything. Nothing is flushed: a journal naming
 * nothing needs no durability, and its name is flushed with the first record that does
 * (Journal #durable). A failure, or `discard()`, closes the file and leaves nothing behind.
 */
export class JournalDraft {
  readonly #path: string;
  readonly #id: string;
  /** The file written, or why it could not be (reported by open()). */
  readonly #written: Written | JournalError;
  readonly #make: (path: string, fd: number, size: number, entry: Entry) => Journal;
  #done = false;

  constructor(dir: string, id: string, host: string, make: (path: string, fd: number, size: number, entry: Entry) => Journal) {
    this.#path = nodePath.join(dir, journalName(id));
    this.#id = id;
    this.#make = make;
    this.#written = this.#write(dir, host);
  }

  #write(dir: string, host: string): Written | JournalError {
    const owner: Owner = currentOwner();
    const tmp = `${this.#path}.${owner.pid}.${temporarySuffix()}${TEMP_SUFFIX}`;
    let fd: number | undefined;
    try {
      checkDirectory(dir, true);
      // open(2) and write(2) of a new file in a local directory take microseconds, a
      // thread-pool round trip far more (README.md "Cost").
      fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      const entry: Entry = { t: 'owner', v: 2, id: this.#id, ...owner, at: Date.now(), host };
      const line = encodeEntry(entry);
      // Zeros after the owner record: the records that follow overwrite them in place, so
      // their flushes leave the file's size (metadata) alone — a cheaper fdatasync. Readers
      // stop at the last complete line (replay.ts).
      const head = Buffer.alloc(Math.max(PREALLOCATE, line.length));
      line.copy(head);
      writeAll(fd, head, 0);
      return { fd, tmp, entry, size: line.length };
    } catch (err) {
      if (fd !== undefined) closeQuietly(fd);
      try {
        unlinkIfThere(tmp);
      } catch {
        // the error that matters is the one above
      }
      return journalError(err, 'journal.open', this.#path);
    }
  }

  /** Link the journal to its name: from now on it is the container's journal. */
  async open(): Promise<Journal> {
    if (this.#done) throw new JournalError(`crash journal ${this.#path} was opened or discarded already`, { op: 'journal.open', resource: this.#path });
    this.#done = true;
    const w = this.#written;
    if (w instanceof JournalError) throw w;
    try {
      fs.linkSync(w.tmp, this.#path);
    } catch (err) {
      this.#drop(w);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw journalError(err, 'journal.open', this.#path);
      throw new AlreadyExistsError(`container '${this.#id}' has a crash journal already (${this.#path}): release or recover it first`, {
        op: 'journal.open',
        resource: this.#id,
      });
    }
    unlinkIfThere(w.tmp);
    return this.#make(this.#path, w.fd, w.size, w.entry);
  }

  /** Not needed after all (the allocation failed before it acquired anything): nothing is left. */
  async discard(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (!(this.#written instanceof JournalError)) this.#drop(this.#written);
  }

  #drop(w: Written): void {
    closeQuietly(w.fd);
    unlinkIfThere(w.tmp);
  }
}

/**
 * recover's progress in a dead journal: one `removed` record (`by: 'recover'`) per undo done,
 * appended after the journal's last complete line — the torn tail a killed writer left is
 * cut first, so a record never glues onto the fragment — and flushed at close.
 */
export class RecoverProgress {
  readonly #fd: number;
  #at: number;

  constructor(path: string, end: number) {
    this.#fd = openJournalFile(path, fs.constants.O_WRONLY);
    try {
      fs.ftruncateSync(this.#fd, end);
    } catch (err) {
      fs.closeSync(this.#fd);
      throw journalError(err, 'journal.write', path);
    }
    this.#at = end;
  }

  removed(undo: Undo): void {
    const data = encodeEntry({ t: 'removed', undo, by: 'recover' });
    writeAll(this.#fd, data, this.#at);
    this.#at += data.length;
  }

  close(): void {
    try {
      fs.fdatasyncSync(this.#fd);
    } finally {
      fs.closeSync(this.#fd);
    }
  }
}

/**
 * fsync of a directory makes a created (or renamed) entry durable; Windows cannot open
 * directories. The open and close are microseconds; the flush runs in the thread pool.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    fs.closeSync(fd);
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
