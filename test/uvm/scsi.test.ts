// SCSI attachments (docs/mounts.md#scsi-disks; vectors V6, V7, V8, V13, V17 of docs/mounts.md#vectors).
import assert from 'node:assert/strict';
import { ScsiNoSlotError, WcowError } from '../../lib/errors';
import type { ScsiAddOptions } from '../../lib/uvm';
import { SCSI0, line, world } from './helpers';

const grant = (path: string): string => line('GrantVmAccess', { vmId: 'pod1@vm', path });
const vhd = (o: Partial<ScsiAddOptions> = {}): ScsiAddOptions => ({
  hostPath: 'C:\\disks\\data.vhdx',
  uvmPath: 'C:\\mounts\\m1',
  readOnly: true,
  type: 'VirtualDisk',
  grantAccess: true,
  ...o,
});

describe('uvm SCSI attachments', () => {
  it('a fresh UVM holds only its own scratch at LUN 0', () => {
    const { uvm } = world();
    assert.deepEqual(uvm.refcounts().scsi, [{ controller: 0, lun: 0, hostPath: '', uvmPath: '', refCount: 1 }]);
  });

  it('V7: a read-only virtual disk is granted, attached at the lowest free LUN, then mounted in the guest', async () => {
    const { uvm, rec } = world();
    const m = await uvm.addScsi(vhd());
    assert.deepEqual([m.controller, m.lun, m.uvmPath, m.hostPath], [0, 1, 'C:\\mounts\\m1', 'C:\\disks\\data.vhdx']);
    assert.deepEqual(rec.trace(), [
      grant('C:\\disks\\data.vhdx'),
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Add","Settings":{"Type":"VirtualDisk","Path":"C:\\\\disks\\\\data.vhdx","ReadOnly":true}}`,
      'GuestRequest {"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\\\mounts\\\\m1","Lun":1}}',
    ]);
  });

  it('release at refcount 0: guest unmount first, then the host Remove without Settings; the LUN is free', async () => {
    const { uvm, rec } = world();
    const m = await uvm.addScsi(vhd());
    rec.clear();
    await m.release();
    assert.deepEqual(rec.trace(), [
      'GuestRequest {"RequestType":"Remove","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\\\mounts\\\\m1","Lun":1}}',
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Remove"}`,
    ]);
    assert.equal(uvm.refcounts().scsi.length, 1);
    rec.clear();
    await m.release();
    assert.deepEqual(rec.trace(), [], 'a second release is a no-op');
  });

  it('V6: a physical disk is a PassThru attachment; V8: an EVD carries its type and gets no access grant', async () => {
    const { uvm, rec } = world();
    await uvm.addScsi(vhd({ hostPath: '\\\\.\\PHYSICALDRIVE2', readOnly: false, type: 'PassThru' }));
    await uvm.addScsi(vhd({ hostPath: '{pool-id}{vdisk-id}', uvmPath: 'C:\\mounts\\m2', readOnly: false, type: 'ExtensibleVirtualDisk', evdType: 'space', grantAccess: false }));
    assert.deepEqual(rec.trace(), [
      grant('\\\\.\\PHYSICALDRIVE2'),
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Add","Settings":{"Type":"PassThru","Path":"\\\\\\\\.\\\\PHYSICALDRIVE2"}}`,
      'GuestRequest {"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\\\mounts\\\\m1","Lun":1}}',
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/2","RequestType":"Add","Settings":{"Type":"ExtensibleVirtualDisk","Path":"{pool-id}{vdisk-id}","ExtensibleVirtualDiskType":"space"}}`,
      'GuestRequest {"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\\\mounts\\\\m2","Lun":2}}',
    ]);
  });

  it('an attach-only disk (no guest path) sends no guest request, on add or on release', async () => {
    const { uvm, rec } = world();
    const m = await uvm.addScsi(vhd({ uvmPath: '', grantAccess: false }));
    await m.release();
    assert.deepEqual(rec.trace(), [
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Add","Settings":{"Type":"VirtualDisk","Path":"C:\\\\disks\\\\data.vhdx","ReadOnly":true}}`,
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Remove"}`,
    ]);
  });

  it('V13: the same host path is reused — access granted again, no HCS call, the first caller\'s guest path', async () => {
    const { uvm, rec } = world();
    const first = await uvm.addScsi(vhd());
    rec.clear();
    const second = await uvm.addScsi(vhd({ uvmPath: 'C:\\mounts\\m4', readOnly: false }));
    assert.deepEqual(rec.trace(), [grant('C:\\disks\\data.vhdx')]);
    assert.deepEqual([second.lun, second.uvmPath, second.readOnly], [1, 'C:\\mounts\\m1', true]);
    assert.equal(uvm.refcounts().scsi[1]?.refCount, 2);
    rec.clear();
    await first.release();
    assert.deepEqual(rec.trace(), [], 'releasing C1 sends nothing');
    await second.release();
    assert.deepEqual(rec.calls.map((c) => c.api), ['GuestRequest', 'HcsModifyComputeSystem']);
  });

  it('reuse is by exact host path: another spelling of the same file is another attachment', async () => {
    const { uvm } = world();
    const a = await uvm.addScsi(vhd());
    const b = await uvm.addScsi(vhd({ hostPath: 'c:\\DISKS\\data.vhdx', uvmPath: 'C:\\mounts\\m2' }));
    assert.deepEqual([a.lun, b.lun], [1, 2]);
  });

  it('freed LUNs are handed out again, lowest first', async () => {
    const { uvm } = world();
    const mounts = [];
    for (let i = 1; i <= 4; i++) mounts.push(await uvm.addScsi(vhd({ hostPath: `C:\\d${i}.vhdx`, uvmPath: `C:\\mounts\\m${i}` })));
    await mounts[2]!.release(); // LUN 3
    await mounts[0]!.release(); // LUN 1
    const next = await uvm.addScsi(vhd({ hostPath: 'C:\\d5.vhdx', uvmPath: 'C:\\mounts\\m5' }));
    const after = await uvm.addScsi(vhd({ hostPath: 'C:\\d6.vhdx', uvmPath: 'C:\\mounts\\m6' }));
    assert.deepEqual([next.lun, after.lun], [1, 3]);
  });

  it('V17: with LUNs 1-63 taken the next add fails `no available location`, after GrantVmAccess', async () => {
    const { uvm, rec } = world();
    for (let i = 1; i <= 63; i++) await uvm.addScsi(vhd({ hostPath: `C:\\d${i}.vhdx`, uvmPath: '', grantAccess: false }));
    rec.clear();
    await assert.rejects(uvm.addScsi(vhd({ hostPath: 'C:\\d64.vhdx' })), (err: unknown) => {
      assert.ok(err instanceof ScsiNoSlotError);
      assert.equal(err.code, 'ERR_SCSI_NO_SLOT');
      assert.equal(err.message, 'no available location');
      return true;
    });
    assert.deepEqual(rec.trace(), [grant('C:\\d64.vhdx')]);
  });

  it('a failed GrantVmAccess is wrapped and takes no LUN', async () => {
    const { uvm, rec } = world();
    rec.inject({ api: 'GrantVmAccess' });
    await assert.rejects(uvm.addScsi(vhd()), {
      code: 'ERR_HCS',
      message: 'failed to grant VM access for SCSI mount: hcsshim::GrantVmAccess failed in Win32: The system cannot find the file specified. (0x2)',
      hresult: '0x80070002',
    });
    assert.deepEqual(rec.calls.map((c) => c.api), ['GrantVmAccess']);
    assert.equal(uvm.refcounts().scsi.length, 1);
  });

  it('a failed host attach frees its LUN: `failed to modify UVM with new SCSI mount: adding VM resources: …`', async () => {
    const { uvm, rec } = world();
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(uvm.addScsi(vhd()), {
      code: 'ERR_HCS',
      message: 'failed to modify UVM with new SCSI mount: adding VM resources: hcs::System::Modify pod1@vm: Unspecified error',
    });
    assert.equal(uvm.refcounts().scsi.length, 1);
    assert.equal((await uvm.addScsi(vhd({ hostPath: 'C:\\other.vhdx' }))).lun, 1);
  });

  it('a failed guest mount rolls the host attach back (Remove keeping Settings) and frees the LUN', async () => {
    const { uvm, rec } = world();
    rec.inject({ api: 'GuestRequest' });
    await assert.rejects(uvm.addScsi(vhd()), {
      code: 'ERR_GUEST',
      message: 'failed to modify UVM with new SCSI mount: guest modify: guest RPC failure: injected',
    });
    assert.deepEqual(rec.trace().slice(1), [
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Add","Settings":{"Type":"VirtualDisk","Path":"C:\\\\disks\\\\data.vhdx","ReadOnly":true}}`,
      'GuestRequest {"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\\\mounts\\\\m1","Lun":1}}',
      `HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Remove","Settings":{"Type":"VirtualDisk","Path":"C:\\\\disks\\\\data.vhdx","ReadOnly":true}}`,
    ]);
    assert.equal(uvm.refcounts().scsi.length, 1);
  });

  it('a failed guest mount whose host rollback fails too says so, keeps the LUN taken, and the next add removes it first (docs/differences.md#difference-2)', async () => {
    const { uvm, rec } = world();
    rec.inject({ api: 'GuestRequest' });
    const removeRollback = rec.inject({ api: 'HcsModifyComputeSystem', nth: 2 });
    await assert.rejects(uvm.addScsi(vhd()), {
      code: 'ERR_GUEST',
      message:
        'failed to modify UVM with new SCSI mount: guest modify: guest RPC failure: injected (rollback of the host part failed: hcs::System::Modify pod1@vm: Unspecified error)',
    });
    removeRollback();
    // hcsshim would have freed LUN 1 while HCS still has the disk there; every later add
    // would then be sent to an occupied LUN.
    assert.deepEqual(uvm.refcounts().scsi.map((r) => [r.lun, r.refCount]), [[0, 1], [1, 0]]);
    rec.clear();
    const other = await uvm.addScsi(vhd({ hostPath: 'C:\\disks\\other.vhdx', uvmPath: 'C:\\mounts\\m2' }));
    assert.deepEqual(rec.trace().slice(1, 2), [`HcsModifyComputeSystem {"ResourcePath":"${SCSI0}/1","RequestType":"Remove"}`]);
    assert.equal(other.lun, 1, 'the orphan was removed before the new disk took the lowest free LUN');
  });

  it('a concurrent add of a path being attached waits for it and gets its mount (one HCS attach)', async () => {
    const { uvm, rec } = world();
    rec.interleave = true;
    const [a, b] = await Promise.all([uvm.addScsi(vhd()), uvm.addScsi(vhd({ uvmPath: 'C:\\mounts\\m2' }))]);
    assert.deepEqual([a.lun, b.lun, b.uvmPath], [1, 1, 'C:\\mounts\\m1']);
    assert.equal(rec.calls.filter((c) => c.api === 'HcsModifyComputeSystem').length, 1);
    assert.equal(uvm.refcounts().scsi[1]?.refCount, 2);
  });

  it('a concurrent add of a path whose attach fails gets the same error', async () => {
    const { uvm, rec } = world();
    rec.interleave = true;
    rec.inject({ api: 'HcsModifyComputeSystem' });
    const results = await Promise.allSettled([uvm.addScsi(vhd()), uvm.addScsi(vhd({ uvmPath: 'C:\\mounts\\m2' }))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    const [e1, e2] = results.map((r) => (r as PromiseRejectedResult).reason as WcowError);
    assert.equal(e1, e2);
    assert.equal(rec.calls.filter((c) => c.api === 'HcsModifyComputeSystem').length, 1);
    assert.equal(uvm.refcounts().scsi.length, 1);
  });

  it('a failed detach keeps the LUN; releasing again retries the Remove, and then does nothing', async () => {
    const { uvm, rec, vm } = world();
    const m = await uvm.addScsi(vhd());
    rec.inject({ api: 'GuestRequest' });
    await assert.rejects(m.release(), {
      code: 'ERR_GUEST',
      message: 'failed to remove SCSI device: failed to remove SCSI disk C:\\disks\\data.vhdx from container pod1@vm: guest modify: guest RPC failure: injected',
    });
    assert.deepEqual(uvm.refcounts().scsi[1], { controller: 0, lun: 1, hostPath: 'C:\\disks\\data.vhdx', uvmPath: 'C:\\mounts\\m1', refCount: 0 });
    assert.equal((await uvm.addScsi(vhd({ hostPath: 'C:\\other.vhdx' }))).lun, 2, 'LUN 1 is not handed out');
    rec.clear();
    await m.release();
    assert.deepEqual(rec.calls.map((c) => c.api), ['GuestRequest', 'HcsModifyComputeSystem']);
    assert.equal(vm.hcs.has(`${SCSI0}/1`), false);
    rec.clear();
    await m.release();
    assert.deepEqual(rec.trace(), []);
  });

  it('a host Remove failure after the guest unmount reads `removing VM resources: …`', async () => {
    const { uvm, rec } = world();
    const m = await uvm.addScsi(vhd());
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(m.release(), {
      message: 'failed to remove SCSI device: failed to remove SCSI disk C:\\disks\\data.vhdx from container pod1@vm: removing VM resources: hcs::System::Modify pod1@vm: Unspecified error',
    });
  });

  it('an add of a path whose detach failed reuses the attachment without HCS traffic (scsi.go:200-271)', async () => {
    const { uvm, rec } = world();
    const m = await uvm.addScsi(vhd());
    rec.inject({ api: 'GuestRequest' });
    await assert.rejects(m.release());
    rec.clear();
    const again = await uvm.addScsi(vhd({ uvmPath: 'C:\\mounts\\m9' }));
    assert.deepEqual(rec.trace(), [grant('C:\\disks\\data.vhdx')]);
    assert.deepEqual([again.lun, again.uvmPath], [1, 'C:\\mounts\\m1']);
    await m.release();
    assert.deepEqual(rec.calls.map((c) => c.api), ['GrantVmAccess'], 'the retried release leaves the disk to its new owner');
    await again.release();
    assert.equal(uvm.refcounts().scsi.length, 1);
  });

  it('describe() records what undoing the mount needs', async () => {
    const { uvm } = world();
    const m = await uvm.addScsi(vhd());
    assert.equal(
      JSON.stringify(m.describe()),
      '{"kind":"scsi","uvmId":"pod1@vm","hostPath":"C:\\\\disks\\\\data.vhdx","uvmPath":"C:\\\\mounts\\\\m1","controller":0,"lun":1,"type":"VirtualDisk","readOnly":true}',
    );
  });
});
