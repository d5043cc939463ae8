// Property tests: whatever JSON a runtime hands over, validateSpec returns a
// ValidatedSpec or throws a WcowError — never a TypeError — and never changes its input.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateSpec, type ValidateContext } from '../../lib/spec/validate';
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
const pathLike = fc.oneof(
  fc.constantFrom('C:\\layers\\l1', 'C:\\layers\\l2\\', 'C:\\scratch', 'D:\\', '', 'C:/x/'),
  fc.string(),
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
const mount = fc.oneof(
  fc.record(
    {
      destination: fc.oneof(fc.constantFrom('C:\\m', '', '\\\\.\\pipe\\bar'), fc.string()),
      source,
      type: fc.constantFrom('', 'physical-disk', 'virtual-disk', 'extensible-virtual-disk', 'bind', 'Virtual-Disk'),
      options: fc.oneof(fc.constant(['ro']), fc.array(fc.string(), { maxLength: 3 }), junk),
    },
    { requiredKeys: [] },
  ),
  junk,
);
const annotations = fc.oneof(
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
    fc.oneof(fc.constantFrom('true', 'TRUE', 'sandbox', 'container', 'p1', ''), fc.string(), junk),
  ),
  junk,
);
const device = fc.oneof(
  fc.record(
    {
      id: fc.oneof(fc.constantFrom('PCIP\\A\\B', 'PCIP\\A\\B\\2', '5B45201D-F2F2-4F3B-85BB-30FF1F953599'), fc.string(), junk),
      idType: fc.oneof(fc.constantFrom('vpci', 'vpci-instance-id', 'vpci-location-path', 'class', 'vpci-class-guid', 'gpu'), fc.string(), junk),
    },
    { requiredKeys: [] },
  ),
  junk,
);
const specArb = fc.record(
  {
    root: fc.oneof(fc.record({ path: fc.oneof(pathLike, junk), readonly: fc.oneof(fc.boolean(), junk) }, { requiredKeys: [] }), junk),
    mounts: fc.oneof(fc.array(mount, { maxLength: 4 }), junk),
    annotations,
    windows: fc.oneof(
      fc.record(
        {
          layerFolders: fc.oneof(fc.array(fc.oneof(pathLike, junk), { maxLength: 4 }), junk),
          hyperv: fc.oneof(fc.constant({}), junk),
          credentialSpec: fc.oneof(fc.string(), junk),
          devices: fc.oneof(fc.array(device, { maxLength: 3 }), junk),
        },
        { requiredKeys: [] },
      ),
      junk,
    ),
  },
  { requiredKeys: [] },
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

  it('an accepted spec keeps every mount in order and every sandbox path inside C:\\SandboxMounts without metacharacters', () => {
    fc.assert(
      fc.property(specArb, fc.constantFrom(...contexts), (input, ctx) => {
        const r = outcome(input, ctx);
        if (r instanceof WcowError) return;
        assert.equal(r.scratchFolder, r.layerFolders[r.layerFolders.length - 1]);
        assert.ok(r.layerFolders.length >= 2);
        const given = (input as { mounts?: unknown }).mounts;
        assert.equal(r.mounts.length, Array.isArray(given) ? given.length : 0);
        for (const m of r.mounts) {
          if (m.classification.kind !== 'sandbox') continue;
          assert.ok(m.classification.sandboxPath === 'C:\\SandboxMounts' || m.classification.sandboxPath.startsWith('C:\\SandboxMounts\\'));
          assert.doesNotMatch(m.source, /[&|<>^%"\x00-\x1f]/);
        }
      }),
      { numRuns: 2000 },
    );
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
