// Reading a journal back: which resources its container still holds, and since when. The
// same tally runs in memory while the journal is written (journal.ts), so the owner knows
// what its journal says without reading it.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { JournalError } from '../../errors';
import { JOURNAL_SUFFIX, MalformedLine, TEMP_SUFFIX, decodeEntry, type Entry } from './format';
import { openJournalFile } from './trust';
import type { Owner } from './owner';
import { isCounted, keyOf, type Undo } from './undo';

export interface Held {
  key: string;
  undo: Undo;
  /** How many references (activations, for a counted resource) the container holds. */
  count: number;
  /** When it was first acquired (ms since the epoch), then the line: recover undoes the newest first. */
  at: number;
  line: number;
}

export interface JournalState {
  path: string;
  id: string;
  owner: Owner;
  /** The host the journal belongs to (trust.ts hostIdentity). */
  host: string;
  abandoned: boolean;
  held: Held[];
  /** Bytes up to the end of the last complete line: where an appender writes (a torn tail is cut). */
  end: number;
}

/** The resources a sequence of entries leaves held. */
export class Holdings {
  readonly #held = new Map<string, Held>();
  readonly #byNumber = new Map<number, string>();
  abandoned = false;

  apply(e: Entry, line: number): void {
    switch (e.t) {
      case 'acquire': {
        const key = keyOf(e.undo);
        this.#byNumber.set(e.n, key);
        const h = this.#held.get(key);
        if (h === undefined || h.count === 0) this.#held.set(key, { key, undo: e.undo, count: 1, at: e.at, line });
        else h.count++;
        break;
      }
      case 'done': {
        const h = e.ok ? undefined : this.#held.get(this.#byNumber.get(e.n) ?? '');
        if (h !== undefined) h.count = Math.max(0, h.count - 1);
        break;
      }
      case 'removed':
      case 'dropped': {
        const h = this.#held.get(keyOf(e.undo));
        if (h !== undefined) h.count = e.t === 'dropped' || isCounted(e.undo) ? Math.max(0, h.count - 1) : 0;
        // A detached disk has no guest mount left: a reference taken on an attachment whose
        // guest part an earlier, half-failed detach had already removed names one (lib/uvm
        // reuses such an attachment), and no guest Remove will come for it.
        if (e.t === 'removed' && e.undo.op === 'scsi.remove') {
          const mount = this.#held.get(keyOf({ op: 'guest.disk.remove', uvmId: e.undo.uvmId, containerPath: '', lun: e.undo.lun }));
          if (mount !== undefined) mount.count = 0;
        }
        break;
      }
      case 'abandoned':
        this.abandoned = true;
        break;
      case 'owner':
        break;
    }
  }

  held(): Held[] {
    return [...this.#held.values()].filter((h) => h.count > 0);
  }

  /** Whether the resource `key` is held: O(1), asked for every open journal at every removal (journal.ts othersNaming). */
  holds(key: string): boolean {
    return (this.#held.get(key)?.count ?? 0) > 0;
  }
}

function corrupt(path: string, why: string, cause?: unknown): JournalError {
  return new JournalError(`crash journal ${path} ${why}`, { op: 'journal.read', resource: path, ...(cause !== undefined && { cause }) });
}

/**
 * Replay a journal. A process killed mid-write leaves at most a torn last line; it is
 * skipped (and `end` stops before it). An acquisition without an outcome counts as held:
 * the call may have happened. The file is opened without following a link and must be a
 * regular file (trust.ts).
 */
export function readJournal(path: string): JournalState {
  let text: string;
  const fd = openJournalFile(path, fs.constants.O_RDONLY);
  try {
    text = fs.readFileSync(fd, 'utf8');
  } catch (err) {
    throw corrupt(path, `cannot be read: ${(err as Error).message}`, err);
  } finally {
    fs.closeSync(fd);
  }
  const complete = text.lastIndexOf('\n') + 1;
  const lines = text.slice(0, complete).split('\n');
  lines.pop();
  const entries: Entry[] = [];
  lines.forEach((line, i) => {
    try {
      entries.push(decodeEntry(line));
    } catch (err) {
      throw corrupt(path, `is corrupt at line ${i + 1}${err instanceof MalformedLine ? `: ${err.message}` : ''}`, err);
    }
  });
  const first = entries[0];
  // A journal becomes visible only with its owner record written (journal.ts): a file
  // without one was not made by this package.
  if (first === undefined || first.t !== 'owner') throw corrupt(path, 'has no owner record');
  const tally = new Holdings();
  entries.forEach((e, line) => tally.apply(e, line));
  const owner: Owner = first.start === undefined ? { pid: first.pid } : { pid: first.pid, start: first.start };
  return { path, id: first.id, owner, host: first.host, abandoned: tally.abandoned, held: tally.held(), end: Buffer.byteLength(text.slice(0, complete)) };
}

export interface JournalListing {
  /** The journals, by path, in name order. */
  journals: string[];
  /** Files of journal creators and lock writers still being written, or left by one that died (`<name>.<pid>.<random>.tmp`). */
  temporaries: { path: string; pid: number | undefined }[];
}

/**
 * What a journal directory holds; nothing when it does not exist. Read synchronously, like
 * the journals themselves: a listing takes microseconds, a thread-pool round trip far more on
 * a loaded machine (README.md "Cost").
 */
export function listJournals(dir: string): JournalListing {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { journals: [], temporaries: [] };
    throw new JournalError(`cannot read ${dir}: ${(err as Error).message}`, { op: 'journal.list', resource: dir, cause: err });
  }
  names.sort();
  // One pass, no path.join per name: every preflight lists the directory, which holds a
  // journal and a temporary per container being allocated (README.md "Cost").
  const prefix = nodePath.join(dir, '_').slice(0, -1);
  const journals: string[] = [];
  const temporaries: JournalListing['temporaries'] = [];
  for (const n of names) {
    if (n.endsWith(JOURNAL_SUFFIX)) journals.push(prefix + n);
    else if (n.endsWith(TEMP_SUFFIX)) temporaries.push({ path: prefix + n, pid: writerPid(n) });
  }
  return { journals, temporaries };
}

/** The pid in `<name>.<pid>.<random>.tmp`. */
function writerPid(name: string): number | undefined {
  const random = name.lastIndexOf('.', name.length - TEMP_SUFFIX.length - 1);
  const pid = Number(name.slice(name.lastIndexOf('.', random - 1) + 1, random));
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
