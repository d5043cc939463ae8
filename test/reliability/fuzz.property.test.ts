// Bad input, end to end: generated specs (odd mount lists, `..` paths, shell metacharacters,
// unicode, very long strings, wrong types, huge counts, duplicate destinations) fed to
// allocateWindowsResources on the simulated host give a result (then released) or a
// WcowError — never another exception, a hang or a leak. And the credential spec, a secret,
// reaches no error, no log line and no journal, whatever fails.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { allocateWindowsResources } from '../../lib/allocate';
import { WcowError } from '../../lib/errors';
import { SimulatedHost, type SimulatedCall } from '../../lib/host/simulated';
import type { UtilityVm } from '../../lib/host/types';
import { recover } from '../../lib/recover';
import type { Logger } from '../../lib/trace';
import { CREDENTIAL_SPEC, L1, L2, L3, SECRET, SCENARIOS, allocate, prepareMachine } from './scenarios';

const odd = fc.oneof(
  fc.constantFrom('..', 'C:\\..\\..\\Windows', 'sandbox:///../../x', 'a&b|c>d^e', '%PATH%', '"quoted"', '\u00e9\u4e2d\ud83d\ude00', '\u0000', ' '),
  fc.string({ maxLength: 20 }),
  fc.string({ minLength: 300, maxLength: 2000 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);
const wrongType = fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.constant({}), fc.constant([]));
const goodSource = fc.constantFrom(
  'C:\\data\\rw',
  'C:\\data\\ro',
  'C:\\data\\cfg\\app.json',
  '\\\\.\\pipe\\foo',
  'sandbox:///a/b',
  '\\\\.\\PHYSICALDRIVE2',
  'C:\\disks\\data.vhdx',
  'C:\\missing\\dir',
);
const mount = fc.oneof(
  {
    arbitrary: fc.record({
      source: fc.oneof({ arbitrary: goodSource, weight: 4 }, { arbitrary: odd, weight: 1 }),
      destination: fc.oneof({ arbitrary: fc.constantFrom('C:\\m', 'C:\\n', '\\\\.\\pipe\\p', 'C:\\m'), weight: 3 }, { arbitrary: odd, weight: 1 }),
      type: fc.constantFrom('', 'physical-disk', 'virtual-disk', 'extensible-virtual-disk', 'bind'),
      options: fc.oneof(fc.constant([]), fc.constant(['ro']), fc.array(odd, { maxLength: 2 })),
    }),
    weight: 8,
  },
  { arbitrary: wrongType, weight: 1 },
);
const layers = fc.oneof(
  { arbitrary: fc.constant([L3, L2, L1]), weight: 6 },
  { arbitrary: fc.array(fc.oneof(fc.constantFrom(L3, L1), odd), { maxLength: 4 }), weight: 1 },
);
const spec = fc.record(
  {
    mounts: fc.oneof(
      { arbitrary: fc.array(mount, { maxLength: 6 }), weight: 6 },
      // Huge counts: more disks than LUNs, the same directory many times.
      { arbitrary: fc.integer({ min: 60, max: 120 }).map((n) => Array.from({ length: n }, (_, i) => ({ source: i % 2 ? 'C:\\data\\ro' : `C:\\many\\disks\\v${i % 8}.vhdx`, destination: `C:\\m${i}`, type: i % 2 ? '' : 'virtual-disk', options: ['ro'] }))), weight: 1 },
      { arbitrary: wrongType, weight: 1 },
    ),
    scratch: fc.oneof({ arbitrary: fc.constantFrom('C:\\layers\\fz1', 'C:\\layers\\fz2'), weight: 5 }, { arbitrary: odd, weight: 1 }),
    layers,
    ccg: fc.boolean(),
    hyperv: fc.boolean(),
    devices: fc.oneof(fc.constant(undefined), fc.array(fc.record({ id: odd, idType: fc.constantFrom('vpci', 'class', 'vpci-instance-id', 'x') }), { maxLength: 2 })),
    annotations: fc.oneof(fc.constant(undefined), fc.dictionary(odd, fc.oneof(odd, wrongType), { maxKeys: 3 })),
  },
  { requiredKeys: ['mounts', 'scratch', 'layers', 'ccg', 'hyperv'] },
);

interface Captured {
  lines: string[];
  logger: Logger;
}

function capture(): Captured {
  const lines: string[] = [];
  const log = (obj: object, msg?: string): void => {
    lines.push(JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack, cause: v.cause } : v)) + (msg ?? ''));
  };
  return { lines, logger: { debug: log, info: log, warn: log, error: log } };
}

/** Every message, in the error and its causes. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) out.push(e.message, JSON.stringify(e));
  return out.join('\n');
}

function journalText(dir: string): string {
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => fs.readFileSync(path.join(dir, n), 'utf8')).join('\n') : '';
}

describe('reliability: bad input (fast-check)', function () {
  this.timeout(120_000);
  let root: string;
  let host: SimulatedHost;
  let vm: UtilityVm;
  let journal: string;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-fuzz-'));
    journal = path.join(root, 'journal');
    host = new SimulatedHost({ root, stateDir: false });
    prepareMachine(root, host);
    vm = await host.createUtilityVm({ id: 'fuzz@vm' });
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('generated specs give a released result or a WcowError, and leave the host as they found it', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(spec, async (g) => {
        const windows: Record<string, unknown> = { layerFolders: Array.isArray(g.layers) ? [...g.layers, g.scratch] : g.layers };
        if (g.ccg) windows.credentialSpec = CREDENTIAL_SPEC;
        if (g.hyperv) windows.hyperv = {};
        if (g.devices !== undefined) windows.devices = g.devices;
        const input = { mounts: g.mounts, windows, ...(g.annotations !== undefined && { annotations: g.annotations }) };
        // Scratch folders and grants stay by design; compare what a release must undo.
        const before = host.snapshot();
        const log = capture();
        const run = allocateWindowsResources({ id: 'fz', spec: input as never, host, journal, logger: log.logger, ...(g.hyperv && { uvm: vm }) })
          .then(async (a) => {
            accepted++;
            await a.resources.release({ all: true });
            return a;
          })
          .catch((err: unknown) => err);
        const timer = new Promise((resolve) => setTimeout(() => resolve('hang'), 10_000).unref());
        const result = await Promise.race([run, timer]);
        assert.notEqual(result, 'hang', 'the allocation settles');
        if (result instanceof Error) {
          assert.ok(result instanceof WcowError, `only WcowError: ${result.stack}`);
          assert.ok(!messages(result).includes(SECRET), 'no secret in the error');
        }
        assert.ok(!log.lines.some((l) => l.includes(SECRET)), 'no secret in the log');
        const after = host.snapshot();
        const undoable = (s: typeof before) => ({ ...s, filesCreated: [], vmAccessGrants: [], uvms: Object.fromEntries(Object.entries(s.uvms).map(([k, u]) => [k, { ...u, guest: { ...u.guest, directories: [], drivers: [] } }])) });
        assert.deepEqual(undoable(after), undoable(before), 'nothing leaked');
        assert.deepEqual(journalText(journal), '', 'no journal left');
      }),
      { numRuns: 150, seed: 0x0bad, endOnFailure: true },
    );
    assert.ok(accepted >= 10, `${accepted} generated specs were accepted and allocated`);
  });

  it('the credential spec never reaches a journal, a log line or an error — with every call failing in turn', async () => {
    const s = SCENARIOS[1]!;
    const full = await host.createUtilityVm({ id: 'secret@vm' });
    const dir = path.join(root, 'secret-journal');
    const log = capture();
    const mutating = (c: SimulatedCall): boolean => c.mutating;
    const probe = await allocate(host, full, s.container, { journal: dir, logger: log.logger });
    assert.ok(journalText(dir).includes('ccg.remove'), 'the journal records the CCG instance by id');
    assert.ok(!journalText(dir).includes(SECRET));
    // Abandon mid-life and recover: the recover logger sees the CCG instance, not its spec.
    await probe.resources.abandon();
    const report = await recover({ dir, host, logger: log.logger });
    assert.deepEqual(report.errors, []);
    assert.ok(!JSON.stringify(report).includes(SECRET));
    // The calls of an allocation once the scratch exists (the first one also created it).
    const from = host.calls.length;
    const warm = await allocate(host, await host.openUtilityVm('secret@vm'), s.container, { journal: dir, logger: log.logger });
    const k = host.calls.slice(from).filter(mutating).length;
    await warm.resources.release({ all: true });
    for (let nth = 1; nth <= k; nth++) {
      let seen = 0;
      // The failing call and, from the second on, its rollback: the journal is abandoned with the CCG instance in it.
      const fault = host.injectFault({ api: '*', times: Infinity, match: (c) => c.mutating && (++seen === nth || seen >= nth + 2) });
      const err = await allocate(host, await host.openUtilityVm('secret@vm'), s.container, { journal: dir, logger: log.logger }).catch((e: unknown) => e);
      fault.remove();
      assert.ok(err instanceof WcowError, `call ${nth}: ${String(err)}`);
      assert.doesNotMatch(err.message, /already exists/, `call ${nth}: the previous round was cleaned up`);
      assert.ok(!messages(err).includes(SECRET), `call ${nth}: no secret in the error`);
      assert.ok(!journalText(dir).includes(SECRET), `call ${nth}: no secret in the journal`);
      await recover({ dir, host, logger: log.logger });
    }
    assert.ok(log.lines.length > 0);
    assert.ok(!log.lines.some((l) => l.includes(SECRET)), 'no secret in any log line');
    assert.ok(host.calls.some((c) => JSON.stringify(c.document ?? '').includes(SECRET)), 'the secret did reach HCS, where it belongs');
  });
});
