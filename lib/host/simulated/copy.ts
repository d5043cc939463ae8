// The copies the call log keeps of what each call was sent and returned: a document as it
// travels (JSON: undefined fields vanish like omitempty) and arguments and results as they
// are (structuredClone). Both round trips cost ~3 µs for a small HCS document and a cycle
// records a hundred of them, so plain data — primitives, plain objects, dense arrays, the
// whole of what the engine sends — is copied by a walk that gives the same result, and
// anything else (a Date, a Map, toJSON, a cycle, a class instance) takes the real round trip.

/** A value the walk leaves to the real round trip. */
const OTHER = Symbol('other');

/** Deeper than any HCS document; a cycle reaches it and gets the real round trip's error. */
const MAX_DEPTH = 64;

type Mode = 'json' | 'clone';

function walk(v: unknown, mode: Mode, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      // JSON writes NaN and ±Infinity as null, -0 as 0.
      return mode === 'clone' ? v : Number.isFinite(v) ? v + 0 : null;
    case 'bigint':
      // JSON throws on a BigInt: the round trip says how.
      return mode === 'clone' ? v : OTHER;
    case 'undefined':
      return v;
    case 'object':
      if (v === null) return v;
      if (depth >= MAX_DEPTH) return OTHER;
      return Array.isArray(v) ? walkArray(v, mode, depth) : walkObject(v, mode, depth);
    default:
      // A function or symbol: JSON drops it (or writes null), structuredClone throws.
      return OTHER;
  }
}

function walkArray(a: unknown[], mode: Mode, depth: number): unknown {
  if (Object.getPrototypeOf(a) !== Array.prototype) return OTHER;
  if (mode === 'json' && typeof (a as { toJSON?: unknown }).toJSON === 'function') return OTHER;
  // structuredClone keeps holes and named properties of an array; JSON reads indices only.
  if (mode === 'clone' && Object.keys(a).length !== a.length) return OTHER;
  const out = new Array<unknown>(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = walk(a[i], mode, depth + 1);
    if (x === OTHER) return OTHER;
    // JSON writes an undefined element as null.
    out[i] = x === undefined && mode === 'json' ? null : x;
  }
  return out;
}

function walkObject(o: object, mode: Mode, depth: number): unknown {
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto !== Object.prototype && proto !== null) return OTHER;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    // JSON.parse makes `__proto__` an own property; an assignment would set the prototype.
    if (key === '__proto__' || (key === 'toJSON' && mode === 'json')) return OTHER;
    const x = walk((o as Record<string, unknown>)[key], mode, depth + 1);
    if (x === OTHER) return OTHER;
    if (x !== undefined || mode === 'clone') out[key] = x;
  }
  return out;
}

/** Deep copy of a document as it travels: JSON.parse(JSON.stringify(doc)), undefined kept as is. */
export function wireCopy<T>(doc: T): T {
  if (doc === undefined) return doc;
  const copy = walk(doc, 'json', 0);
  return (copy === OTHER ? JSON.parse(JSON.stringify(doc)) : copy) as T;
}

/** structuredClone(value). */
export function cloneValue<T>(value: T): T {
  const copy = walk(value, 'clone', 0);
  return (copy === OTHER ? structuredClone(value) : copy) as T;
}
