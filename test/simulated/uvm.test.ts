import * as assert from 'node:assert/strict';
import { SimulatedHost } from '../../lib/host/simulated';
import type { UtilityVm } from '../../lib/host/types';
import { CONTROLLER, SHARES, makeDir, makeFile, newHost, rejection, scsiPath } from './support';

const LAYER_OPTIONS = { ReadOnly: true, ShareRead: true, CacheIo: true, TakeBackupPrivilege: true, PseudoOplocks: true };

describe('simulated host: utility VM devices (HcsModifyComputeSystem)', () => {
  let host: SimulatedHost;
  let uvm: UtilityVm;
  beforeEach(async () => {
    host = newHost();
    makeDir(host.root, 'C:\\layers\\L1');
    makeFile(host.root, 'C:\\data\\cfg\\app.json');
    makeFile(host.root, 'C:\\disks\\data.vhdx');
    uvm = await host.createUtilityVm({ id: 'pod1@vm' });
  });

  it('a fresh UVM holds only its own scratch at LUN 0 and the os share', () => {
    const snap = host.snapshot().uvms['pod1@vm']!;
    assert.deepEqual(snap, SimulatedHost.baseline({ id: 'pod1@vm' }));
    assert.deepEqual(
      snap.scsi.map((s) => [s.controller, s.lun, s.type, s.readOnly, s.guestPath]),
      [[CONTROLLER, 0, 'VirtualDisk', false, null]],
    );
    assert.deepEqual(snap.vsmbShares.map((s) => [s.name, s.options]), [['os', LAYER_OPTIONS]]);
    assert.deepEqual([snap.mappedPipes, snap.vpciDevices, snap.hvSocketServices], [[], [], []]);
    assert.deepEqual(snap.guest, { mappedVirtualDisks: [], combinedLayers: [], directories: [], drivers: [] });
  });

  it('a duplicate UVM id fails like HcsCreateComputeSystem', async () => {
    const err = await rejection(host.createUtilityVm({ id: 'pod1@vm' }));
    assert.equal(err.code, 'ERR_HCS');
    assert.equal(err.hresult, '0xC037010F');
    assert.equal(
      err.message,
      'hcs::CreateComputeSystem pod1@vm: A virtual machine or container with the specified identifier already exists.\n' +
        '[Event Detail: a compute system with id pod1@vm already exists]',
    );
  });

  it('opening an unknown UVM fails with HCS_E_SYSTEM_NOT_FOUND; a known one shares the state', async () => {
    const err = await rejection(host.openUtilityVm('nope@vm'));
    assert.match(err.message, /^hcs::OpenComputeSystem nope@vm: A virtual machine or container with the specified identifier does not exist\./);
    const other = await host.openUtilityVm('pod1@vm');
    await other.modify({ ResourcePath: SHARES, RequestType: 'Add', Settings: { Name: 's1', Path: 'C:\\layers\\L1', Options: LAYER_OPTIONS } });
    assert.deepEqual(host.snapshot().uvms['pod1@vm']!.vsmbShares.map((s) => s.name), ['os', 's1']);
  });

  it('a closed handle is refused with E_HANDLE, the UVM lives on', async () => {
    await uvm.close();
    const err = await rejection(uvm.modify({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 'os' } }));
    assert.equal(err.message, 'hcs::System::Modify pod1@vm: The handle is invalid.\n[Event Detail: the handle has already been closed]');
    assert.ok(host.snapshot().uvms['pod1@vm']);
  });

  describe('VSMB shares', () => {
    const add = { ResourcePath: SHARES, RequestType: 'Add' as const, Settings: { Name: 's1', Path: 'C:\\layers\\L1', Options: LAYER_OPTIONS } };

    it('adds, rejects a duplicate name, removes, and rejects removing an unknown share', async () => {
      await uvm.modify(add);
      const dup = await rejection(uvm.modify(add));
      assert.equal(dup.hresult, '0x800700B7');
      assert.equal(dup.message, "hcs::System::Modify pod1@vm: Cannot create a file when that file already exists.\n[Event Detail: VSMB share 's1' already exists]");
      const os = await rejection(uvm.modify({ ...add, Settings: { ...add.Settings, Name: 'os' } }));
      assert.equal(os.hresult, '0x800700B7');
      await uvm.modify({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 's1' } });
      const gone = await rejection(uvm.modify({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 's1' } }));
      assert.equal(gone.hresult, '0x80070490');
      assert.equal(gone.message, "hcs::System::Modify pod1@vm: Element not found.\n[Event Detail: VSMB share 's1' does not exist]");
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.vsmbShares.map((s) => s.name), ['os']);
    });

    it('a file share grows its AllowedFiles through Update of an existing share only', async () => {
      makeFile(host.root, 'C:\\data\\cfg\\b.json');
      const file = { RestrictFileAccess: true, SingleFileMapping: true };
      const update = { ResourcePath: SHARES, RequestType: 'Update' as const, Settings: { Name: 's3', Path: 'C:\\data\\cfg', AllowedFiles: ['C:\\data\\cfg\\app.json', 'C:\\data\\cfg\\b.json'], Options: file } };
      const early = await rejection(uvm.modify(update));
      assert.equal(early.hresult, '0x80070490');
      await uvm.modify({ ResourcePath: SHARES, RequestType: 'Add', Settings: { Name: 's3', Path: 'C:\\data\\cfg', AllowedFiles: ['C:\\data\\cfg\\app.json'], Options: file } });
      await uvm.modify(update);
      const share = host.snapshot().uvms['pod1@vm']!.vsmbShares.find((s) => s.name === 's3')!;
      assert.deepEqual(share, { name: 's3', path: 'C:\\data\\cfg', options: file, allowedFiles: ['C:\\data\\cfg\\app.json', 'C:\\data\\cfg\\b.json'] });
      const moved = await rejection(uvm.modify({ ...update, Settings: { ...update.Settings, Path: 'C:\\layers\\L1', AllowedFiles: [] } }));
      assert.equal(moved.hresult, '0x80070057');
    });

    it('the share path and allowed files must exist on the host', async () => {
      const missing = await rejection(uvm.modify({ ...add, Settings: { ...add.Settings, Path: 'C:\\nope' } }));
      assert.equal(missing.message, "hcs::System::Modify pod1@vm: The system cannot find the file specified.\n[Event Detail: VSMB share path 'C:\\nope' was not found]");
      const file = await rejection(
        uvm.modify({ ...add, Settings: { Name: 's2', Path: 'C:\\data\\cfg', AllowedFiles: ['C:\\data\\cfg\\gone.json'], Options: { RestrictFileAccess: true } } }),
      );
      assert.equal(file.hresult, '0x80070002');
    });

    it('a UVM without writable shares refuses a writable share, accepts a read-only one', async () => {
      const ro = await host.createUtilityVm({ id: 'ro@vm', noWritableFileShares: true });
      assert.equal(ro.noWritableFileShares, true);
      const err = await rejection(ro.modify({ ResourcePath: SHARES, RequestType: 'Add', Settings: { Name: 's1', Path: 'C:\\layers\\L1', Options: {} } }));
      assert.equal(err.hresult, '0x80070005');
      assert.match(err.message, /^hcs::System::Modify ro@vm: Access is denied\.\n\[Event Detail: writable VSMB shares are disabled/);
      await ro.modify(add);
    });

    it('paths are found case-insensitively like NTFS', async () => {
      await uvm.modify({ ...add, Settings: { ...add.Settings, Path: 'c:\\LAYERS\\l1' } });
      assert.equal(host.snapshot().uvms['pod1@vm']!.vsmbShares[1]!.path, 'c:\\LAYERS\\l1');
    });
  });

  describe('SCSI', () => {
    const disk = 'C:\\disks\\data.vhdx';
    const addDisk = (lun: number, extra: Record<string, unknown> = {}) =>
      uvm.modify({ ResourcePath: scsiPath(lun), RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: disk, ...extra } });

    it('attaches a granted disk at a free LUN and removes it', async () => {
      await host.grantVmAccess('pod1@vm', disk);
      await addDisk(2, { ReadOnly: true });
      const scsi = host.snapshot().uvms['pod1@vm']!.scsi;
      assert.deepEqual(scsi[1], { controller: CONTROLLER, lun: 2, type: 'VirtualDisk', path: disk, readOnly: true, guestPath: null });
      await uvm.modify({ ResourcePath: scsiPath(2), RequestType: 'Remove' });
      assert.deepEqual(host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
    });

    it('refuses a disk the VM was not granted access to', async () => {
      const err = await rejection(addDisk(1));
      assert.equal(err.hresult, '0x80070005');
      assert.equal(err.message, "hcs::System::Modify pod1@vm: Access is denied.\n[Event Detail: virtual machine pod1@vm has not been granted access to 'C:\\disks\\data.vhdx']");
    });

    it('refuses a missing disk, an occupied or reserved LUN, LUN 64, an unknown controller', async () => {
      assert.equal((await rejection(uvm.modify({ ResourcePath: scsiPath(1), RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: 'C:\\disks\\gone.vhdx' } }))).hresult, '0x80070002');
      await host.grantVmAccess('pod1@vm', disk);
      const lun0 = await rejection(addDisk(0));
      assert.equal(lun0.message, `hcs::System::Modify pod1@vm: Cannot create a file when that file already exists.\n[Event Detail: SCSI controller ${CONTROLLER} LUN 0 is already in use]`);
      assert.equal((await rejection(addDisk(64))).hresult, '0x80070057');
      const ctl = await rejection(uvm.modify({ ResourcePath: scsiPath(1, '0110f83b-de10-5172-a266-78bca56bf50a'), RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: disk } }));
      assert.equal(ctl.hresult, '0x80070490');
      await addDisk(1, { ReadOnly: true });
      const occupied = await rejection(addDisk(1, { ReadOnly: true }));
      assert.equal(occupied.hresult, '0x800700B7');
    });

    it('a writable disk cannot be attached twice; two read-only attachments can', async () => {
      await host.grantVmAccess('pod1@vm', disk);
      await addDisk(1, { ReadOnly: true });
      await addDisk(2, { ReadOnly: true });
      const err = await rejection(addDisk(3));
      assert.equal(err.hresult, '0x80070020');
    });

    it('removing an empty LUN or LUN 0 fails', async () => {
      assert.equal((await rejection(uvm.modify({ ResourcePath: scsiPath(5), RequestType: 'Remove' }))).hresult, '0x80070490');
      assert.equal((await rejection(uvm.modify({ ResourcePath: scsiPath(0), RequestType: 'Remove' }))).hresult, '0x80070057');
    });

    it('pass-through needs an existing physical drive; extensible virtual disks are taken as given', async () => {
      const pd = '\\\\.\\PHYSICALDRIVE2';
      const missing = await rejection(host.grantVmAccess('pod1@vm', pd));
      assert.equal(missing.message, 'hcsshim::GrantVmAccess failed in Win32: The system cannot find the file specified. (0x2)');
      host.addPhysicalDrive(2);
      await host.grantVmAccess('pod1@vm', pd);
      await uvm.modify({ ResourcePath: scsiPath(2), RequestType: 'Add', Settings: { Type: 'PassThru', Path: pd } });
      await uvm.modify({ ResourcePath: scsiPath(3), RequestType: 'Add', Settings: { Type: 'ExtensibleVirtualDisk', Path: '{pool}{vdisk}', ExtensibleVirtualDiskType: 'space' } });
      assert.deepEqual(
        host.snapshot().uvms['pod1@vm']!.scsi.slice(1).map((s) => [s.lun, s.type, s.path, s.extensibleVirtualDiskType]),
        [[2, 'PassThru', pd, undefined], [3, 'ExtensibleVirtualDisk', '{pool}{vdisk}', 'space']],
      );
    });

    it('a modify with a GuestRequest mounts in the guest after the host part, recording both calls', async () => {
      await host.grantVmAccess('pod1@vm', disk);
      host.clearCalls();
      const doc = {
        ResourcePath: scsiPath(2),
        RequestType: 'Add' as const,
        Settings: { Type: 'VirtualDisk' as const, Path: disk, ReadOnly: true },
        GuestRequest: { RequestType: 'Add' as const, ResourceType: 'MappedVirtualDisk' as const, Settings: { ContainerPath: 'C:\\mounts\\m1', Lun: 2 } },
      };
      await uvm.modify(doc);
      assert.deepEqual(
        host.calls.map((c) => [c.api, c.target, c.document, c.outcome]),
        [
          ['HcsModifyComputeSystem', 'pod1@vm', doc, 'ok'],
          ['GuestRequest', 'pod1@vm', doc.GuestRequest, 'ok'],
        ],
      );
      assert.equal(host.snapshot().uvms['pod1@vm']!.scsi[1]!.guestPath, 'C:\\mounts\\m1');
    });

    it('when the forwarded guest part fails the host part is undone', async () => {
      await host.grantVmAccess('pod1@vm', disk);
      const err = await rejection(
        uvm.modify({
          ResourcePath: scsiPath(2),
          RequestType: 'Add',
          Settings: { Type: 'VirtualDisk', Path: disk },
          GuestRequest: { RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\mounts\\m1', Lun: 3 } },
        }),
      );
      assert.equal(err.code, 'ERR_HCS');
      assert.equal(err.message, 'hcs::System::Modify pod1@vm: Element not found.\n[Event Detail: guest RPC failure: no SCSI disk is attached at LUN 3]');
      assert.deepEqual(host.calls.slice(-2).map((c) => [c.api, c.outcome]), [['HcsModifyComputeSystem', 'ERR_HCS'], ['GuestRequest', 'ERR_GUEST']]);
      assert.deepEqual(host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
    });
  });

  describe('mapped pipes, VPCI, hvsocket', () => {
    const pipe = 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo';
    const vpci = 'VirtualMachine/Devices/VirtualPci/3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e';
    const device = { Functions: [{ DeviceInstancePath: 'PCIP\\VEN_10DE&DEV_1EB8\\6&2A0A8D3B&0&0000' }] };
    const service = 'VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/7f1b5c9e-0d7a-4e0b-9a4f-6f1c2d3e4b5a';

    it('pipes: add once, remove once', async () => {
      await uvm.modify({ ResourcePath: pipe, RequestType: 'Add' });
      assert.equal((await rejection(uvm.modify({ ResourcePath: pipe, RequestType: 'Add' }))).hresult, '0x800700B7');
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.mappedPipes, ['\\\\.\\pipe\\foo']);
      await uvm.modify({ ResourcePath: pipe, RequestType: 'Remove' });
      assert.equal((await rejection(uvm.modify({ ResourcePath: pipe, RequestType: 'Remove' }))).hresult, '0x80070490');
      assert.equal((await rejection(uvm.modify({ ResourcePath: 'VirtualMachine/Devices/MappedPipes/C:\\x', RequestType: 'Add' }))).hresult, '0x80070057');
    });

    it('VPCI: a device function is assigned once, removal of an unknown GUID fails', async () => {
      await uvm.modify({ ResourcePath: vpci, RequestType: 'Add', Settings: device });
      const again = await rejection(uvm.modify({ ResourcePath: 'VirtualMachine/Devices/VirtualPci/4f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e', RequestType: 'Add', Settings: device }));
      assert.equal(again.hresult, '0x80070020');
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.vpciDevices, [{ vmBusGuid: '3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e', functions: device.Functions }]);
      await uvm.modify({ ResourcePath: vpci, RequestType: 'Remove' });
      assert.equal((await rejection(uvm.modify({ ResourcePath: vpci, RequestType: 'Remove' }))).hresult, '0x80070490');
    });

    it('hvsocket: Update creates and replaces, Disabled removes, Remove of a missing entry fails', async () => {
      const config = { BindSecurityDescriptor: 'D:P(A;;FA;;;SY)', ConnectSecurityDescriptor: 'D:P(A;;FA;;;SY)', AllowWildcardBinds: true };
      await uvm.modify({ ResourcePath: service, RequestType: 'Update', Settings: config });
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.hvSocketServices, [{ serviceId: '7f1b5c9e-0d7a-4e0b-9a4f-6f1c2d3e4b5a', config }]);
      await uvm.modify({ ResourcePath: service, RequestType: 'Update', Settings: { Disabled: true } });
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.hvSocketServices, []);
      assert.equal((await rejection(uvm.modify({ ResourcePath: service, RequestType: 'Remove' }))).hresult, '0x80070490');
      await uvm.modify({ ResourcePath: service, RequestType: 'Update', Settings: config });
      await uvm.modify({ ResourcePath: service, RequestType: 'Remove' });
      assert.deepEqual(host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
    });

    it('an unknown resource path is refused', async () => {
      const err = await rejection(uvm.modify({ ResourcePath: 'VirtualMachine/Devices/Plan9/Shares', RequestType: 'Add' }));
      assert.equal(err.message, "hcs::System::Modify pod1@vm: The parameter is incorrect.\n[Event Detail: unknown resource path 'VirtualMachine/Devices/Plan9/Shares']");
    });
  });
});
