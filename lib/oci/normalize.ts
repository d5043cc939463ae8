// The spec as plain JSON before anything reads it (docs/differences.md#difference-1): a deep copy that
// holds only what an OCI config.json can hold, so that plan and allocate see the same
// value, the caller's object is never read again (a getter or a later change cannot make
// the two differ), and a value JSON cannot carry is ERR_INVALID_SPEC naming its path —
// never a raw RangeError from a deep recursion or a DataCloneError from a function.

import { InvalidSpecError } from '../errors';

/** Deeper than any OCI spec (config.json nests 6 levels): a guard against stack exhaustion. */
export const MAX_SPEC_DEPTH = 64;

function refuse(path: string, why: string): never {
  throw new InvalidSpecError(`invalid OCI spec - ${path} ${why}; an OCI spec is JSON`, { op: 'validate', resource: path });
}

function copy(value: unknown, path: string, depth: number, open: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) refuse(path, `is ${value}`);
      return value;
    case 'undefined':
      return undefined;
    case 'object':
      break;
    default:
      refuse(path, `is a ${typeof value}`);
  }
  if (value === null) return null;
  if (depth >= MAX_SPEC_DEPTH) refuse(path, `nests deeper than ${MAX_SPEC_DEPTH} levels`);
  if (open.has(value)) refuse(path, 'refers to an object that contains it (a cycle)');
  if (Object.getOwnPropertySymbols(value).length > 0) refuse(path, 'has symbol-keyed properties');
  open.add(value);
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        if (!Object.prototype.hasOwnProperty.call(value, i)) refuse(`${path}[${i}]`, 'is a hole');
        const v = copy(value[i], `${path}[${i}]`, depth + 1, open);
        if (v === undefined) refuse(`${path}[${i}]`, 'is undefined');
        out.push(v);
      }
      return out;
    }
    // Own enumerable members only, as JSON.stringify takes them (an inherited one is not the spec's).
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
      if (descriptor.get !== undefined || descriptor.set !== undefined) refuse(`${path}.${key}`, 'is an accessor');
      const v = copy(descriptor.value, `${path}.${key}`, depth + 1, open);
      // Like JSON: an undefined member is absent.
      if (v !== undefined) out[key] = v;
    }
    return out;
  } finally {
    open.delete(value);
  }
}

/** A plain-JSON deep copy of `spec`, or ERR_INVALID_SPEC naming the first value that is not JSON. */
export function normalizeSpec(spec: unknown): unknown {
  return copy(spec, 'Spec', 0, new Set());
}
