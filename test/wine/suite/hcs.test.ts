// Under wine: the Windows build of the addon, driven through NativeHost, against
// the stand-in HCS DLLs forwarding to the server's SimulatedHost. Each scenario
// must produce the same outcome, the same HCS calls and documents, and the same
// final state as the in-process SimulatedHost.

import * as assert from 'node:assert/strict';
import { allocateWindowsResources } from '../../../lib/allocate';
import { native } from '../../../lib/native';
import { NativeHost } from '../../../lib/host/native';
import type { Host } from '../../../lib/host/types';
import { compare, control, type Setup } from './compare';

const UVM = 'pod1@vm';
const SCSI = 'VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments';
const VSMB = 'VirtualMachine/Devices/VirtualSmb/Shares';
const BASE = 'C:\\layers\\base';
const TOP = 'C:\\layers\\top';
const SCRATCH = 'C:\\layers\\scratch1';

async function same(setup: Setup, scenario: (host: Host) => Promise<unknown>): Promise<unknown> {
  const { simulated, native: n } = await compare(setup, scenario);
  assert.deepEqual(n.outcome, simulated.outcome, 'outcome');
  assert.deepEqual(n.calls, simulated.calls, 'calls and documents');
  assert.deepEqual(n.snapshot, simulated.snapshot, 'final state');
  assert.ok(simulated.calls.length > 0);
  return n.outcome;
}

/** The parents of `scratch` as hcsshim builds them: NameToGuid(basename) per folder. */
async function descriptors(host: Host, folders: string[]) {
  const out = [];
  for (const f of folders) out.push({ layerId: await host.nameToGuid(f.slice(f.lastIndexOf('\\') + 1)), flags: 0, path: f });
  return out;
}

describe('NativeHost under wine equals the simulated host', () => {
  before(() => {
    assert.equal(native().win.available, true, JSON.stringify(native().win.probe()));
  });

  it('VSMB: a read-only layer share is added and removed with the exact documents', async () => {
    await same({ uvms: [{ id: UVM }], dirs: [BASE] }, async (host) => {
      const uvm = await host.openUtilityVm(UVM);
      const options = { ReadOnly: true, ShareRead: true, CacheIo: true, TakeBackupPrivilege: true, PseudoOplocks: true };
      await uvm.modify({ ResourcePath: VSMB, RequestType: 'Add', Settings: { Name: 's1', Path: BASE, Options: options } });
      await uvm.modify({ ResourcePath: VSMB, RequestType: 'Remove', Settings: { Name: 's1' } });
      await uvm.close();
    });
  });

  it('scratch and layers: NameToGuid, CreateSandboxLayer, Activate/Prepare/GetLayerMountPath/Unprepare/Deactivate, ExpandSandboxSize', async () => {
    const outcome = await same({ dirs: [BASE, TOP, SCRATCH] }, async (host) => {
      const parents = await descriptors(host, [TOP, BASE]);
      await host.createSandboxLayer(SCRATCH, parents);
      await host.expandSandboxSize(SCRATCH, 30n * 1024n ** 3n);
      await host.activateLayer(SCRATCH);
      await host.prepareLayer(SCRATCH, parents);
      const mount = await host.getLayerMountPath(SCRATCH);
      await host.unprepareLayer(SCRATCH);
      await host.deactivateLayer(SCRATCH);
      return { parents, mount };
    });
    assert.match(JSON.stringify(outcome), /\\\\\\\\\?\\\\Volume\{/);
  });

  it('SCSI: grant, host attachment, guest MappedVirtualDisk, then removal in hcsshim order', async () => {
    await same({ uvms: [{ id: UVM }], dirs: [BASE, SCRATCH] }, async (host) => {
      await host.createSandboxLayer(SCRATCH, await descriptors(host, [BASE]));
      const vhd = `${SCRATCH}\\sandbox.vhdx`;
      const uvm = await host.openUtilityVm(UVM);
      await host.grantVmAccess(UVM, vhd);
      await uvm.modify({ ResourcePath: `${SCSI}/1`, RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: vhd } });
      await uvm.guestRequest({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } });
      await uvm.guestRequest({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } });
      await uvm.modify({ ResourcePath: `${SCSI}/1`, RequestType: 'Remove' });
    });
  });

  it('CCG: AddInstance, the instance query, RemoveInstance through the HCS service calls', async () => {
    const outcome = await same({}, async (host) => {
      const spec = JSON.stringify({ CmsPlugins: ['ActiveDirectory'], DomainJoinConfig: { DnsName: 'contoso.com' } });
      await host.modifyServiceSettings({
        PropertyType: 'ContainerCredentialGuard',
        Settings: { Operation: 'AddInstance', OperationDetails: { Id: 'c1', CredentialSpec: spec, Transport: 'LRPC' } },
      });
      const props = await host.getServiceProperties({ PropertyTypes: ['ContainerCredentialGuard'] });
      await host.modifyServiceSettings({
        PropertyType: 'ContainerCredentialGuard',
        Settings: { Operation: 'RemoveInstance', OperationDetails: { Id: 'c1' } },
      });
      return props;
    });
    assert.match(JSON.stringify(outcome), /"Id":"c1"/);
  });

  it('exec: a guest process runs (HcsCreateProcess) and its exit code and output come back through the pipes', async () => {
    const outcome = await same(
      { uvms: [{ id: UVM }], faults: [{ api: 'Exec', nth: 2, exitCode: 3, stdout: 'out: ünïcødé ✓\r\n', stderr: 'err line\r\n' }] },
      async (host) => {
        const uvm = await host.openUtilityVm(UVM);
        const made = await uvm.exec({ CommandLine: 'cmd /c mkdir C:\\c\\1\\data', CreateStdOutPipe: true, CreateStdErrPipe: true });
        const failed = await uvm.exec({ CommandLine: 'cmd /c exit 3', CreateStdOutPipe: true, CreateStdErrPipe: true });
        return { made, failed };
      },
    );
    assert.deepEqual((outcome as { value: { failed: unknown } }).value.failed, { exitCode: 3, stdout: 'out: ünïcødé ✓\r\n', stderr: 'err line\r\n' });
  });

  it('an injected HRESULT on HcsModifyComputeSystem surfaces as WcowError with the hresult and the HCS error events', async () => {
    const result = {
      Error: 0x80070005 | 0,
      ErrorMessage: 'Access is denied.',
      ErrorEvents: [{ Message: 'The VSMB share could not be added', Provider: '17103e3f-3c6e-4677-bb17-3b267eb5be57', EventId: 12 }],
    };
    const outcome = (await same({ uvms: [{ id: UVM }], dirs: [BASE], faults: [{ api: 'HcsModifyComputeSystem', hresult: 0x80070005 | 0, result }] }, async (host) => {
      const uvm = await host.openUtilityVm(UVM);
      await uvm.modify({ ResourcePath: VSMB, RequestType: 'Add', Settings: { Name: 's1', Path: BASE, Options: { ReadOnly: true } } });
    })) as { error: { code: string; hresult: string; message: string; result: unknown } };
    assert.equal(outcome.error.code, 'ERR_HCS');
    assert.equal(outcome.error.hresult, '0x80070005');
    assert.deepEqual(outcome.error.result, result);
    assert.equal(
      outcome.error.message,
      'hcs::System::Modify pod1@vm: Access is denied.\n[Event Detail: The VSMB share could not be added Provider: 17103e3f-3c6e-4677-bb17-3b267eb5be57 EventID: 12]',
    );
  });

  it('an injected vmcompute failure reads as hcsshim words it', async () => {
    const outcome = (await same({ dirs: [BASE, SCRATCH], faults: [{ api: 'ActivateLayer', hresult: 0x80070015 | 0 }] }, async (host) => {
      await host.createSandboxLayer(SCRATCH, await descriptors(host, [BASE]));
      await host.activateLayer(SCRATCH);
    })) as { error: { message: string; hresult: string } };
    assert.equal(outcome.error.message, 'hcsshim::ActivateLayer failed in Win32: The device is not ready. (0x15)');
    assert.equal(outcome.error.hresult, '0x80070015');
  });

  it('non-ASCII paths survive UTF-16 both ways (arguments, descriptors, documents, mount paths)', async () => {
    const base = 'C:\\layers\\bäse-層-😀';
    const scratch = 'C:\\layers\\scrätch-層-😀';
    await same({ uvms: [{ id: 'pöd-😀@vm' }], dirs: [base, scratch] }, async (host) => {
      const parents = await descriptors(host, [base]);
      await host.createSandboxLayer(scratch, parents);
      await host.activateLayer(scratch);
      await host.prepareLayer(scratch, parents);
      const mount = await host.getLayerMountPath(scratch);
      const uvm = await host.openUtilityVm('pöd-😀@vm');
      await uvm.modify({ ResourcePath: VSMB, RequestType: 'Add', Settings: { Name: 's1', Path: base, Options: { ReadOnly: true } } });
      return mount;
    });
  });

  it('virtdisk and computestorage receive the SDK parameter layout (differencing parent path at offset 48)', async () => {
    const win = native().win;
    await control('reset');
    const parent = 'C:\\vhd\\pärent-層.vhdx';
    const disk = await win.createVirtualDisk('C:\\vhd\\child.vhdx', { parentPath: parent, blockSizeInBytes: 1 << 20, openFlags: 8 });
    await win.attachVirtualDisk(disk, { flags: 0x10 });
    const physical = await win.getVirtualDiskPhysicalPath(disk);
    await win.formatWritableLayerVhd(disk);
    const mount = await win.getLayerVhdMountPath(disk);
    await win.detachVirtualDisk(disk);
    assert.equal(win.closeHandle(disk), true);
    assert.equal(win.closeHandle(disk), false);
    const calls = await control<{ api: string; args: string[] }[]>('storageCalls');
    const create = calls[0]!;
    // [handle, path, version, maximumSize, blockSize, sectorSize, physicalSectorSize, parentPath, openFlags, flags, access]
    assert.deepEqual(create.args.slice(1), ['C:\\vhd\\child.vhdx', '2', '0', String(1 << 20), '0', '0', parent, '8', '0', '0']);
    assert.deepEqual(calls.map((c) => c.api), [
      'CreateVirtualDisk', 'AttachVirtualDisk', 'GetVirtualDiskPhysicalPath', 'HcsFormatWritableLayerVhd', 'HcsGetLayerVhdMountPath', 'DetachVirtualDisk',
    ]);
    assert.deepEqual(calls[1]!.args.slice(1), ['2', String(0x10)]);
    assert.equal(physical, '\\\\.\\PhysicalDrive3');
    assert.match(mount, /^\\\\\?\\Volume\{/);
    // one handle throughout
    assert.equal(new Set(calls.map((c) => c.args[0])).size, 1);
  });

  // The engine end to end (hcsshim allocateWindowsResources), allocation then release.
  const L3 = 'C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e';
  const L1 = 'C:\\layers\\f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e';
  const engineSetup: Setup = { uvms: [{ id: UVM }], dirs: [L3, L1, SCRATCH, 'C:\\data\\ro', 'C:\\data\\rw'] };
  const mounts = [
    { source: 'C:\\data\\ro', destination: 'C:\\ro', options: ['ro'] },
    { source: 'C:\\data\\rw', destination: 'C:\\rw' },
  ];

  it('engine, hypervisor-isolated: allocate (layers, scratch, mounts) and release send the same documents', async () => {
    const outcome = await same(engineSetup, async (host) => {
      const uvm = await host.openUtilityVm(UVM);
      const a = await allocateWindowsResources({ id: 'c1', spec: { mounts, windows: { layerFolders: [L3, L1, SCRATCH] } }, host, uvm });
      const document = a.containerDocument();
      await a.resources.release({ all: true });
      return { document, root: a.containerRootInUvm, spec: a.spec };
    });
    assert.match(JSON.stringify(outcome), /"root":"C:\\\\c\\\\1"/);
  });

  it('engine, process-isolated: host layers (activate, prepare, mount path) and release', async () => {
    await same(engineSetup, async (host) => {
      const a = await allocateWindowsResources({ id: 'c2', spec: { mounts, windows: { layerFolders: [L3, L1, SCRATCH] } }, host });
      const document = a.containerDocument();
      await a.resources.release({ all: true });
      return { document, spec: a.spec };
    });
  });

  it('NativeHost does not create utility VMs (the runtime does), and says so', async () => {
    await assert.rejects(new NativeHost().createUtilityVm({ id: UVM }), { code: 'ERR_OPERATION_DENIED' });
  });
});
