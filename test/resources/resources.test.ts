// Resources and ReleaseResources (docs/behaviour.md#releasing-resources; docs/differences.md#difference-2).
import assert from 'node:assert/strict';
import { HcsError, ReleaseError } from '../../lib/errors';
import { Resources, closer, type Closer, type ResourceRecord } from '../../lib/resources';

/** The probes' names: the records are typed by kind, and not every kind has a name. */
const names = new WeakMap<Closer, string>();

/** A record of `kind` for a probe named `name`. */
function recordOf(kind: ResourceRecord['kind'], name: string): ResourceRecord {
  switch (kind) {
    case 'scsi':
      return { kind, uvmId: 'vm', hostPath: `C:\\${name}.vhdx`, uvmPath: '', controller: 0, lun: 1, type: 'VirtualDisk', readOnly: false };
    case 'vsmb':
      return { kind, uvmId: 'vm', name, hostPath: `C:\\${name}`, readOnly: true, isDirShare: true };
    case 'pipe':
      return { kind, uvmId: 'vm', hostPath: `\\\\.\\pipe\\${name}` };
    case 'vpci':
      return { kind, uvmId: 'vm', pciId: name, index: 0, vmBusGuid: '00000000-0000-0000-0000-000000000001' };
    case 'ccg':
      return { kind, id: name };
    case 'combined-layers':
      return { kind, uvmId: 'vm', rootPath: `C:\\c\\${name}` };
    case 'layers':
      return { kind, isolation: 'process', scratch: `C:\\${name}` };
  }
}

/** A closer that logs its release into `log` and fails while `failures` > 0. */
function probe(log: string[], kind: ResourceRecord['kind'], name: string, failures = 0): Closer {
  let left = failures;
  const c = closer(recordOf(kind, name), async () => {
    log.push(name);
    if (left > 0) {
      left--;
      throw new HcsError(`${name} failed`);
    }
  });
  names.set(c, name);
  return c;
}

describe('resources', () => {
  it('releases in reverse add order, the layers last', async () => {
    const log: string[] = [];
    const r = new Resources('c1');
    r.setLayers(probe(log, 'layers', 'layers'));
    r.add(probe(log, 'vsmb', 'm1'), probe(log, 'pipe', 'm2'));
    r.add(probe(log, 'ccg', 'ccg'), probe(log, 'vpci', 'dev'));
    await r.release({ all: true });
    assert.deepEqual(log, ['dev', 'ccg', 'm2', 'm1', 'layers']);
    assert.deepEqual([r.closers.length, r.layers], [0, undefined]);
  });

  it('with `all: false` only CCG closers run (then the layers); the others stay for a later release', async () => {
    const log: string[] = [];
    const r = new Resources('c1');
    r.setLayers(probe(log, 'layers', 'layers'));
    r.add(probe(log, 'scsi', 'disk'), probe(log, 'ccg', 'ccg'), probe(log, 'vsmb', 'share'));
    await r.release({ all: false });
    assert.deepEqual(log, ['ccg', 'layers']);
    assert.deepEqual(r.closers.map((c) => c.kind), ['scsi', 'vsmb']);
    await r.release({ all: true });
    assert.deepEqual(log, ['ccg', 'layers', 'share', 'disk']);
  });

  it('docs/differences.md#difference-2: a failed step does not stop the release — the layers are released too, every failure is reported', async () => {
    // hcsshim's ReleaseResources returns `failed to release one or more container resources`
    // right after the loop and never releases the layers; here `layers` must appear in the log.
    const log: string[] = [];
    const r = new Resources('c1');
    r.setLayers(probe(log, 'layers', 'layers', 1));
    r.add(probe(log, 'vsmb', 'm1', 1), probe(log, 'pipe', 'm2'), probe(log, 'scsi', 'm3', 1));
    await assert.rejects(r.release({ all: true }), (err: unknown) => {
      assert.ok(err instanceof ReleaseError);
      assert.equal(err.code, 'ERR_RELEASE');
      assert.ok(err.message.startsWith('failed to release one or more container resources'));
      assert.deepEqual(err.errors.map((e) => e.message), ['m3 failed', 'm1 failed', 'layers failed']);
      return true;
    });
    assert.deepEqual(log, ['m3', 'm2', 'm1', 'layers']);
    assert.deepEqual(r.closers.map((c) => names.get(c)), ['m1', 'm3'], 'only the failed ones stay');
    assert.equal(r.layers?.kind, 'layers');
    await r.release({ all: true });
    assert.deepEqual(log, ['m3', 'm2', 'm1', 'layers', 'm3', 'm1', 'layers'], 'the retry runs exactly the failed ones');
    await r.release({ all: true });
    assert.equal(log.length, 7, 'a release after a complete one does nothing');
  });

  it('toJSON is plain JSON: id, container root, closer records and the layers record', () => {
    const r = new Resources('c1');
    r.containerRootInUvm = 'C:\\c\\1';
    r.add(closer({ kind: 'vsmb', uvmId: 'pod1@vm', name: 's3', hostPath: 'C:\\data\\rw', readOnly: false, isDirShare: true }, async () => undefined));
    r.setLayers(closer({ kind: 'layers', isolation: 'hypervisor', uvmId: 'pod1@vm', rootPath: 'C:\\c\\1', scratch: 'C:\\s', shares: ['s1', 's2'], lun: 1 }, async () => undefined));
    const json = r.toJSON();
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
    assert.equal(
      JSON.stringify(json),
      '{"id":"c1","containerRootInUvm":"C:\\\\c\\\\1","closers":[{"kind":"vsmb","uvmId":"pod1@vm","name":"s3","hostPath":"C:\\\\data\\\\rw","readOnly":false,"isDirShare":true}],"layers":{"kind":"layers","isolation":"hypervisor","uvmId":"pod1@vm","rootPath":"C:\\\\c\\\\1","scratch":"C:\\\\s","shares":["s1","s2"],"lun":1}}',
    );
    assert.equal(JSON.stringify(new Resources('c2').toJSON()), '{"id":"c2","closers":[]}');
  });

  it('closer(): concurrent releases share one attempt; after success a no-op; after a failure a retry', async () => {
    let calls = 0;
    let fail = true;
    const c = closer({ kind: 'vsmb', uvmId: 'vm', name: 's1', hostPath: 'C:\\drivers', readOnly: true, isDirShare: true }, async () => {
      calls++;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (fail) throw new Error('pnputil failed');
    });
    const results = await Promise.allSettled([c.release(), c.release()]);
    assert.deepEqual(results.map((x) => x.status), ['rejected', 'rejected']);
    assert.equal(calls, 1);
    assert.equal(((results[0] as PromiseRejectedResult).reason as { code: string }).code, 'ERR_INTERNAL', 'surfaced as a WcowError');
    fail = false;
    await c.release();
    await c.release();
    assert.equal(calls, 2);
  });

  it('closer(): describe() is a copy of the record, fixed at creation', () => {
    const record = { kind: 'ccg' as const, id: 'c1', uvmId: 'pod1@vm' };
    const c = closer(record, async () => undefined);
    record.id = 'changed';
    const d = c.describe();
    if (d.kind === 'ccg') d.id = 'changed too';
    assert.deepEqual(c.describe(), { kind: 'ccg', id: 'c1', uvmId: 'pod1@vm' });
  });
});
