// Counters, state identity, pipes (docs/mounts.md#named-pipes, V4), VPCI (docs/layers.md#devices-in-a-utility-vm), guest processes.
import assert from 'node:assert/strict';
import { uvmState } from '../../lib/uvm';
import { line, world } from './helpers';

const hcs = (doc: unknown): string => line('HcsModifyComputeSystem', doc);
const PCI = 'PCIP\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\6&2A0A8D3B&0&0000';

describe('uvm state', () => {
  it('one state per UtilityVm object; counters start at 1 and never go back', () => {
    const { host, vm, uvm } = world();
    assert.equal(uvmState(host, vm), uvm);
    assert.notEqual(uvmState(host, host.uvm('pod1@vm')), uvm, 'another handle is another client state');
    assert.deepEqual([uvm.containerCounter(), uvm.containerCounter(), uvm.mountCounter()], [1, 2, 1]);
    assert.equal(uvm.id, 'pod1@vm');
  });

  it('V4: a named pipe is an Add and a Remove without Settings, not refcounted', async () => {
    const { uvm, rec } = world();
    const a = await uvm.addPipe('\\\\.\\pipe\\foo');
    rec.clear();
    await assert.rejects(uvm.addPipe('\\\\.\\pipe\\foo'), { message: 'hcs::System::Modify pod1@vm: Element not found.' }, 'a second Add is its own call, which HCS refuses here');
    await a.release();
    await a.release();
    assert.deepEqual(rec.trace(), [
      hcs({ ResourcePath: 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo', RequestType: 'Add' }),
      hcs({ ResourcePath: 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo', RequestType: 'Remove' }),
    ]);
    assert.equal(JSON.stringify(a.describe()), '{"kind":"pipe","uvmId":"pod1@vm","hostPath":"\\\\\\\\.\\\\pipe\\\\foo"}');
  });

  it('a failed pipe removal is `failed to remove pipe mount: <e>` and can be retried', async () => {
    const { uvm, rec } = world();
    const p = await uvm.addPipe('\\\\.\\pipe\\foo');
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(p.release(), { message: 'failed to remove pipe mount: hcs::System::Modify pod1@vm: Unspecified error' });
    await p.release();
    assert.equal(rec.calls.filter((c) => c.outcome === 'ok').length, 2);
  });

  it('VPCI: one Add per (device, function) with a fresh lower-case VMBus GUID; VirtualFunction omitted when 0', async () => {
    const { uvm, rec } = world();
    const d0 = await uvm.assignDevice(PCI, 0);
    const d0b = await uvm.assignDevice(PCI, 0);
    const d2 = await uvm.assignDevice(PCI, 2);
    assert.match(d0.vmBusGuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(d0b.vmBusGuid, d0.vmBusGuid);
    assert.notEqual(d2.vmBusGuid, d0.vmBusGuid);
    assert.equal(d0.vmBusInstanceId, `VMBUS\\{44c4f61d-4444-4400-9d52-802e27ede19f}\\{${d0.vmBusGuid}}`);
    assert.deepEqual(rec.trace(), [
      hcs({ ResourcePath: `VirtualMachine/Devices/VirtualPci/${d0.vmBusGuid}`, RequestType: 'Add', Settings: { Functions: [{ DeviceInstancePath: PCI }] } }),
      hcs({ ResourcePath: `VirtualMachine/Devices/VirtualPci/${d2.vmBusGuid}`, RequestType: 'Add', Settings: { Functions: [{ DeviceInstancePath: PCI, VirtualFunction: 2 }] } }),
    ]);
    assert.deepEqual(uvm.refcounts().vpci.map((d) => [d.index, d.refCount]), [[0, 2], [2, 1]]);
    rec.clear();
    await d0.release();
    assert.deepEqual(rec.trace(), []);
    await d0b.release();
    await d2.release();
    assert.deepEqual(rec.trace(), [
      hcs({ ResourcePath: `VirtualMachine/Devices/VirtualPci/${d0.vmBusGuid}`, RequestType: 'Remove' }),
      hcs({ ResourcePath: `VirtualMachine/Devices/VirtualPci/${d2.vmBusGuid}`, RequestType: 'Remove' }),
    ]);
    assert.deepEqual(uvm.refcounts().vpci, []);
  });

  it('VPCI errors: the assignment wording with the id type, and an unknown device on removal', async () => {
    const { uvm, rec } = world();
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(uvm.assignDevice(PCI, 0, 'vpci-instance-id'), {
      code: 'ERR_HCS',
      message: `failed to assign device ${PCI} of type vpci-instance-id to pod pod1@vm: hcs::System::Modify pod1@vm: Unspecified error`,
    });
    assert.deepEqual(uvm.refcounts().vpci, []);
    await assert.rejects(uvm.removeDevice(PCI, 3), { code: 'ERR_NOT_FOUND', message: `no device with ID ${PCI} and index 3 is present on the uvm pod1@vm` });
  });

  it('a failed VPCI removal keeps the device so the release can be retried', async () => {
    const { uvm, rec } = world();
    const d = await uvm.assignDevice(PCI, 0);
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(d.release(), { message: 'failed to remove VPCI device: hcs::System::Modify pod1@vm: Unspecified error' });
    assert.deepEqual(uvm.refcounts().vpci.map((e) => e.refCount), [0]);
    await d.release();
    assert.deepEqual(uvm.refcounts().vpci, []);
    assert.equal(JSON.stringify(Object.keys(d.describe())), '["kind","uvmId","pciId","index","vmBusGuid"]');
  });

  it('exec: hcsshim\'s own processes run as SYSTEM in C:\\ with an EscapeArg command line', async () => {
    const { uvm, rec, vm } = world();
    vm.execResult = { exitCode: 1, stdout: '', stderr: 'X' };
    const result = await uvm.exec(['cmd', '/c', 'mkdir', 'C:\\SandboxMounts\\my dir', '&', 'dir', 'C:\\SandboxMounts\\my dir'], { stderr: true });
    assert.deepEqual(result, { exitCode: 1, stdout: '', stderr: 'X' });
    assert.deepEqual(rec.trace(), [
      'Exec {"CommandLine":"cmd /c mkdir \\"C:\\\\SandboxMounts\\\\my dir\\" & dir \\"C:\\\\SandboxMounts\\\\my dir\\"","User":"NT AUTHORITY\\\\SYSTEM","WorkingDirectory":"C:\\\\","CreateStdErrPipe":true}',
    ]);
    rec.clear();
    await uvm.exec(['device-util.exe', 'children'], { stdout: true });
    assert.deepEqual(rec.trace(), ['Exec {"CommandLine":"device-util.exe children","User":"NT AUTHORITY\\\\SYSTEM","WorkingDirectory":"C:\\\\","CreateStdOutPipe":true}']);
  });
});
