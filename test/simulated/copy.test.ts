// The call log's copies (lib/host/simulated/copy.ts) are what the round trips they stand for
// give — JSON.parse(JSON.stringify(x)) and structuredClone(x) — for any value, prototypes, key
// order, -0, holes and errors included, and never share an object with what they copied.

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { cloneValue, wireCopy } from '../../lib/host/simulated/copy';

/** Plain data as the engine sends it, and the odd values a caller might add. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.double(),
    fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, 1e21),
    fc.bigInt(),
    fc.constantFrom(new Date(0), new Map([[1, 2]]), () => 1, Symbol('s'), new Number(3)),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object'), tie('odd')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'toJSON', '1', '0', 'constructor')), tie('node'), { maxKeys: 5 }),
  // A hole, a named property on an array, a null prototype, a toJSON.
  odd: fc.oneof(
    fc.constant([1, , 3]),
    fc.constant(Object.assign([1, 2], { extra: true })),
    fc.constant(Object.assign(Object.create(null) as object, { a: 1 })),
    fc.constant({ toJSON: () => 'told' }),
  ),
}));

/** What a round trip gives: its value, or the kind of error it throws. */
function outcome(f: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: f() };
  } catch (err) {
    return { error: (err as Error).constructor.name };
  }
}

/** No object of `copy` is an object of `original`. */
function disjoint(copy: unknown, original: unknown, seen = new Set<unknown>()): void {
  if (copy === null || typeof copy !== 'object' || seen.has(copy)) return;
  assert.notEqual(copy, original);
  seen.add(copy);
  for (const k of Object.keys(copy)) disjoint((copy as Record<string, unknown>)[k], (original as Record<string, unknown> | undefined)?.[k], seen);
}

describe('simulated host: the call log\'s copies', () => {
  it('wireCopy is JSON.parse(JSON.stringify(x)) (undefined kept)', () => {
    fc.assert(
      fc.property(value.node, (v) => {
        const expected = outcome(() => (v === undefined ? v : JSON.parse(JSON.stringify(v))));
        const actual = outcome(() => wireCopy(v));
        assert.deepStrictEqual(actual, expected);
        if ('value' in actual) {
          assert.deepEqual(JSON.stringify(actual.value), JSON.stringify((expected as { value: unknown }).value), 'same key order');
          disjoint(actual.value, v);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('cloneValue is structuredClone(x)', () => {
    fc.assert(
      fc.property(value.node, (v) => {
        const expected = outcome(() => structuredClone(v));
        const actual = outcome(() => cloneValue(v));
        assert.deepStrictEqual(actual, expected);
        if ('value' in actual && 'value' in expected) {
          const keys = (x: unknown): unknown => (x !== null && typeof x === 'object' ? Object.keys(x).map((k) => [k, keys((x as Record<string, unknown>)[k])]) : typeof x);
          assert.deepEqual(keys(actual.value), keys(expected.value), 'same key order');
          disjoint(actual.value, v);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a cycle fails like the round trip (JSON) or is cloned (structuredClone)', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    assert.throws(() => wireCopy(a), TypeError);
    const c = cloneValue(a);
    assert.equal(c.self, c);
    assert.notEqual(c, a);
  });

  it('an HCS document: undefined fields vanish, -0 and NaN as JSON writes them', () => {
    const doc = { ResourcePath: 'p', Settings: { Path: 'C:\\x', AllowedFiles: undefined, Options: { ReadOnly: true, NoDirectmap: undefined } }, n: -0, m: Number.NaN, l: [undefined, 1] };
    assert.deepStrictEqual(wireCopy(doc), { ResourcePath: 'p', Settings: { Path: 'C:\\x', Options: { ReadOnly: true } }, n: 0, m: null, l: [null, 1] });
    assert.deepStrictEqual(cloneValue({ sizeBytes: 20n, flags: -0, none: undefined }), { sizeBytes: 20n, flags: -0, none: undefined });
  });
});
