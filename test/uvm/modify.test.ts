// hcsshim's uvm.modify split (docs/behaviour.md#delivering-a-modify, docs/mounts.md#adding-an-attachment) and the guest-only requests.
import assert from 'node:assert/strict';
import { WcowError } from '../../lib/errors';
import { onStep, type StepContext } from '../../lib/trace';
import { hostPartLeft } from '../../lib/uvm/modify';
import { SCSI0, world } from './helpers';

const ADD = {
  ResourcePath: `${SCSI0}/5`,
  RequestType: 'Add' as const,
  Settings: { Type: 'VirtualDisk', Path: 'C:\\x.vhdx' },
  GuestRequest: { RequestType: 'Add' as const, ResourceType: 'MappedVirtualDisk' as const, Settings: { ContainerPath: 'C:\\m', Lun: 5 } },
};
const REMOVE = { ResourcePath: `${SCSI0}/5`, RequestType: 'Remove' as const, GuestRequest: { ...ADD.GuestRequest, RequestType: 'Remove' as const } };

describe('uvm modify', () => {
  it('a request without GuestRequest goes to HCS whole, its error unchanged', async () => {
    const { uvm, rec } = world();
    const doc = { ResourcePath: 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\p', RequestType: 'Add' as const };
    await uvm.modify(doc);
    assert.deepEqual(rec.documents('HcsModifyComputeSystem'), [doc]);
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(uvm.modify({ ...doc, ResourcePath: doc.ResourcePath + '2' }), { message: 'hcs::System::Modify pod1@vm: Unspecified error' });
  });

  it('Add: the host part (GuestRequest stripped) first, then the guest request', async () => {
    const { uvm, rec } = world();
    await uvm.modify(ADD);
    assert.deepEqual(rec.trace(), [
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/5","RequestType":"Add","Settings":{"Type":"VirtualDisk","Path":"C:\\\\x.vhdx"}}`,
      'GuestRequest {"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\\\m","Lun":5}}',
    ]);
  });

  it('Add: a failed host part is `adding VM resources: <e>` and the guest is not asked', async () => {
    const { uvm, rec } = world();
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(uvm.modify(ADD), { code: 'ERR_HCS', message: 'adding VM resources: hcs::System::Modify pod1@vm: Unspecified error', hresult: '0x80004005' });
    assert.deepEqual(rec.calls.map((c) => c.api), ['HcsModifyComputeSystem']);
  });

  it('Add: a failed rollback is reported with the guest error (hcsshim only logs it; docs/differences.md#difference-2) and traced', async () => {
    const { uvm, rec } = world();
    const failed: StepContext[] = [];
    const unsubscribe = onStep({ error: (ctx) => failed.push(ctx) });
    try {
      rec.inject({ api: 'GuestRequest' });
      rec.inject({ api: 'HcsModifyComputeSystem', nth: 2 });
      await assert.rejects(uvm.modify(ADD), (err: unknown) => {
        assert.ok(err instanceof WcowError);
        assert.equal(err.code, 'ERR_GUEST');
        assert.equal(err.message, 'guest modify: guest RPC failure: injected (rollback of the host part failed: hcs::System::Modify pod1@vm: Unspecified error)');
        assert.ok(hostPartLeft(err));
        return true;
      });
    } finally {
      unsubscribe();
    }
    assert.deepEqual(rec.calls.map((c) => `${c.api}:${c.outcome}`), ['HcsModifyComputeSystem:ok', 'GuestRequest:ERR_HCS', 'HcsModifyComputeSystem:ERR_HCS']);
    assert.deepEqual(failed.filter((c) => c.kind === 'step').map((c) => [c.step, c.target]), [['uvm.modify.rollback', 'pod1@vm']]);
  });

  it('Remove: the guest first; when it fails the host part is not sent', async () => {
    const { uvm, rec } = world();
    await uvm.modify(ADD);
    rec.clear();
    rec.inject({ api: 'GuestRequest' });
    await assert.rejects(uvm.modify(REMOVE), { message: 'guest modify: guest RPC failure: injected' });
    assert.deepEqual(rec.calls.map((c) => c.api), ['GuestRequest']);
    rec.clear();
    await uvm.modify(REMOVE);
    assert.deepEqual(rec.trace(), [
      'GuestRequest {"RequestType":"Remove","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\\\m","Lun":5}}',
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/5","RequestType":"Remove"}`,
    ]);
  });

  it('Remove: a failed host part after the guest is `removing VM resources: <e>`', async () => {
    const { uvm, rec } = world();
    await uvm.modify(ADD);
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(uvm.modify(REMOVE), { message: 'removing VM resources: hcs::System::Modify pod1@vm: Unspecified error' });
  });

  it('combined layers are guest-only requests; their failure is `guest modify: <e>`', async () => {
    const { uvm, rec } = world();
    await uvm.combineLayers([{ id: '8b2b5c3e-0000-5000-8000-000000000001', path: `\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s1` }], 'C:\\c\\1');
    await uvm.removeCombinedLayers('C:\\c\\1');
    assert.deepEqual(rec.trace(), [
      'GuestRequest {"RequestType":"Add","ResourceType":"CombinedLayers","Settings":{"ContainerRootPath":"C:\\\\c\\\\1","Layers":[{"Id":"8b2b5c3e-0000-5000-8000-000000000001","Path":"\\\\\\\\?\\\\VMSMB\\\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\\\s1"}]}}',
      'GuestRequest {"RequestType":"Remove","ResourceType":"CombinedLayers","Settings":{"ContainerRootPath":"C:\\\\c\\\\1"}}',
    ]);
    rec.inject({ api: 'GuestRequest' });
    await assert.rejects(uvm.removeCombinedLayers('C:\\c\\1'), { code: 'ERR_GUEST', message: 'guest modify: guest RPC failure: injected' });
  });

  it('hvsocket service entries: host-only Update (only the four schema fields) and Remove', async () => {
    const { uvm, rec } = world();
    const config = { BindSecurityDescriptor: 'D:P(A;;FA;;;SY)', ConnectSecurityDescriptor: 'D:P(A;;FA;;;SY)', AllowWildcardBinds: true, Extra: 1 };
    await uvm.updateHvSocketService('{e5e4e5a1-0000-4000-8000-000000000001}', config);
    await uvm.removeHvSocketService('{e5e4e5a1-0000-4000-8000-000000000001}');
    assert.deepEqual(rec.trace(), [
      'HcsModifyComputeSystem {"ResourcePath":"VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/{e5e4e5a1-0000-4000-8000-000000000001}","RequestType":"Update","Settings":{"BindSecurityDescriptor":"D:P(A;;FA;;;SY)","ConnectSecurityDescriptor":"D:P(A;;FA;;;SY)","AllowWildcardBinds":true}}',
      'HcsModifyComputeSystem {"ResourcePath":"VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/{e5e4e5a1-0000-4000-8000-000000000001}","RequestType":"Remove"}',
    ]);
  });
});
