// Layers and scratch vectors (docs/layers.md#vectors V1-V4, docs/layers.md#scratch, docs/layers.md#mounting-layers).

import * as assert from 'node:assert/strict';
import { allocateWindowsResources } from '../../lib/allocate';
import { ReleaseError } from '../../lib/errors';
import { ERROR_DEVICE_NOT_CONNECTED_HR, ERROR_NOT_READY_HR, E_ACCESSDENIED } from '../../lib/hcs/errors';
import { SimulatedHost } from '../../lib/host/simulated';
import { bench, L1, L1_ID, L2, L2_ID, L3, L3_ID, S, SCSI0, SH, VSMB_SHARES, apis, json, spec, type Bench, rejects } from '../allocate/fixtures';


const descriptors = [
  { layerId: L3_ID, flags: 0, path: L3 },
  { layerId: L2_ID, flags: 0, path: L2 },
  { layerId: L1_ID, flags: 0, path: L1 },
];
const layerApis = new Set(['ActivateLayer', 'PrepareLayer', 'DeactivateLayer', 'UnprepareLayer', 'GetLayerMountPath']);

describe('layers: process isolation (Argon)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it('V1: creates the scratch, mounts 3 layers on the host and releases Unprepare then Deactivate', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L2, L1, S]), host: b.host });
    const nameToGuid = ['NameToGuid', 'NameToGuid', 'NameToGuid'];
    assert.deepEqual(apis(b.host.calls), [
      'MkdirAll',
      ...nameToGuid,
      'CreateSandboxLayer',
      'ActivateLayer',
      ...nameToGuid,
      'PrepareLayer',
      'GetLayerMountPath',
      // hcsdoc_wcow names the layers again when it builds Storage (docs/behaviour.md#the-container-document).
      ...nameToGuid,
    ]);
    const create = b.host.calls.find((c) => c.api === 'CreateSandboxLayer')!;
    assert.equal(create.target, S);
    assert.equal(json(create.args), json({ parents: descriptors }));
    assert.equal(json(b.host.calls.find((c) => c.api === 'PrepareLayer')!.args), json({ parents: descriptors }));
    assert.deepEqual(
      b.host.calls.filter((c) => c.api === 'NameToGuid').map((c) => c.target),
      Array(3).fill([L3, L2, L1].map((l) => l.slice('C:\\layers\\'.length))).flat(),
    );

    assert.match(a.spec.root!.path, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}\\$/);
    assert.equal(a.containerRootInUvm, undefined);
    assert.deepEqual(a.resources.toJSON().layers, { kind: 'layers', isolation: 'process', scratch: S, rootPath: a.spec.root!.path });
    assert.equal(
      json(a.containerDocument()),
      json({
        Storage: {
          Layers: [
            { Id: L3_ID, Path: L3 },
            { Id: L2_ID, Path: L2 },
            { Id: L1_ID, Path: L1 },
          ],
          Path: a.spec.root!.path,
        },
      }),
    );

    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.deepEqual(
      b.host.calls.slice(before).map((c) => [c.api, c.target]),
      [
        ['UnprepareLayer', S],
        ['DeactivateLayer', S],
      ],
    );
    assert.deepEqual(b.host.snapshot().layers, []);
  });

  it('V1 variant: PrepareLayer ERROR_NOT_READY twice is retried (Activate, Prepare, Deactivate) and the third attempt mounts', async () => {
    b.host.injectFault({ api: 'PrepareLayer', times: 2, hresult: ERROR_NOT_READY_HR });
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L2, L1, S]), host: b.host });
    assert.deepEqual(
      b.host.calls.filter((c) => layerApis.has(c.api)).map((c) => `${c.api} ${c.outcome}`),
      ['ActivateLayer ok', 'PrepareLayer ERR_HCS', 'DeactivateLayer ok', 'ActivateLayer ok', 'PrepareLayer ERR_HCS', 'DeactivateLayer ok', 'ActivateLayer ok', 'PrepareLayer ok', 'GetLayerMountPath ok'],
    );
    await a.resources.release({ all: true });
  });

  it('ERROR_DEVICE_NOT_CONNECTED five times ends the retry loop: layer retry loop failed, nothing left activated', async () => {
    b.host.injectFault({ api: 'PrepareLayer', times: 5, hresult: ERROR_DEVICE_NOT_CONNECTED_HR });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L2, L1, S]), host: b.host }));
    assert.equal(err.message, 'failed to mount container storage: layer retry loop failed: hcsshim::PrepareLayer failed in Win32: The device is not connected. (0x48f)');
    assert.equal(err.code, 'ERR_HCS');
    assert.equal(err.op, 'layers.mount');
    assert.equal(err.hresult, '0x8007048F');
    assert.equal(b.host.calls.filter((c) => c.api === 'PrepareLayer').length, 5);
    assert.deepEqual(b.host.snapshot().layers, []);
  });

  it('a non-retryable PrepareLayer failure is returned after one attempt, wrapped once', async () => {
    b.host.injectFault({ api: 'PrepareLayer', hresult: E_ACCESSDENIED });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L2, L1, S]), host: b.host }));
    assert.equal(err.message, 'failed to mount container storage: hcsshim::PrepareLayer failed in Win32: Access is denied. (0x5)');
    assert.deepEqual(apis(b.host.calls.filter((c) => layerApis.has(c.api))), ['ActivateLayer', 'PrepareLayer', 'DeactivateLayer']);
  });

  it('a failed ActivateLayer is not followed by DeactivateLayer', async () => {
    b.host.injectFault({ api: 'ActivateLayer', hresult: E_ACCESSDENIED });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host }));
    assert.equal(err.message, 'failed to mount container storage: hcsshim::ActivateLayer failed in Win32: Access is denied. (0x5)');
    assert.deepEqual(apis(b.host.calls.filter((c) => layerApis.has(c.api))), ['ActivateLayer']);
  });

  it('a failed GetLayerMountPath undoes Prepare and Activate', async () => {
    b.host.injectFault({ api: 'GetLayerMountPath', hresult: E_ACCESSDENIED });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host }));
    assert.equal(err.message, 'failed to mount container storage: hcsshim::GetLayerMountPath failed in Win32: Access is denied. (0x5)');
    assert.deepEqual(apis(b.host.calls.filter((c) => layerApis.has(c.api))), ['ActivateLayer', 'PrepareLayer', 'GetLayerMountPath', 'UnprepareLayer', 'DeactivateLayer']);
    assert.deepEqual(b.host.snapshot().layers, []);
  });

  it('the host layers closer stops at the first error (Unprepare failed: no Deactivate) and a second release retries', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host });
    b.host.injectFault({ api: 'UnprepareLayer', hresult: E_ACCESSDENIED });
    const before = b.host.calls.length;
    const err = await rejects(a.resources.release({ all: true }));
    assert.ok(err instanceof ReleaseError);
    assert.equal(err.errors[0]!.message, 'hcsshim::UnprepareLayer failed in Win32: Access is denied. (0x5)');
    assert.deepEqual(apis(b.host.calls.slice(before)), ['UnprepareLayer']);
    await a.resources.release({ all: true });
    assert.deepEqual(b.host.snapshot().layers, []);
  });

  it('PrepareLayer calls are serialized process-wide (hcsshim temporary workaround)', async () => {
    // A host whose PrepareLayer takes time and reports how many ran at once.
    class Counting extends SimulatedHost {
      inFlight = 0;
      maxInFlight = 0;
      override async prepareLayer(...args: Parameters<SimulatedHost['prepareLayer']>): Promise<void> {
        this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
        try {
          await super.prepareLayer(...args);
        } finally {
          this.inFlight--;
        }
      }
    }
    const host = new Counting({ root: b.root, latency: { hostCallMs: 2 } });
    const all = await Promise.all(['p1', 'p2', 'p3'].map((s, i) => allocateWindowsResources({ id: `c${i}`, spec: spec([L3, L1, `C:\\layers\\${s}`]), host })));
    assert.equal(host.calls.filter((c) => c.api === 'PrepareLayer').length, 3);
    assert.equal(host.maxInFlight, 1);
    await Promise.all(all.map((a) => a.resources.release({ all: true })));
    assert.deepEqual(host.snapshot().layers, []);
  });
});

describe('layers: scratch folder and sandbox.vhdx', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it('an existing scratch with sandbox.vhdx is neither created nor re-created', async () => {
    await b.dir(S);
    await b.file(S + '\\sandbox.vhdx', 'x');
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host });
    assert.ok(!apis(b.host.calls).includes('MkdirAll'));
    assert.ok(!apis(b.host.calls).includes('CreateSandboxLayer'));
    await a.resources.release({ all: true });
  });

  it('an existing empty scratch folder only gets its sandbox.vhdx', async () => {
    await b.dir(S);
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host });
    assert.deepEqual(apis(b.host.calls).slice(0, 4), ['NameToGuid', 'NameToGuid', 'CreateSandboxLayer', 'ActivateLayer']);
    await a.resources.release({ all: true });
  });

  it('MkdirAll failure: failed to auto-create container scratch folder <s>: <e>', async () => {
    b.host.injectFault({ api: 'MkdirAll', hresult: E_ACCESSDENIED });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host }));
    assert.match(err.message, /^failed to auto-create container scratch folder C:\\layers\\scratch1: mkdir C:\\layers\\scratch1: /);
    assert.equal(err.op, 'scratch.create');
  });

  it('CreateSandboxLayer failure: failed to CreateSandboxLayer: hcsshim::CreateScratchLayer failed in Win32: …', async () => {
    b.host.injectFault({ api: 'CreateSandboxLayer', hresult: E_ACCESSDENIED });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host }));
    assert.equal(err.message, 'failed to CreateSandboxLayer: hcsshim::CreateScratchLayer failed in Win32: Access is denied. (0x5)');
    assert.equal(err.op, 'scratch.create');
    assert.ok(!apis(b.host.calls).includes('ActivateLayer'));
  });

  it('docs/layers.md#q3-trailing-separators: a trailing separator on a layer folder still names the folder (NameToGuid of the basename)', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3 + '\\', L1, S + '\\']), host: b.host });
    assert.equal(json(b.host.calls.find((c) => c.api === 'PrepareLayer')!.args), json({ parents: [descriptors[0], descriptors[2]] }));
    await a.resources.release({ all: true });
  });
});

describe('layers: hypervisor isolation (v2 Xenon)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it('V2: VSMB s1/s2, resolved scratch on SCSI 0:1 at C:\\c\\1, CombinedLayers; release in layers-closer order', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    await b.dir(S);
    await b.file(S + '\\sandbox.vhdx', 'x');
    const start = b.host.calls.length;
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, uvm: vm });
    const calls = b.host.calls.slice(start);
    const vhdx = calls.find((c) => c.api === 'ResolvePath')!;
    assert.equal(vhdx.target, S + '\\sandbox.vhdx');
    const resolved = vhdx.result as string;
    assert.match(resolved, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}\\layers\\scratch1\\sandbox\.vhdx$/);
    assert.deepEqual(
      calls.map((c) => [c.api, json(c.document ?? c.args ?? c.target)]),
      [
        ['HcsModifyComputeSystem', json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's1', Path: L3, Options: { ReadOnly: true, ShareRead: true, CacheIo: true, TakeBackupPrivilege: true, PseudoOplocks: true } } })],
        ['HcsModifyComputeSystem', json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's2', Path: L1, Options: { ReadOnly: true, ShareRead: true, CacheIo: true, TakeBackupPrivilege: true, PseudoOplocks: true } } })],
        ['ResolvePath', json(S + '\\sandbox.vhdx')],
        ['GrantVmAccess', json({ vmId: 'pod1@vm' })],
        ['HcsModifyComputeSystem', json({ ResourcePath: `VirtualMachine/Devices/Scsi/${SCSI0}/Attachments/1`, RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: resolved } })],
        ['GuestRequest', json({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } })],
        ['NameToGuid', json(L3.slice(10))],
        ['NameToGuid', json(L1.slice(10))],
        ['GuestRequest', json({ RequestType: 'Add', ResourceType: 'CombinedLayers', Settings: { ContainerRootPath: 'C:\\c\\1', Layers: [{ Id: L3_ID, Path: SH + '\\s1' }, { Id: L1_ID, Path: SH + '\\s2' }] } })],
        // Storage.Layers of the container document (GetHCSLayers again, docs/behaviour.md#the-container-document).
        ['NameToGuid', json(L3.slice(10))],
        ['NameToGuid', json(L1.slice(10))],
      ],
    );
    assert.equal(a.spec.root!.path, 'C:\\c\\1');
    assert.equal(a.containerRootInUvm, 'C:\\c\\1');
    assert.equal(json(a.containerDocument()), json({ Storage: { Layers: [{ Id: L3_ID, Path: SH + '\\s1' }, { Id: L1_ID, Path: SH + '\\s2' }], Path: 'C:\\c\\1' } }));

    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.deepEqual(
      b.host.calls.slice(before).map((c) => [c.api, json(c.document)]),
      [
        ['GuestRequest', json({ RequestType: 'Remove', ResourceType: 'CombinedLayers', Settings: { ContainerRootPath: 'C:\\c\\1' } })],
        ['GuestRequest', json({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } })],
        ['HcsModifyComputeSystem', json({ ResourcePath: `VirtualMachine/Devices/Scsi/${SCSI0}/Attachments/1`, RequestType: 'Remove' })],
        ['HcsModifyComputeSystem', json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's1' } })],
        ['HcsModifyComputeSystem', json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's2' } })],
      ],
    );
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('the container root counts up per UVM in hex: the 10th container is C:\\c\\a', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    const roots: string[] = [];
    for (let i = 1; i <= 10; i++) {
      const a = await allocateWindowsResources({ id: `c${i}`, spec: spec([L3, L1, `C:\\layers\\s${i}`]), host: b.host, uvm: vm });
      roots.push(a.containerRootInUvm!);
      await a.resources.release({ all: true });
    }
    assert.deepEqual(roots.slice(8), ['C:\\c\\9', 'C:\\c\\a']);
  });

  it('a failed CombinedLayers request releases the scratch disk, then the shares in add order', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    b.host.injectFault({ api: 'GuestRequest', match: (c) => json(c.document).includes('"CombinedLayers"') });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, uvm: vm }));
    assert.match(err.message, /^failed to mount container storage: guest modify: guest RPC failure: /);
    assert.equal(err.op, 'layers.mount');
    const tail = b.host.calls.slice(b.host.calls.findIndex((c) => c.outcome !== undefined && c.outcome !== 'ok') + 1);
    assert.deepEqual(
      tail.map((c) => `${c.api} ${json(c.document)}`),
      [
        `GuestRequest ${json({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } })}`,
        `HcsModifyComputeSystem ${json({ ResourcePath: `VirtualMachine/Devices/Scsi/${SCSI0}/Attachments/1`, RequestType: 'Remove' })}`,
        `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's1' } })}`,
        `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's2' } })}`,
      ],
    );
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('a failed layer share: failed to add VSMB layer: <e>, the earlier share removed', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    b.host.injectFault({ api: 'HcsModifyComputeSystem', nth: 2 });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, uvm: vm }));
    assert.match(err.message, /^failed to mount container storage: failed to add VSMB layer: hcs::System::Modify pod1@vm: /);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('a failed scratch attach: failed to add SCSI scratch VHD: failed to modify UVM with new SCSI mount: adding VM resources: …', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => json(c.document).includes('/Attachments/1') });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, uvm: vm }));
    assert.match(err.message, /^failed to mount container storage: failed to add SCSI scratch VHD: failed to modify UVM with new SCSI mount: adding VM resources: hcs::System::Modify pod1@vm: /);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });
});

describe('layers: pod sandbox and missing layer folders', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());
  const sandbox = { annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'p1' } };

  it('V3a: a process-isolated pause container registers its layers like V1', async () => {
    const a = await allocateWindowsResources({ id: 'p1', spec: spec([L3, L1, S], sandbox), host: b.host });
    assert.equal(a.resources.toJSON().layers?.kind, 'layers');
    await a.resources.release({ all: true });
    assert.deepEqual(b.host.snapshot().layers, []);
  });

  it('V3b: a pause container in a UVM leaves its layers to the UVM: release does not remove them', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    const a = await allocateWindowsResources({ id: 'p1', spec: spec([L3, L1, S], sandbox), host: b.host, uvm: vm });
    assert.equal(a.resources.toJSON().layers, undefined);
    await a.resources.release({ all: true });
    const u = b.host.snapshot().uvms['pod1@vm']!;
    assert.deepEqual(u.vsmbShares.map((s) => s.name), ['os', 's1', 's2']);
    assert.deepEqual(u.scsi.map((s) => s.lun), [0, 1]);
    assert.deepEqual(u.guest.combinedLayers.length, 1);
  });

  it('docs/differences.md#difference-11: a failed pause-container allocation in a UVM takes its layers back (hcsshim leaves them in the UVM)', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    await b.file('C:\\data\\x.txt', 'x');
    const s = spec([L3, L1, S], { ...sandbox, mounts: [{ source: 'C:\\data', destination: 'C:\\x' }] });
    // The mount's share fails once the layers are in the UVM (a missing source is a preflight error now).
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => JSON.stringify(c.document ?? {}).includes('data') });
    const err = await rejects(allocateWindowsResources({ id: 'p1', spec: s, host: b.host, uvm: vm }));
    assert.match(err.message, /^failed to add VSMB share to utility VM for mount /);
    assert.ok(b.host.calls.some((c) => c.api === 'GuestRequest' && (c.document as { ResourceType?: string }).ResourceType === 'CombinedLayers'));
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('V3c: container-type sandbox without sandbox-id is rejected before allocation', async () => {
    const s = spec([L3, L1, S], { annotations: { 'io.kubernetes.cri.container-type': 'sandbox' } });
    const err = await rejects(allocateWindowsResources({ id: 'p1', spec: s, host: b.host }));
    assert.equal(err.message, "cannot specify 'io.kubernetes.cri.container-type' without 'io.kubernetes.cri.sandbox-id'");
    assert.equal(err.op, 'validate');
    assert.deepEqual(b.host.calls, []);
  });

  it("V4: absent LayerFolders or Windows: field 'Spec.Windows.Layerfolders' is not populated, no side effects", async () => {
    for (const s of [{ windows: {} }, {}]) {
      const err = await rejects(allocateWindowsResources({ id: 'c1', spec: s, host: b.host }));
      assert.equal(err.message, "field 'Spec.Windows.Layerfolders' is not populated");
      assert.equal(err.code, 'ERR_INVALID_SPEC');
      assert.equal(err.op, 'validate');
    }
    assert.deepEqual(b.host.calls, []);
  });

  it('V4 / docs/differences.md#difference-7: LayerFolders [] is an error, not a crash', async () => {
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([]), host: b.host }));
    assert.equal(err.code, 'ERR_INVALID_SPEC');
    assert.match(err.message, /'Spec\.Windows\.LayerFolders' is empty/);
    assert.deepEqual(b.host.calls, []);
  });

  it('V4 / docs/layers.md#q2-one-layer-folder with docs/differences.md#difference-1: [S] fails before the scratch is created', async () => {
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([S]), host: b.host }));
    assert.equal(err.message, 'failed to mount container storage: need at least two layers - base and scratch');
    assert.deepEqual(b.host.calls, []);
  });
});
