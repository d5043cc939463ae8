// The journal's lines (README.md "Format"): the one place that turns a record into bytes and
// bytes back into a record. A line read back is checked field by field against the record
// it claims to be — a journal may come from a killed writer, another version, or a hand —
// and a line that is not one is an error naming it, never an unchecked cast.

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

/** One line: the record as JSON and its newline. */
export function encodeEntry(e: Entry): Buffer {
  return Buffer.from(JSON.stringify(e) + '\n');
}

type Field = 'string' | 'count' | 'number' | 'boolean';

/**
 * The fields of each undo, by op. Typed against the union, so an undo that gains, loses or
 * renames a field cannot be read back with the old list.
 */
const UNDO_FIELDS: { [Op in Undo['op']]: Record<Exclude<keyof Extract<Undo, { op: Op }>, 'op'>, Field> } = {
  'scsi.remove': { uvmId: 'string', controller: 'count', lun: 'count' },
  'guest.disk.remove': { uvmId: 'string', containerPath: 'string', lun: 'count' },
  'vsmb.remove': { uvmId: 'string', name: 'string' },
  'pipe.remove': { uvmId: 'string', hostPath: 'string' },
  'vpci.remove': { uvmId: 'string', vmBusGuid: 'string' },
  'hvsocket.remove': { uvmId: 'string', serviceId: 'string' },
  'combined-layers.remove': { uvmId: 'string', containerRootPath: 'string' },
  'layer.unprepare': { path: 'string' },
  'layer.deactivate': { path: 'string' },
  'ccg.remove': { id: 'string' },
  'cim.dismount': { volumeGuid: 'string' },
  'overlay.detach': { volumePath: 'string' },
};

/** A line that is not a journal record: `why` names the field. */
export class MalformedLine extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fits(v: unknown, f: Field): boolean {
  switch (f) {
    case 'string':
      return typeof v === 'string';
    case 'count':
      return Number.isSafeInteger(v) && (v as number) >= 0;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
  }
}

type FieldType<F extends Field> = F extends 'string' ? string : F extends 'boolean' ? boolean : number;

/** Copy `fields` of `o` (and nothing else), each checked; `where` names the record in errors. */
function take<const S extends Readonly<Record<string, Field>>>(o: Obj, fields: S, where: string): { [K in keyof S]: FieldType<S[K]> } {
  const out: Obj = {};
  for (const [k, f] of Object.entries(fields)) {
    if (!fits(o[k], f)) throw new MalformedLine(`${where}: '${k}' is not a ${f === 'count' ? 'non-negative integer' : f}`);
    out[k] = o[k];
  }
  // Every field was checked against its type just above.
  return out as { [K in keyof S]: FieldType<S[K]> };
}

function isOp(op: unknown): op is Undo['op'] {
  return typeof op === 'string' && Object.hasOwn(UNDO_FIELDS, op);
}

function undoOf(o: Obj, t: string): Undo {
  const u = o.undo;
  if (!isObj(u)) throw new MalformedLine(`'${t}' record has no undo`);
  if (!isOp(u.op)) throw new MalformedLine(`'${t}' record has an unknown undo '${String(u.op)}'`);
  // take() checked every field of the op's member of the union (TypeScript cannot pair the
  // op with its field list through the lookup).
  return { op: u.op, ...take(u, UNDO_FIELDS[u.op], `undo '${u.op}'`) } as Undo;
}

/** The record on one line (without its newline). Throws MalformedLine. */
export function decodeEntry(line: string): Entry {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new MalformedLine('not JSON');
  }
  if (!isObj(v)) throw new MalformedLine('not a JSON object');
  const where = `'${String(v.t)}' record`;
  switch (v.t) {
    case 'owner': {
      if (v.v !== 2) throw new MalformedLine(`owner record of version ${JSON.stringify(v.v)} (this package writes 2)`);
      const o = take(v, { id: 'string', pid: 'count', at: 'number', host: 'string' }, where);
      if (v.start !== undefined && typeof v.start !== 'string') throw new MalformedLine(`${where}: 'start' is not a string`);
      return { t: 'owner', v: 2, id: o.id, pid: o.pid, ...(v.start !== undefined && { start: v.start }), at: o.at, host: o.host };
    }
    case 'acquire': {
      const o = take(v, { n: 'count', at: 'number' }, where);
      return { t: 'acquire', n: o.n, at: o.at, undo: undoOf(v, v.t) };
    }
    case 'done': {
      const o = take(v, { n: 'count', ok: 'boolean' }, where);
      return { t: 'done', n: o.n, ok: o.ok };
    }
    case 'removed':
      if (v.by !== undefined && v.by !== 'recover') throw new MalformedLine(`${where}: 'by' is not 'recover'`);
      return { t: 'removed', undo: undoOf(v, v.t), ...(v.by === 'recover' && { by: 'recover' as const }) };
    case 'dropped':
      return { t: 'dropped', undo: undoOf(v, v.t) };
    case 'abandoned':
      return { t: 'abandoned' };
    default:
      throw new MalformedLine(`unknown record type ${JSON.stringify(v.t)}`);
  }
}
