// Many containers allocate into one UVM at once: state changes happen between awaits, slots
// and names are reserved before the HCS call, and overlapping disks/shares stay consistent.
import assert from 'node:assert/strict';
import { s0 } from './helpers';

describe('uvm concurrency', () => {
  it('50 concurrent add/release cycles of overlapping disks and shares end with LUN 0 only and no container shares', async () => {
    const { uvm, rec, host, vm } = await s0();
    rec.interleave = true;
    for (let i = 0; i < 5; i++) host.files.set(`C:\\shared\\d${i}`, 'dir');
    host.files.set('C:\\shared\\f', 'dir');
    for (let i = 0; i < 3; i++) host.files.set(`C:\\shared\\f\\${i}.json`, 'file');
    const peak = { luns: 0 };
    const cycle = async (n: number): Promise<void> => {
      const disk = await uvm.addScsi({
        hostPath: `C:\\disks\\${n % 7}.vhdx`,
        uvmPath: `C:\\mounts\\m${uvm.mountCounter()}`,
        readOnly: n % 2 === 0,
        type: 'VirtualDisk',
        grantAccess: true,
      });
      const dir = await uvm.addVsmb(`C:\\shared\\d${n % 5}`, uvm.defaultVsmbOptions(n % 3 === 0));
      const file = await uvm.addVsmb(`C:\\shared\\f\\${n % 3}.json`, uvm.defaultVsmbOptions(true));
      peak.luns = Math.max(peak.luns, uvm.refcounts().scsi.length);
      assert.equal(await uvm.vsmbUvmPath(`C:\\shared\\d${n % 5}`, n % 3 === 0), dir.guestPath);
      await Promise.all([file.release(), dir.release(), disk.release()]);
    };
    await Promise.all(Array.from({ length: 50 }, (_, n) => cycle(n)));

    const state = uvm.refcounts();
    assert.deepEqual(state.scsi, [{ controller: 0, lun: 0, hostPath: '', uvmPath: '', refCount: 1 }]);
    assert.deepEqual(state.vsmb.map((s) => [s.name, s.refCount]), [['s1', 1], ['s2', 1]], 'only the image layers\' shares');
    assert.deepEqual(state.vpci, []);
    // What HCS and the guest hold agrees: only the layer shares, no disks, no guest mounts.
    assert.deepEqual([...vm.hcs.keys()], ['share:s1', 'share:s2']);
    assert.deepEqual([...vm.guest.keys()], []);
    assert.ok(peak.luns > 2, 'the cycles really overlapped');
    assert.ok(rec.calls.every((c) => c.outcome === 'ok'), 'HCS never saw a double add or a remove of something absent');
  });
});
