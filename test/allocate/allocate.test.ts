// allocateWindowsResources / planWindowsResources end to end: the differences
// (docs/differences.md) not covered by the per-concern vectors, abort, rollback failures,
// concurrency, the plan and createHost.

import * as assert from 'node:assert/strict';
import { AbortedError, ReleaseError } from '../../lib/errors';
import { allocateWindowsResources, determineSchemaVersion, planWindowsResources } from '../../lib/allocate';
import { createHost, defaultSimulatedRoot } from '../../lib/host/index';
import { SimulatedHost } from '../../lib/host/simulated';
import type { OciMount } from '../../lib/oci/types';
import { onStep } from '../../lib/trace';
import { uvmState } from '../../lib/uvm';
import { bench, json, L1, L3, mountSources, S, spec, type Bench, rejects, VSMB_SHARES } from './fixtures';

const RO: OciMount = { source: 'C:\\data\\ro', destination: 'C:\\ro', options: ['ro'] };
const VHD: OciMount = { source: 'C:\\disks\\data.vhdx', destination: 'C:\\vd', type: 'virtual-disk', options: ['ro'] };
const FILE: OciMount = { source: 'C:\\data\\cfg\\app.json', destination: 'C:\\app.json', options: ['ro'] };

describe('allocate: validation first, rollback, abort', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
    await mountSources(b);
  });
  afterEach(() => b.done());

  it('docs/differences.md#difference-1: an invalid device after valid mounts fails with no side effect at all', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    const from = b.host.calls.length;
    const s = spec([L3, L1, S], { mounts: [RO, VHD] }, { devices: [{ id: 'x', idType: 'class' }] });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: s, host: b.host, uvm: vm }));
    assert.equal(err.message, 'device type class for device x is not supported in windows');
    assert.equal(err.op, 'validate');
    assert.deepEqual(b.host.calls.slice(from), []);
    // Not even the container counter: the next container is still C:\c\1.
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, uvm: vm });
    assert.equal(a.containerRootInUvm, 'C:\\c\\1');
    await a.resources.release({ all: true });
  });

  it('the caller\'s spec is not modified; the result is a copy with Root.Path set', async () => {
    const s = spec([L3, L1, S], { mounts: [RO] });
    const before = json(s);
    const a = await allocateWindowsResources({ id: 'c1', spec: s, host: b.host });
    assert.equal(json(s), before);
    assert.notEqual(a.spec, s);
    assert.match(a.spec.root!.path, /^\\\\\?\\Volume/);
    await a.resources.release({ all: true });
  });

  it('a failed step whose rollback fails too reports both: the step error first, then every rollback failure', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    // The share of C:\data\rw fails to add; removing the RO share during the rollback fails too.
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => json(c.document).includes('"Add"') && json(c.document).includes('data\\\\rw') });
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => json(c.document).includes('"Remove"') && json(c.document).includes('"Name":"s3"') });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [RO, { source: 'C:\\data\\rw', destination: 'C:\\n' }] }), host: b.host, uvm: vm }));
    assert.match(err.message, /^failed to add VSMB share to utility VM for mount \{Destination:C:\\n [^]*\(rollback failed: failed to remove VSMB share: /);
    assert.equal(err.op, 'mounts.vsmb');
    assert.equal(err.code, 'ERR_HCS');
    assert.ok(err.cause instanceof ReleaseError);
    assert.equal((err.cause as ReleaseError).errors.length, 1);
    // docs/differences.md#difference-2: the layers were released all the same.
    const u = b.host.snapshot().uvms['pod1@vm']!;
    assert.deepEqual(u.scsi.map((s) => s.lun), [0]);
    assert.deepEqual(u.vsmbShares.map((s) => s.name), ['os', 's3']);
  });

  it('an aborted signal before the call: ERR_ABORTED, nothing happens', async () => {
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, signal: AbortSignal.abort() }));
    assert.ok(err instanceof AbortedError);
    assert.equal(err.code, 'ERR_ABORTED');
    assert.deepEqual(b.host.calls, []);
  });

  it('an abort between steps stops before the next step and releases what was acquired', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    const controller = new AbortController();
    const off = onStep({ end: (ctx) => (ctx.step === 'layers.mount' ? controller.abort() : undefined) });
    try {
      const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [RO] }), host: b.host, uvm: vm, signal: controller.signal }));
      assert.equal(err.code, 'ERR_ABORTED');
      assert.equal(err.op, 'mounts');
    } finally {
      off();
    }
    assert.ok(!b.host.calls.some((c) => String(json(c.document)).includes('C:\\\\data\\\\ro')));
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('an empty id becomes a random v4 GUID, as CreateContainer does', async () => {
    const a = await allocateWindowsResources({ id: '', spec: spec([L3, L1, S]), host: b.host });
    assert.match(a.resources.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await a.resources.release({ all: true });
  });

  it('containerDocument(): hcsshim key order, empty fields left out, Argon path with its trailing backslash', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    await b.file('C:\\ContainerPlat\\device-util.exe');
    const s = spec(
      [L3, L1, S],
      { mounts: [VHD, { source: '\\\\.\\pipe\\p', destination: '\\\\.\\pipe\\q' }, RO] },
      { devices: [{ id: 'PCIP\\VEN_1\\1&2', idType: 'vpci' }], credentialSpec: '{"a":1}' },
    );
    const a = await allocateWindowsResources({ id: 'c1', spec: s, host: b.host, uvm: vm });
    assert.deepEqual(Object.keys(a.containerDocument()), ['Storage', 'MappedDirectories', 'MappedPipes', 'ContainerCredentialGuard', 'AssignedDevices']);
    assert.deepEqual(a.containerDocument().MappedDirectories!.map((d) => d.ContainerPath), ['C:\\ro', 'C:\\vd']);
    await a.resources.release({ all: true });
    const argon = await allocateWindowsResources({ id: 'c2', spec: spec([L3, L1, 'C:\\layers\\s2'], { root: { path: '\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}' } }), host: b.host });
    assert.equal(argon.containerDocument().Storage!.Path, '\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\\');
    assert.ok(!b.host.calls.some((c) => c.api === 'ActivateLayer'));
    assert.equal(argon.resources.toJSON().layers, undefined);
  });

  it('schema version: a UVM means 2.1; else 1.0 before RS5, 2.1 after, a request honoured only when supported', () => {
    assert.deepEqual(determineSchemaVersion(17134, true), { major: 2, minor: 1 });
    assert.deepEqual(determineSchemaVersion(17134, false), { major: 1, minor: 0 });
    assert.deepEqual(determineSchemaVersion(17763, false), { major: 2, minor: 1 });
    assert.deepEqual(determineSchemaVersion(17134, false, { major: 2, minor: 1 }), { major: 1, minor: 0 });
    assert.deepEqual(determineSchemaVersion(20348, false, { major: 1, minor: 0 }), { major: 1, minor: 0 });
    assert.deepEqual(determineSchemaVersion(19041, false, { major: 2, minor: 5 }), { major: 2, minor: 1 });
    assert.deepEqual(determineSchemaVersion(20348, false, { major: 2, minor: 5 }), { major: 2, minor: 5 });
  });
});

describe('allocate: 50 containers in one UVM at once', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
    await mountSources(b);
  });
  afterEach(() => b.done());

  it('sharing layers, a read-only directory, a file share and a disk: all allocate, all release, the UVM is back at its baseline', async () => {
    const slow = new SimulatedHost({ root: b.root, stateDir: false, latency: { hostCallMs: 1, guestRequestMs: 1 } });
    const vm = await slow.createUtilityVm({ id: 'pod1@vm' });
    const ids = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const all = await Promise.all(
      ids.map((id) => allocateWindowsResources({ id, spec: spec([L3, L1, `C:\\layers\\${id}`], { mounts: [RO, FILE, VHD] }), host: slow, uvm: vm })),
    );
    const roots = new Set(all.map((a) => a.containerRootInUvm));
    assert.equal(roots.size, 50);
    const u = slow.snapshot().uvms['pod1@vm']!;
    // Two layer shares, the ro directory, the file share; the UVM scratch, 50 container scratches and one data disk.
    assert.deepEqual(u.vsmbShares.map((s) => s.name).sort(), ['os', 's1', 's2', 's3', 's4']);
    assert.equal(u.scsi.length, 52);
    const disk = uvmState(slow, vm).refcounts().scsi.find((s) => s.hostPath === 'C:\\disks\\data.vhdx')!;
    assert.equal(disk.refCount, 50);
    // Every container maps the disk at the guest path of whichever container attached it.
    assert.equal(new Set(all.map((a) => a.mappedDirectories[0]!.HostPath)).size, 1);

    await Promise.all(all.map((a) => a.resources.release({ all: true })));
    assert.deepEqual(slow.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
    assert.deepEqual(uvmState(slow, vm).refcounts(), { scsi: [{ controller: 0, lun: 0, hostPath: '', uvmPath: '', refCount: 1 }], vsmb: [], vpci: [] });
  });
});

describe('plan', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
    await mountSources(b);
  });
  afterEach(() => b.done());

  it('lists the calls allocation then sends, in order, and changes nothing', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    const o = { id: 'c1', spec: spec([L3, L1, S], { mounts: [RO, { source: '\\\\.\\pipe\\p', destination: '\\\\.\\pipe\\q' }] }, { credentialSpec: '{"a":1}' }), host: b.host, uvm: vm };
    const before = json(b.host.snapshot());
    const from = b.host.calls.length;
    const plan = await planWindowsResources(o);
    assert.equal(json(b.host.snapshot()), before);
    assert.ok(!b.host.calls.slice(from).some((c) => c.mutating));
    assert.equal(plan.isolation, 'hypervisor');
    assert.deepEqual(plan.schemaVersion, { major: 2, minor: 1 });
    const sentFrom = b.host.calls.length;
    await allocateWindowsResources(o);
    const sent = b.host.calls.slice(sentFrom);
    assert.deepEqual(
      plan.calls.map((c) => [c.api, c.target, c.document === undefined && c.withheld === undefined ? undefined : json(c.document ?? sent.find((x) => x.api === c.api && json(x.document).includes('AddInstance'))?.document)]),
      sent.map((c) => [c.api, c.target, c.document === undefined ? undefined : json(c.document)]),
    );
    assert.deepEqual(
      [...new Set(plan.calls.map((c) => c.op))],
      ['scratch.create', 'layers.mount', 'mounts', 'ccg.add', 'document'],
      'each call names the step that makes it',
    );
    assert.ok(!json(plan).includes('"a":1'), 'the credential spec is not shown');
  });

  it('a second container in the UVM: the shares it has already are reused, not added (issue 13 point 1)', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    const first = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [RO] }), host: b.host, uvm: vm });
    const o = { id: 'c2', spec: spec([L3, L1, 'C:\\layers\\scratch2'], { mounts: [RO] }), host: b.host, uvm: vm };
    const plan = await planWindowsResources(o);
    const from = b.host.calls.length;
    await allocateWindowsResources(o);
    const shares = (calls: readonly { api: string; document?: unknown }[]): unknown[] => calls.filter((c) => json(c.document ?? null).includes(VSMB_SHARES)).map((c) => c.document);
    const sent = b.host.calls.slice(from);
    const modifies = (calls: readonly { api: string }[]): number => calls.filter((c) => c.api === 'HcsModifyComputeSystem').length;
    assert.equal(modifies(plan.calls), modifies(sent), 'only the scratch disk is attached');
    assert.deepEqual(shares(plan.calls), shares(sent));
    assert.deepEqual(shares(plan.calls), [], 'both layers and the mount share are the first container\'s');
    assert.ok(plan.calls.some((c) => json(c.document ?? null).includes('C:\\\\c\\\\2')), 'the second container root');
    await first.resources.release();
  });

  it('rejects what allocation would reject, with the same error', async () => {
    const err = await rejects(planWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [{ source: 'x', destination: 'y', type: 'bind' }] }), host: b.host }));
    assert.equal(err.message, "invalid OCI spec - Type 'bind' not supported");
    assert.equal(err.op, 'validate');
  });
});

describe('createHost', () => {
  it('is a SimulatedHost off Windows, rooted where asked', async () => {
    const b = await bench();
    const host = createHost({ root: b.root });
    assert.ok(host instanceof SimulatedHost);
    assert.equal((host as SimulatedHost).root, b.root);
    await b.done();
  });

  it('defaults to $XDG_STATE_HOME/wcow-resources/host, else a per-user temp directory', () => {
    assert.equal(defaultSimulatedRoot({ XDG_STATE_HOME: '/state' }), '/state/wcow-resources/host');
    assert.match(defaultSimulatedRoot({}), /wcow-resources-\d+\/host$/);
  });
});
