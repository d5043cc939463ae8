// Process-isolated forked CimFS (docs/rootfs.md#process-isolated-cimfs): the volume GUID vectors, the
// call-sequence vectors C1-C5 against the simulated host (exact calls, documents, error
// texts, release order), the simulated service's refusals, a fault at every
// state-changing call, and recover() after a process gave up mid-way.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allocateWindowsResources, planWindowsResources, type AllocateOptions } from '../../lib/allocate';
import { ReleaseError } from '../../lib/errors';
import { E_FAIL } from '../../lib/hcs/errors';
import type { SimulatedCall } from '../../lib/host/simulated';
import { cimVolumeGuid } from '../../lib/layers';
import { recover } from '../../lib/recover';
import { bench, json, rejects, type Bench } from '../allocate/fixtures';
import { CIMS, G_C1, G_UPPER_C1, layOut, P7, SCRATCH } from './cimfs-fixtures';

const calls = (list: readonly SimulatedCall[]): unknown[] => list.map((c) => [c.api, c.target, ...(c.document === undefined ? [] : [json(c.document)])]);

function cimAllocate(b: Bench, extra: Partial<AllocateOptions> = {}): ReturnType<typeof allocateWindowsResources> {
  return allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [P7], host: b.host, ...extra });
}

describe('CimFS: volume GUID from the container id (v5, namespace 6827367b-c388-4e9b-961c-6d2c936c0000)', () => {
  const vectors: [string, string][] = [
    ['c1', G_C1],
    ['C1', G_UPPER_C1],
    ['test-container', '78b0c2aa-fcc1-5e50-813f-eb0574f209a5'],
    ['busybox-1', '822fe43a-bb2e-5055-91e5-d848f0b0099d'],
    ['3f1c2a9e5b7d4c8e9a0b1c2d3e4f5a6b3f1c2a9e5b7d4c8e9a0b1c2d3e4f5a6b', 'ecddef4e-5090-576a-bd3e-e22ad290878d'],
    ['é', 'd8256bca-0249-54e1-a39d-7b86ff728fdf'],
  ];
  for (const [id, guid] of vectors) it(`${JSON.stringify(id)} → ${guid}`, () => assert.equal(cimVolumeGuid(id), guid));
});

describe('CimFS: process-isolated forked CIM layers (simulated host)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
    await layOut(b);
  });
  afterEach(() => b.done());

  it('C1: mounts the top CIM at the id\'s volume, activates the scratch, attaches UnionFS; releases detach → deactivate → dismount', async () => {
    const baseline = b.host.snapshot();
    const a = await cimAllocate(b);
    const root = a.spec.root!.path;
    assert.match(root, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}\\$/);
    const mount = b.host.calls[0]!;
    assert.deepEqual(mount.args, { imagePath: CIMS, fsName: '6.cim', flags: 0, volumeGuid: G_C1 });
    assert.deepEqual(calls(b.host.calls), [
      ['CimMountImage', `${CIMS}\\6.cim`],
      ['ActivateLayer', SCRATCH],
      ['GetLayerMountPath', SCRATCH],
      [
        'HcsAttachOverlayFilter',
        root,
        `{"SchemaVersion":{},"Layers":[{"Id":"${G_C1}","Path":"\\\\\\\\?\\\\Volume{${G_C1}}\\\\Files"}],"FilterType":"UnionFS"}`,
      ],
    ]);
    // One layer whatever the depth, the CIM volume without `Files`; Path is the scratch volume.
    assert.equal(json(a.containerDocument()), json({ Storage: { Layers: [{ Id: G_C1, Path: `\\\\?\\Volume{${G_C1}}\\` }], Path: root }}));
    const live = b.host.snapshot();
    assert.deepEqual(live.cimMounts, [{ volumeGuid: G_C1, cimPath: `${CIMS}\\6.cim`, flags: 0 }]);
    assert.deepEqual(live.overlayFilters, [{ volumePath: root, filterType: 'UnionFS', layers: [{ Id: G_C1, Path: `\\\\?\\Volume{${G_C1}}\\Files` }] }]);
    assert.deepEqual(live.layers, [{ path: SCRATCH, activations: 1, prepared: false }]);

    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.deepEqual(calls(b.host.calls.slice(before)), [
      ['HcsDetachOverlayFilter', root, '{"SchemaVersion":{},"FilterType":"UnionFS"}'],
      ['DeactivateLayer', SCRATCH],
      ['CimDismountImage', G_C1],
    ]);
    assert.deepEqual(b.host.snapshot(), baseline);
  });

  it('C1: no scratch is created for CIM layers — the snapshotter\'s sandbox.vhdx is used as it is', async () => {
    const a = await cimAllocate(b);
    assert.ok(!b.host.calls.some((c) => c.api === 'MkdirAll' || c.api === 'CreateSandboxLayer'));
    assert.deepEqual(b.host.snapshot().filesCreated, []);
    assert.equal(fs.readFileSync(b.real(`${SCRATCH}\\sandbox.vhdx`), 'utf8'), 'vhdx');
    await a.resources.release({ all: true });
  });

  it('C2: the attach fails → deactivate, dismount; error "failed to mount container storage: failed to attach overlay filter: E"', async () => {
    const baseline = b.host.snapshot();
    b.host.injectFault({ api: 'HcsAttachOverlayFilter', hresult: E_FAIL });
    const e = await rejects(cimAllocate(b));
    assert.equal(e.message, 'failed to mount container storage: failed to attach overlay filter: Unspecified error');
    assert.equal(e.op, 'layers.mount');
    assert.equal(e.hresult, '0x80004005');
    assert.deepEqual(
      b.host.calls.map((c) => c.api),
      ['CimMountImage', 'ActivateLayer', 'GetLayerMountPath', 'HcsAttachOverlayFilter', 'DeactivateLayer', 'CimDismountImage'],
    );
    assert.deepEqual(b.host.snapshot(), baseline);
  });

  it('C3: no sandbox.vhdx → ActivateLayer fails, the CIM is dismounted; hcsshim\'s ActivateLayer text', async () => {
    fs.rmSync(b.real(`${SCRATCH}\\sandbox.vhdx`));
    const baseline = b.host.snapshot();
    const e = await rejects(cimAllocate(b));
    assert.equal(e.message, 'failed to mount container storage: hcsshim::ActivateLayer failed in Win32: The system cannot find the file specified. (0x2)');
    assert.deepEqual(
      b.host.calls.map((c) => [c.api, c.outcome]),
      [
        ['CimMountImage', 'ok'],
        ['ActivateLayer', 'ERR_HCS'],
        ['CimDismountImage', 'ok'],
      ],
    );
    assert.deepEqual(b.host.snapshot(), baseline);
  });

  it('C4: release with a failing detach stops there (scratch active, CIM mounted); a second release finishes in order', async () => {
    const a = await cimAllocate(b);
    const root = a.spec.root!.path;
    const before = b.host.calls.length;
    b.host.injectFault({ api: 'HcsDetachOverlayFilter', hresult: E_FAIL });
    const e = await rejects(a.resources.release({ all: true }));
    assert.ok(e instanceof ReleaseError);
    assert.equal(e.errors.length, 1);
    assert.equal(e.errors[0]!.message, 'failed to detach overlay filter: Unspecified error');
    assert.deepEqual(calls(b.host.calls.slice(before)).map((c) => (c as unknown[])[0]), ['HcsDetachOverlayFilter']);
    assert.equal(b.host.snapshot().cimMounts.length, 1);
    assert.equal(b.host.snapshot().layers.length, 1);
    const retry = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.deepEqual(calls(b.host.calls.slice(retry)).map((c) => (c as unknown[]).slice(0, 2)), [
      ['HcsDetachOverlayFilter', root],
      ['DeactivateLayer', SCRATCH],
      ['CimDismountImage', G_C1],
    ]);
    assert.deepEqual(b.host.snapshot().cimMounts, []);
  });

  it('C5: the same mount for container id "C1" uses volume 5f8a963d-…', async () => {
    const a = await cimAllocate(b, { id: 'C1' });
    assert.equal(b.host.calls[0]!.args!.volumeGuid, G_UPPER_C1);
    assert.equal(a.containerDocument().Storage!.Layers![0]!.Id, G_UPPER_C1);
    await a.resources.release({ all: true });
  });

  it('a missing CIM file: "mount forked layer cim: cim Mount <cimPath> <G>: The system cannot find the file specified."; nothing else called', async () => {
    fs.rmSync(b.real(`${CIMS}\\6.cim`));
    const e = await rejects(cimAllocate(b));
    assert.equal(
      e.message,
      `failed to mount container storage: mount forked layer cim: cim Mount ${CIMS}\\6.cim ${G_C1}: The system cannot find the file specified.`,
    );
    assert.deepEqual(b.host.calls.map((c) => c.api), ['CimMountImage']);
  });

  it('the simulated cimfs refuses a forked CIM whose parent CIM is gone', async () => {
    fs.rmSync(b.real(`${CIMS}\\5.cim`));
    const e = await rejects(cimAllocate(b));
    assert.equal(e.message, `failed to mount container storage: mount forked layer cim: cim Mount ${CIMS}\\6.cim ${G_C1}: The system cannot find the file specified.`);
  });

  it('a second container with the same id collides on the CIM volume (mounted twice is refused); the first is untouched', async () => {
    const first = await cimAllocate(b);
    const live = b.host.snapshot();
    // The preflight refuses the id before any call (docs/differences.md#difference-9); the service itself
    // refuses a second mount at the volume GUID.
    const e = await rejects(cimAllocate(b));
    assert.equal(e.code, 'ERR_ALREADY_EXISTS');
    await assert.rejects(b.host.cimMountImage(`${CIMS}`, '6.cim', 0, G_C1), /Cannot create a file when that file already exists/);
    assert.deepEqual(b.host.snapshot(), live);
    await first.resources.release({ all: true });
  });

  it('the simulated service refuses detaching what is not attached, dismounting what is not mounted, a second filter', async () => {
    const a = await cimAllocate(b);
    const root = a.spec.root!.path;
    await assert.rejects(b.host.attachOverlayFilter(root, { SchemaVersion: {}, Layers: [{ Id: G_C1, Path: `\\\\?\\Volume{${G_C1}}\\Files` }], FilterType: 'UnionFS' }), /Cannot create a file when that file already exists/);
    await assert.rejects(b.host.cimDismountImage(G_C1), /being used by another process/);
    await a.resources.release({ all: true });
    await assert.rejects(b.host.detachOverlayFilter(root, { SchemaVersion: {}, FilterType: 'UnionFS' }), /Element not found/);
    await assert.rejects(b.host.cimDismountImage(G_C1), /Element not found/);
  });

  it('hypervisor isolation with CimFS is refused as hcsshim refuses it, before any call', async () => {
    const uvm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    b.host.clearCalls();
    const e = await rejects(cimAllocate(b, { uvm }));
    assert.equal(e.message, "failed to mount container storage: hyperv isolated containers aren't supported with forked cim layers");
    assert.equal(e.code, 'ERR_INVALID_SPEC');
    assert.deepEqual(b.host.calls, []);
  });

  it('a preset Root.Path: nothing mounted; the root is the one layer, its GUID the id (MakeMountedWCOWLayers)', async () => {
    const X = '\\\\?\\Volume{11111111-2222-3333-4444-555555555555}\\';
    const a = await cimAllocate(b, { spec: { root: { path: X } } });
    assert.deepEqual(b.host.calls, []);
    assert.equal(json(a.containerDocument().Storage), json({ Layers: [{ Id: '11111111-2222-3333-4444-555555555555', Path: X }], Path: X }));
    const v1 = await rejects(cimAllocate(b, { spec: { root: { path: 'C:\\mnt' } }, schemaVersion: { major: 1, minor: 0 } }));
    assert.equal(v1.message, 'failed to use pre-mounted container storage: volume path C:\\mnt is not in the expected format');
  });

  it('plan lists the CimFS calls with the attach document, and sends nothing', async () => {
    const plan = await planWindowsResources({ id: 'c1', spec: {}, rootfs: [P7], host: b.host });
    assert.deepEqual(b.host.calls, []);
    const mounted = await cimAllocate(b);
    // The rehearsal activates the scratch too, so the attach names the volume allocate then gets.
    assert.deepEqual(
      plan.calls.map((c) => [c.api, c.target]),
      [
        ['CimMountImage', `${CIMS}\\6.cim`],
        ['ActivateLayer', SCRATCH],
        ['GetLayerMountPath', SCRATCH],
        ['HcsAttachOverlayFilter', mounted.spec.root.path],
      ],
    );
    await mounted.resources.release();
    assert.equal(json(plan.calls[3]!.document), `{"SchemaVersion":{},"Layers":[{"Id":"${G_C1}","Path":"\\\\\\\\?\\\\Volume{${G_C1}}\\\\Files"}],"FilterType":"UnionFS"}`);
  });
});

describe('CimFS: faults and crash cleanup', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
    await layOut(b);
  });
  afterEach(() => b.done());

  it('every state-changing call of the allocation failing in turn: rejected naming layers.mount, host back at the baseline, no journal left', async () => {
    const journal = path.join(b.root, 'journal');
    const baseline = b.host.snapshot();
    const ok = await cimAllocate(b, { journal });
    const mutating = b.host.calls.filter((c) => c.mutating).map((c) => c.api);
    assert.deepEqual(mutating, ['CimMountImage', 'ActivateLayer', 'HcsAttachOverlayFilter']);
    await ok.resources.release({ all: true });
    for (const api of mutating) {
      b.host.injectFault({ api, hresult: E_FAIL });
      const e = await rejects(cimAllocate(b, { journal }));
      assert.equal(e.op, 'layers.mount', api);
      assert.match(e.message, /^failed to mount container storage: /);
      assert.deepEqual(b.host.snapshot(), baseline, `${api} failing leaves the baseline`);
      assert.deepEqual(fs.readdirSync(journal).filter((n) => n.endsWith('.journal')), [], `${api}: no journal left`);
    }
  });

  it('every release step failing in turn: release stops there, a second release reaches the baseline', async () => {
    const baseline = b.host.snapshot();
    for (const api of ['HcsDetachOverlayFilter', 'DeactivateLayer', 'CimDismountImage']) {
      const a = await cimAllocate(b);
      b.host.injectFault({ api, hresult: E_FAIL });
      await rejects(a.resources.release({ all: true }));
      assert.notDeepEqual(b.host.snapshot(), baseline);
      await a.resources.release({ all: true });
      assert.deepEqual(b.host.snapshot(), baseline, api);
    }
  });

  it('a rollback that fails too keeps the journal; recover() dismounts and detaches the rest (hcsshim has no cleanup here)', async () => {
    const journal = path.join(b.root, 'journal');
    const baseline = b.host.snapshot();
    b.host.injectFault({ api: 'HcsAttachOverlayFilter', hresult: E_FAIL });
    b.host.injectFault({ api: 'DeactivateLayer', hresult: E_FAIL });
    const e = await rejects(cimAllocate(b, { journal }));
    assert.match(e.message, /^failed to mount container storage: failed to attach overlay filter: Unspecified error \(rollback failed: /);
    assert.equal(b.host.snapshot().cimMounts.length, 1);
    const report = await recover({ dir: journal, host: b.host });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.undone.map((u) => u.op), ['layer.deactivate', 'cim.dismount']);
    assert.deepEqual(b.host.snapshot(), baseline);
  });

  it('an allocation given up without release: recover() undoes detach → deactivate → dismount, in that order', async () => {
    const journal = path.join(b.root, 'journal');
    const baseline = b.host.snapshot();
    const a = await cimAllocate(b, { journal });
    const root = a.spec.root!.path;
    await a.resources.abandon();
    const before = b.host.calls.length;
    const report = await recover({ dir: journal, host: b.host });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.undone.map((u) => [u.op, u.resource, u.outcome]), [
      ['overlay.detach', `overlay filter on ${root}`, 'removed'],
      ['layer.deactivate', SCRATCH, 'removed'],
      ['cim.dismount', `CIM volume ${G_C1}`, 'removed'],
    ]);
    assert.deepEqual(b.host.calls.slice(before).map((c) => c.api), ['HcsDetachOverlayFilter', 'DeactivateLayer', 'CimDismountImage']);
    assert.deepEqual(b.host.snapshot(), baseline);
  });
});
