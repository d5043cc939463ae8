// Reading a journal back: which resources its container still holds, and since when.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { JournalError } from '../../errors';
import type { Entry } from './journal';
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
  abandoned: boolean;
  held: Held[];
}

/**
 * Replay a journal. A process killed mid-write leaves at most a torn last line; it is
 * skipped. An acquisition without an outcome counts as held: the call may have happened.
 */
export function readJournal(path: string): JournalState {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new JournalError(`crash journal ${path}: ${(err as Error).message}`, { op: 'journal.read', resource: path, cause: err });
  }
  const lines = text.split('\n');
  const entries: Entry[] = [];
  lines.forEach((line, i) => {
    if (line === '') return;
    try {
      entries.push(JSON.parse(line) as Entry);
    } catch (err) {
      if (i < lines.length - 2) {
        throw new JournalError(`crash journal ${path} is corrupt at line ${i + 1}`, { op: 'journal.read', resource: path, cause: err });
      }
    }
  });
  const first = entries[0];
  if (first === undefined) {
    // Killed between creating the file and flushing its owner record, which comes before
    // any acquisition: nothing to undo. The pid in the name (journal.ts) tells whether the
    // creator may still be writing it.
    const pid = Number(nodePath.basename(path).split('-')[1]);
    return { path, id: '', owner: { pid: Number.isInteger(pid) ? pid : 0 }, abandoned: false, held: [] };
  }
  if (first.t !== 'owner') throw new JournalError(`crash journal ${path} has no owner record`, { op: 'journal.read', resource: path });

  const held = new Map<string, Held>();
  const byNumber = new Map<number, string>();
  let abandoned = false;
  entries.forEach((e, line) => {
    switch (e.t) {
      case 'acquire': {
        const key = keyOf(e.undo);
        byNumber.set(e.n, key);
        const h = held.get(key);
        if (h === undefined || h.count === 0) held.set(key, { key, undo: e.undo, count: 1, at: e.at, line });
        else h.count++;
        break;
      }
      case 'done': {
        const h = e.ok ? undefined : held.get(byNumber.get(e.n) ?? '');
        if (h !== undefined) h.count = Math.max(0, h.count - 1);
        break;
      }
      case 'removed':
      case 'dropped': {
        const h = held.get(keyOf(e.undo));
        if (h === undefined) break;
        h.count = e.t === 'dropped' || isCounted(e.undo) ? Math.max(0, h.count - 1) : 0;
        break;
      }
      case 'abandoned':
        abandoned = true;
        break;
      case 'owner':
        break;
    }
  });
  const owner: Owner = first.start === undefined ? { pid: first.pid } : { pid: first.pid, start: first.start };
  return { path, id: first.id, owner, abandoned, held: [...held.values()].filter((h) => h.count > 0) };
}
