// The two halves of lib/uvm/scsi over in-memory backends (hcsshim HEAD's attachManager and
// mountManager): the attach manager keeps the slots, the host refcount and the attach in
// flight; the mount manager the guest's mounts. The HCS documents are test/uvm/scsi.test.ts's.
import assert from 'node:assert/strict';
import { GuestError, HcsError, ScsiNoSlotError, type WcowError } from '../../lib/errors';
import { AttachManager, type Attachment } from '../../lib/uvm/scsi/attach';
import type { AttachConfig, ScsiGuestBackend, ScsiHostBackend, ScsiSlot } from '../../lib/uvm/scsi/backend';
import { MountManager } from '../../lib/uvm/scsi/mount';

/** A host backend that records `attach 0:1 C:\d.vhdx`, `undo 0:1`, `detach 0:1` and fails what it is told to. */
class FakeHost implements ScsiHostBackend {
  readonly log: string[] = [];
  readonly failing = new Set<string>();
  /** Resolves the attach in flight when set: lets a test run a second add meanwhile. */
  gate: Promise<void> | undefined;

  #call(what: string): void {
    this.log.push(what);
    if (this.failing.has(what.split(' ')[0]!)) throw new HcsError(`${what} failed`);
  }
  async attach(s: ScsiSlot, d: AttachConfig): Promise<void> {
    await this.gate;
    this.#call(`attach ${s.controller}:${s.lun} ${d.hostPath}`);
  }
  async undoAttach(s: ScsiSlot, _d: AttachConfig, cause: WcowError): Promise<void> {
    try {
      this.#call(`undo ${s.controller}:${s.lun}`);
    } catch (err) {
      throw new HcsError(`${cause.message} (rollback failed: ${(err as Error).message})`);
    }
  }
  async detach(s: ScsiSlot): Promise<void> {
    this.#call(`detach ${s.controller}:${s.lun}`);
  }
}

class FakeGuest implements ScsiGuestBackend {
  readonly log: string[] = [];
  readonly failing = new Set<string>();
  async mount(s: ScsiSlot, path: string): Promise<void> {
    this.log.push(`mount ${s.lun} ${path}`);
    if (this.failing.has('mount')) throw new GuestError('guest modify: not now');
  }
  async unmount(s: ScsiSlot, path: string): Promise<void> {
    this.log.push(`unmount ${s.lun} ${path}`);
    if (this.failing.has('unmount')) throw new GuestError('guest modify: busy');
  }
}

const disk = (hostPath: string): AttachConfig => ({ hostPath, type: 'VirtualDisk', readOnly: true, evdType: undefined });
const noMount = (): Promise<void> => Promise.resolve();

function attachManager(luns = 4): { host: FakeHost; am: AttachManager } {
  const host = new FakeHost();
  return { host, am: new AttachManager(host, 'pod1@vm', 1, luns, [{ controller: 0, lun: 0 }]) };
}

async function attached(am: AttachManager, path: string, mount = noMount): Promise<Attachment> {
  const { attachment } = await am.acquire(disk(path), 'C:\\mounts\\m1', mount);
  await am.settled(attachment);
  return attachment;
}

describe('uvm SCSI attach manager', () => {
  it('hands out the lowest free LUN past the reserved one, and counts a second add of a path without a call', async () => {
    const { host, am } = attachManager();
    const a = await attached(am, 'C:\\a.vhdx');
    const b = await attached(am, 'C:\\b.vhdx');
    const again = await am.acquire(disk('C:\\a.vhdx'), 'C:\\mounts\\other', noMount);
    assert.deepEqual([a.lun, b.lun, again.joined, again.attachment], [1, 2, true, a]);
    assert.equal(a.refCount, 2);
    assert.equal(a.uvmPath, 'C:\\mounts\\m1', "the first adder's guest path");
    assert.deepEqual(host.log, ['attach 0:1 C:\\a.vhdx', 'attach 0:2 C:\\b.vhdx']);
    assert.deepEqual(am.attachments().map((x) => [x.lun, x.state.kind]), [[0, 'reserved'], [1, 'attached'], [2, 'attached']]);
  });

  it('an add of a path being attached joins it: one attach, and its failure is the joiner\'s', async () => {
    const { host, am } = attachManager();
    let open!: () => void;
    host.gate = new Promise((resolve) => (open = resolve));
    host.failing.add('attach');
    const first = await am.acquire(disk('C:\\a.vhdx'), 'C:\\m1', noMount);
    const second = await am.acquire(disk('C:\\a.vhdx'), 'C:\\m2', noMount);
    assert.equal(second.joined, true);
    open();
    const [e1, e2] = await Promise.all([am.settled(first.attachment).catch((e: unknown) => e), am.settled(second.attachment).catch((e: unknown) => e)]);
    assert.equal(e1, e2);
    assert.match((e1 as Error).message, /^failed to modify UVM with new SCSI mount: attach 0:1 C:\\a\.vhdx failed$/);
    assert.deepEqual(host.log, ['attach 0:1 C:\\a.vhdx']);
    assert.equal(am.attachments().length, 1, 'the LUN is free again');
  });

  it('a failed mount takes the attach back; when that fails too the LUN stays taken until the next add removes it', async () => {
    const { host, am } = attachManager();
    const failMount = (): Promise<void> => Promise.reject(new GuestError('guest modify: no'));
    await assert.rejects(attached(am, 'C:\\a.vhdx', failMount), { message: 'failed to modify UVM with new SCSI mount: guest modify: no' });
    assert.deepEqual(host.log, ['attach 0:1 C:\\a.vhdx', 'undo 0:1']);
    assert.equal(am.attachments().length, 1);

    host.failing.add('undo');
    await assert.rejects(attached(am, 'C:\\a.vhdx', failMount), /rollback failed/);
    assert.deepEqual(am.attachments().map((x) => [x.lun, x.state.kind, x.refCount]), [[0, 'reserved', 1], [1, 'orphaned', 0]]);
    host.log.length = 0;
    const next = await attached(am, 'C:\\b.vhdx');
    assert.deepEqual(host.log, ['detach 0:1', 'attach 0:1 C:\\b.vhdx']);
    assert.equal(next.lun, 1);
  });

  it('a failed detach keeps the slot, so the LUN is not handed out; the retry detaches', async () => {
    const { host, am } = attachManager();
    const a = await attached(am, 'C:\\a.vhdx');
    a.refCount = 0;
    host.failing.add('detach');
    await assert.rejects(am.detach(a, noMount), { message: 'failed to remove SCSI disk C:\\a.vhdx from container pod1@vm: detach 0:1 failed', op: 'scsi.remove' });
    assert.equal(am.holds(a), true);
    assert.equal((await attached(am, 'C:\\b.vhdx')).lun, 2);
    host.failing.clear();
    await am.detach(a, noMount);
    assert.equal(am.holds(a), false);
  });

  it('with every LUN taken an add fails `no available location` and sends nothing', async () => {
    const { host, am } = attachManager(2);
    await attached(am, 'C:\\a.vhdx');
    host.log.length = 0;
    await assert.rejects(am.acquire(disk('C:\\b.vhdx'), '', noMount), (err: unknown) => err instanceof ScsiNoSlotError && err.message === 'no available location');
    assert.deepEqual(host.log, []);
  });
});

describe('uvm SCSI mount manager', () => {
  const slot = { controller: 0, lun: 3 };

  it('counts the holders of a mount and unmounts only when none is left', async () => {
    const guest = new FakeGuest();
    const mm = new MountManager(guest);
    await mm.mount(slot, 'C:\\mounts\\m1');
    const second = mm.hold(slot)!;
    assert.equal(second.refCount, 2);
    mm.drop(second);
    await mm.unmount(slot);
    assert.deepEqual(guest.log, ['mount 3 C:\\mounts\\m1'], 'one holder is left');
    mm.drop(mm.mounted(slot)!);
    await mm.unmount(slot);
    await mm.unmount(slot);
    assert.deepEqual(guest.log, ['mount 3 C:\\mounts\\m1', 'unmount 3 C:\\mounts\\m1'], 'unmounted once');
    assert.equal(mm.mounted(slot), undefined);
  });

  it('a failed mount is not kept; a failed unmount is, and is sent again by the retry', async () => {
    const guest = new FakeGuest();
    const mm = new MountManager(guest);
    guest.failing.add('mount');
    await assert.rejects(mm.mount(slot, 'C:\\m'), /not now/);
    assert.equal(mm.hold(slot), undefined);
    guest.failing.clear();
    await mm.mount(slot, 'C:\\m');
    mm.drop(mm.mounted(slot)!);
    guest.failing.add('unmount');
    await assert.rejects(mm.unmount(slot), /busy/);
    guest.failing.clear();
    await mm.unmount(slot);
    assert.deepEqual(guest.log, ['mount 3 C:\\m', 'mount 3 C:\\m', 'unmount 3 C:\\m', 'unmount 3 C:\\m']);
  });
});
