// Assigned devices and guest drivers (docs/layers.md#vectors V7-V9, docs/layers.md#assigned-devices,
// docs/layers.md#guest-drivers) and docs/differences.md#difference-4.

import * as assert from 'node:assert/strict';
import { allocateWindowsResources } from '../../lib/allocate';
import { SimulatedHost } from '../../lib/host/simulated';
import type { UtilityVm } from '../../lib/host/types';
import { bench, json, L1, L3, S, SH, spec, VSMB_SHARES, type Bench, rejects } from '../allocate/fixtures';

const CLASS = { id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'class' };
const LOCATION = { id: 'PCIROOT(0)#PCI(0300)#PCI(0000)', idType: 'vpci-location-path' };
const GPU = 'PCIP\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\6&2A0A8D3B&0&0000';
const TOOL = 'C:\\ContainerPlat\\device-util.exe';
const VMBUS = /^VirtualMachine\/Devices\/VirtualPci\/([0-9a-f-]{36})$/;

const withDevices = (devices: object[], annotations?: Record<string, string>) =>
  spec([L3, L1, S], annotations === undefined ? {} : { annotations }, { devices });

describe('devices: process isolation (document only, docs/layers.md#devices-in-the-container-document)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it('V7 class GUID and V8 location path: nothing allocated, AssignedDevices in the document', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withDevices([CLASS, LOCATION]), host: b.host });
    assert.ok(!b.host.calls.some((c) => c.api === 'HcsModifyComputeSystem'));
    assert.equal(
      json(a.containerDocument().AssignedDevices),
      json([{ InterfaceClassGuid: CLASS.id }, { Type: 'DeviceInstance', LocationPath: LOCATION.id }]),
    );
    assert.deepEqual(a.spec.windows!.devices, [CLASS, LOCATION]);
    await a.resources.release({ all: true });
  });

  it('an instance id cannot go to a process-isolated document: rejected up front', async () => {
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withDevices([{ id: GPU, idType: 'vpci' }]), host: b.host }));
    assert.equal(err.message, `specified device ${GPU} has unsupported type vpci`);
    assert.deepEqual(b.host.calls, []);
  });

  it('V9 Argon: the kernel-drivers annotation is ignored', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withDevices([], { 'io.microsoft.virtualmachine.kerneldrivers': 'C:\\missing' }), host: b.host });
    await a.resources.release({ all: true });
  });
});

describe('devices: hypervisor isolation (docs/layers.md#devices-in-a-utility-vm)', () => {
  let b: Bench;
  let vm: UtilityVm;
  beforeEach(async () => {
    b = await bench();
    await b.file(TOOL, 'MZ');
    vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
  });
  afterEach(() => b.done());

  it('V8: device-util shared as a single file, VPCI Add, device-util children, devices rewritten to location paths', async () => {
    b.host.setDeviceLocationPaths(GPU, ['PCIROOT(0)#PCI(0300)#PCI(0000)', 'PCIROOT(0)#PCI(0301)#PCI(0000)']);
    const a = await allocateWindowsResources({ id: 'c1', spec: withDevices([{ id: GPU, idType: 'vpci' }]), host: b.host, uvm: vm });
    const calls = b.host.calls.filter((c) => c.api === 'HcsModifyComputeSystem' || c.api === 'Exec').slice(3);
    assert.equal(
      json(calls[0]!.document),
      json({
        ResourcePath: VSMB_SHARES,
        RequestType: 'Add',
        Settings: {
          Name: 's3',
          Path: 'C:\\ContainerPlat',
          AllowedFiles: [TOOL],
          Options: { ReadOnly: true, ShareRead: true, CacheIo: true, RestrictFileAccess: true, PseudoOplocks: true, SingleFileMapping: true },
        },
      }),
    );
    const vpci = calls[1]!.document as { ResourcePath: string };
    const guid = VMBUS.exec(vpci.ResourcePath)![1]!;
    assert.equal(json(vpci), json({ ResourcePath: vpci.ResourcePath, RequestType: 'Add', Settings: { Functions: [{ DeviceInstancePath: GPU }] } }));
    assert.equal(
      (calls[2]!.document as { CommandLine: string }).CommandLine,
      `${SH}\\s3\\device-util.exe children --parentID=VMBUS\\{44c4f61d-4444-4400-9d52-802e27ede19f}\\{${guid}} --property=location`,
    );
    assert.equal(json(calls[2]!.document), json({ CommandLine: (calls[2]!.document as { CommandLine: string }).CommandLine, User: 'NT AUTHORITY\\SYSTEM', WorkingDirectory: 'C:\\', CreateStdOutPipe: true }));
    assert.deepEqual(a.spec.windows!.devices, [
      { id: 'PCIROOT(0)#PCI(0300)#PCI(0000)', idType: 'vpci-location-path' },
      { id: 'PCIROOT(0)#PCI(0301)#PCI(0000)', idType: 'vpci-location-path' },
    ]);
    assert.equal(
      json(a.containerDocument().AssignedDevices),
      json([
        { Type: 'DeviceInstance', LocationPath: 'PCIROOT(0)#PCI(0300)#PCI(0000)' },
        { Type: 'DeviceInstance', LocationPath: 'PCIROOT(0)#PCI(0301)#PCI(0000)' },
      ]),
    );
    assert.deepEqual(a.resources.toJSON().closers.map((c) => c.kind), ['vsmb', 'vpci']);

    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.deepEqual(
      b.host.calls.slice(before, before + 2).map((c) => json(c.document)),
      [json({ ResourcePath: vpci.ResourcePath, RequestType: 'Remove' }), json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's3' } })],
    );
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('V8: an id ending in a decimal segment is a virtual function — …\\0000\\2 is VF 2 of …\\0000', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withDevices([{ id: GPU + '\\2', idType: 'vpci' }]), host: b.host, uvm: vm });
    const add = b.host.calls.find((c) => VMBUS.test((c.document as { ResourcePath?: string } | undefined)?.ResourcePath ?? ''))!;
    assert.equal(json((add.document as { Settings: unknown }).Settings), json({ Functions: [{ DeviceInstancePath: GPU, VirtualFunction: 2 }] }));
    await a.resources.release({ all: true });
  });

  it('the getDeviceInfoFromPath trap, reproduced: ROOT\\SYSTEM\\0001 is assigned as device ROOT\\SYSTEM, VF 1', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withDevices([{ id: 'ROOT\\SYSTEM\\0001', idType: 'vpci-instance-id' }]), host: b.host, uvm: vm });
    const add = b.host.calls.find((c) => VMBUS.test((c.document as { ResourcePath?: string } | undefined)?.ResourcePath ?? ''))!;
    assert.equal(json((add.document as { Settings: unknown }).Settings), json({ Functions: [{ DeviceInstancePath: 'ROOT\\SYSTEM', VirtualFunction: 1 }] }));
    await a.resources.release({ all: true });
  });

  it('V7 (docs/differences.md#difference-1 and docs/differences.md#difference-4): a class device is rejected before the device-util share is added', async () => {
    const from = b.host.calls.length;
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withDevices([CLASS]), host: b.host, uvm: vm }));
    assert.equal(err.message, `device type class for device ${CLASS.id} is not supported in windows`);
    assert.equal(err.op, 'validate');
    assert.deepEqual(b.host.calls.slice(from), []);
  });

  it('docs/differences.md#difference-4: a failed second assignment releases the first device and the device-util share', async () => {
    const second = 'PCIP\\VEN_8086&DEV_1234\\7&1&0&0000';
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => json(c.document).includes('VEN_8086') });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withDevices([{ id: GPU, idType: 'vpci' }, { id: second, idType: 'vpci' }]), host: b.host, uvm: vm }));
    assert.match(err.message, new RegExp(`^failed to assign device ${second.replace(/[\\&]/g, '\\$&')} of type vpci to pod pod1@vm: hcs::System::Modify pod1@vm: `));
    assert.equal(err.op, 'devices.assign');
    const u = b.host.snapshot().uvms['pod1@vm']!;
    assert.deepEqual(u.vpciDevices, []);
    assert.deepEqual(u, SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('device-util exiting non-zero: failed to find devices with exit code 1, the device released', async () => {
    b.host.injectFault({ api: 'Exec', exitCode: 1, stderr: 'boom' });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withDevices([{ id: GPU, idType: 'vpci' }]), host: b.host, uvm: vm }));
    assert.equal(err.message, 'failed to find devices with exit code 1: process exited with exit code 1');
    assert.equal(err.op, 'devices.assign');
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('a second container with the same device shares the assignment (refcount, no second Add)', async () => {
    const s1 = withDevices([{ id: GPU, idType: 'vpci' }]);
    const a1 = await allocateWindowsResources({ id: 'c1', spec: s1, host: b.host, uvm: vm });
    const a2 = await allocateWindowsResources({ id: 'c2', spec: { ...s1, windows: { ...s1.windows, layerFolders: [L3, L1, 'C:\\layers\\s2'] } }, host: b.host, uvm: vm });
    assert.equal(b.host.calls.filter((c) => VMBUS.test((c.document as { ResourcePath?: string } | undefined)?.ResourcePath ?? '')).length, 1);
    assert.deepEqual(a2.spec.windows!.devices, a1.spec.windows!.devices);
    await a1.resources.release({ all: true });
    assert.equal(b.host.snapshot().uvms['pod1@vm']!.vpciDevices.length, 1);
    await a2.resources.release({ all: true });
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });
});

describe('guest drivers (docs/layers.md#guest-drivers)', () => {
  let b: Bench;
  let vm: UtilityVm;
  const drivers = (v: string) => spec([L3, L1, S], { annotations: { 'io.microsoft.virtualmachine.kerneldrivers': v } });
  beforeEach(async () => {
    b = await bench();
    await b.file('C:\\drivers\\gpu\\gpu.inf');
    await b.file('C:\\drivers\\net\\net.inf');
    vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
  });
  afterEach(() => b.done());

  it('V9: each directory shared read-only and installed with pnputil — once: CreateContainer\'s earlier call is not ours', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: drivers('C:\\drivers\\gpu,C:\\drivers\\net'), host: b.host, uvm: vm });
    const calls = b.host.calls.filter((c) => c.api === 'HcsModifyComputeSystem' || c.api === 'Exec').slice(3);
    const ro = { ReadOnly: true, ShareRead: true, CacheIo: true, PseudoOplocks: true };
    assert.deepEqual(
      calls.map((c) => json(c.document)),
      [
        json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's3', Path: 'C:\\drivers\\gpu', Options: ro } }),
        json({ CommandLine: `cmd /c C:\\Windows\\System32\\pnputil.exe /add-driver ${SH}\\s3/*.inf /subdirs /install`, User: 'NT AUTHORITY\\SYSTEM', WorkingDirectory: 'C:\\' }),
        json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's4', Path: 'C:\\drivers\\net', Options: ro } }),
        json({ CommandLine: `cmd /c C:\\Windows\\System32\\pnputil.exe /add-driver ${SH}\\s4/*.inf /subdirs /install`, User: 'NT AUTHORITY\\SYSTEM', WorkingDirectory: 'C:\\' }),
      ],
    );
    assert.deepEqual(a.resources.toJSON().closers.map((c) => c.kind), ['vsmb', 'vsmb']);
    await a.resources.release({ all: true });
    const base = SimulatedHost.baseline({ id: 'pod1@vm' });
    base.guest.drivers = b.host.snapshot().uvms['pod1@vm']!.guest.drivers; // installed drivers stay installed
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], base);
  });

  it('V9: a missing directory fails before any share is added', async () => {
    const from = b.host.calls.length;
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: drivers('C:\\drivers\\gpu,C:\\missing'), host: b.host, uvm: vm }));
    assert.equal(err.message, 'failed to find path to drivers at C:\\missing: GetFileAttributesEx C:\\missing: The system cannot find the file specified.');
    assert.equal(err.op, 'drivers.install');
    assert.ok(!b.host.calls.slice(from).some((c) => c.mutating));
  });

  it('pnputil exit 259 (no driver ranked higher) is tolerated', async () => {
    b.host.injectFault({ api: 'Exec', exitCode: 259 });
    const a = await allocateWindowsResources({ id: 'c1', spec: drivers('C:\\drivers\\gpu'), host: b.host, uvm: vm });
    assert.equal(a.resources.toJSON().closers.length, 1);
    await a.resources.release({ all: true });
  });

  it('pnputil failing: failed to install driver <uvmPath> in uvm with exit code 1; its share and the earlier ones released', async () => {
    b.host.injectFault({ api: 'Exec', nth: 2, exitCode: 1 });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: drivers('C:\\drivers\\gpu,C:\\drivers\\net'), host: b.host, uvm: vm }));
    assert.equal(err.message, `failed to install driver ${SH}\\s4 in uvm with exit code 1: process exited with exit code 1`);
    assert.equal(err.op, 'drivers.install');
    const u = b.host.snapshot().uvms['pod1@vm']!;
    assert.deepEqual(u.vsmbShares.map((s) => s.name), ['os']);
    assert.deepEqual(u.scsi.map((s) => s.lun), [0]);
  });
});
