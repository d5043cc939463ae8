// Property tests: whatever JSON a runtime hands over, validateSpec returns a
// ValidatedSpec or throws a WcowError — never a TypeError — and never changes its input.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateSpec, type ValidateContext } from '../../lib/oci/validate';
import { WcowError } from '../../lib/errors';

const contexts: ValidateContext[] = [
  { hypervisorIsolated: false },
  { hypervisorIsolated: true },
  { hypervisorIsolated: false, schemaVersion: { major: 1, minor: 0 } },
];

/** The outcome of one validation: the result, or the WcowError (anything else fails the property). */
function outcome(input: unknown, ctx: ValidateContext): ReturnType<typeof validateSpec> | WcowError {
  try {
    return validateSpec(input, ctx);
  } catch (err) {
    if (err instanceof WcowError) return err;
    throw err;
  }
}

const junk = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string(), fc.constant([]), fc.constant({}));
/** Mostly well-typed, sometimes junk: deep enough to reach every check and still be accepted at times. */
function mostly<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: junk, weight: 1 });
}
const pathLike = fc.oneof(
  { arbitrary: fc.constantFrom('C:\\layers\\l1', 'C:\\layers\\l2\\', 'C:\\scratch', 'D:\\', 'C:/x/'), weight: 8 },
  { arbitrary: fc.string(), weight: 1 },
);
const source = fc.oneof(
  fc.constantFrom(
    'C:\\data\\rw',
    '\\\\.\\pipe\\foo',
    '\\\\.\\PHYSICALDRIVE2',
    'evd://space/{p}{v}',
    'evd://space',
    'sandbox:///a/b',
    'sandbox:///../Windows',
    'sandbox:///a&b',
    '',
  ),
  fc.string().map((s) => 'sandbox://' + s),
  fc.string().map((s) => 'evd://' + s),
  fc.string(),
);
const mount = mostly(
  fc.record(
    {
      destination: fc.oneof(fc.constantFrom('C:\\m', '', '\\\\.\\pipe\\bar'), fc.string()),
      source,
      type: fc.constantFrom('', 'physical-disk', 'virtual-disk', 'extensible-virtual-disk', 'bind', 'Virtual-Disk'),
      options: mostly(fc.oneof(fc.constant(['ro']), fc.array(fc.string(), { maxLength: 3 }))),
    },
    { requiredKeys: ['source', 'destination'] },
  ),
);
const annotations = mostly(
  fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        'io.microsoft.container.wcow.gmsa.disable',
        'io.kubernetes.cri.container-type',
        'io.kubernetes.cri.sandbox-id',
        'io.microsoft.virtualmachine.kerneldrivers',
        '__proto__',
        'toString',
      ),
      fc.string(),
    ),
    mostly(fc.oneof(fc.constantFrom('true', 'TRUE', 'sandbox', 'container', 'p1', ''), fc.string())),
    { maxKeys: 3 },
  ),
);
const device = mostly(
  fc.record({
    id: mostly(fc.oneof(fc.constantFrom('PCIP\\A\\B', 'PCIP\\A\\B\\2', '5B45201D-F2F2-4F3B-85BB-30FF1F953599'), fc.string())),
    idType: mostly(fc.oneof(fc.constantFrom('vpci', 'vpci-instance-id', 'vpci-location-path', 'class', 'vpci-class-guid', 'gpu'), fc.string())),
  }),
);
const specArb = fc.record(
  {
    root: mostly(fc.record({ path: mostly(fc.oneof(fc.constant(''), pathLike)), readonly: mostly(fc.constant(false)) }, { requiredKeys: [] })),
    mounts: mostly(fc.array(mount, { maxLength: 4 })),
    annotations,
    windows: mostly(
      fc.record(
        {
          layerFolders: mostly(fc.array(mostly(pathLike), { minLength: 1, maxLength: 4 })),
          hyperv: fc.oneof(fc.constant({}), junk),
          credentialSpec: fc.oneof(fc.string(), junk),
          devices: mostly(fc.array(device, { maxLength: 3 })),
        },
        { requiredKeys: ['layerFolders'] },
      ),
    ),
  },
  { requiredKeys: ['windows'] },
);

describe('validateSpec on arbitrary input', () => {
  it('any JSON value: a ValidatedSpec or a WcowError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...contexts), (input, ctx) => {
        outcome(input, ctx);
      }),
      { numRuns: 1000 },
    );
  });

  it('spec-shaped JSON with wrong types anywhere: a ValidatedSpec or a WcowError with a code', () => {
    fc.assert(
      fc.property(specArb, fc.constantFrom(...contexts), (input, ctx) => {
        const r = outcome(input, ctx);
        if (r instanceof WcowError) assert.match(r.code, /^ERR_/);
      }),
      { numRuns: 2000 },
    );
  });

  it('an accepted spec keeps every mount in order and the layer folders it needs', () => {
    let accepted = 0;
    fc.assert(
      fc.property(specArb, fc.constantFrom(...contexts), (input, ctx) => {
        const r = outcome(input, ctx);
        if (r instanceof WcowError) return;
        accepted++;
        assert.equal(r.scratchFolder, r.layerFolders[r.layerFolders.length - 1]);
        assert.ok(r.layerFolders.length >= 2);
        const given = (input as { mounts?: unknown }).mounts;
        assert.equal(r.mounts.length, Array.isArray(given) ? given.length : 0);
      }),
      { numRuns: 2000 },
    );
    assert.ok(accepted > 0, 'no generated spec was accepted: the property checked nothing');
  });

  it('an accepted sandbox mount stays inside C:\\SandboxMounts and carries no cmd.exe metacharacter', () => {
    const sandboxSource = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', '/', '\\', '.', '..', ' ', '&', '%', '^', ':', '"') }),
      fc.string(),
    );
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(sandboxSource, { minLength: 1, maxLength: 3 }), (rests) => {
        const mounts = rests.map((rest) => ({ destination: 'C:\\sb', source: 'sandbox://' + rest }));
        const r = outcome({ mounts, windows: { layerFolders: ['C:\\l1', 'C:\\s'] } }, { hypervisorIsolated: true });
        if (r instanceof WcowError) {
          assert.equal(r.code, 'ERR_INVALID_MOUNT');
          return;
        }
        accepted++;
        for (const m of r.mounts) {
          assert.equal(m.classification.kind, 'sandbox');
          if (m.classification.kind !== 'sandbox') continue;
          assert.ok(m.classification.sandboxPath === 'C:\\SandboxMounts' || m.classification.sandboxPath.startsWith('C:\\SandboxMounts\\'));
          assert.doesNotMatch(m.source, /[&|<>^%"\x00-\x1f]/);
        }
      }),
      { numRuns: 2000 },
    );
    assert.ok(accepted > 0, 'no generated sandbox mount was accepted: the property checked nothing');
  });

  it('never changes its input', () => {
    fc.assert(
      fc.property(specArb, fc.constantFrom(...contexts), (input, ctx) => {
        // JSON text, not structuredClone: it keeps own `__proto__` keys as they are.
        const before = JSON.stringify(input);
        outcome(input, ctx);
        assert.equal(JSON.stringify(input), before);
      }),
      { numRuns: 500 },
    );
  });
});
