// SCSI attachments of a WCOW UVM — v0.11.4 internal/uvm/scsi.go (docs/mounts.md#scsi-disks). One controller
// × 64 LUNs, LUN 0 is the UVM's own scratch; an attachment is shared by everyone who adds the
// same host path and is detached when the last of them releases it.

import { ScsiNoSlotError, wrap } from '../errors';
import { WCOW_SCSI_CONTROLLERS, WCOW_SCSI_LUNS } from '../hcs/constants';
import { mappedVirtualDiskGuest, scsiAttachmentAdd, scsiAttachmentRemove } from '../hcs/documents';
import type { AttachmentType } from '../hcs/schema';
import type { ResourceRecord } from '../resources/closer';
import { dropReference } from '../resources/journal/decorate';
import { withJournal } from '../resources/journal/journal';
import type { UvmBackend } from './backend';
import { Hold, RefHandle } from './handle';
import { hostPartLeft } from './modify';

export interface ScsiAddOptions {
  /** Host path; for an extensible virtual disk the parsed mount path (docs/mounts.md#extensible-virtual-disk-paths). */
  hostPath: string;
  /** Guest mount path (`C:\mounts\m1`, a container root `C:\c\1`); '' attaches without a guest mount. */
  uvmPath: string;
  readOnly: boolean;
  type: AttachmentType;
  evdType?: string;
  /** GrantVmAccess(uvm id, hostPath) first — hcsshim's VMAccessTypeIndividual; false for EVDs (docs/mounts.md#granting-vm-access). */
  grantAccess: boolean;
}

/** One attachment, shared by every mount of its host path (internal to lib/uvm). */
export interface ScsiAttachment {
  readonly hostPath: string;
  readonly uvmPath: string;
  readonly controller: number;
  readonly lun: number;
  readonly type: AttachmentType;
  readonly readOnly: boolean;
  readonly evdType: string | undefined;
  refCount: number;
  /** Settles when the add that created the attachment did (hcsshim's waitCh/waitErr). */
  ready: Promise<void>;
  /** Set while the Remove of a refcount-0 attachment is in flight. */
  removing: Promise<void> | undefined;
  /** The guest unmounted the disk but the host Remove failed: a retry sends only the host part. */
  guestUnmounted?: boolean;
  /**
   * The add failed after the host attached the disk and its rollback failed too: HCS still
   * has it, nobody holds it. The LUN stays taken (handing it out again would fail at HCS
   * for every later disk) and the next add removes it first.
   */
  orphan?: boolean;
}

export interface ScsiRefcount {
  controller: number;
  lun: number;
  hostPath: string;
  uvmPath: string;
  refCount: number;
}

export class ScsiManager {
  readonly #vm: UvmBackend;
  /** scsiLocations[controller][lun] (types.go:90-91); WCOW has one controller. */
  readonly #slots: (ScsiAttachment | undefined)[][];
  readonly #orphans = new Set<ScsiAttachment>();

  constructor(vm: UvmBackend) {
    this.#vm = vm;
    this.#slots = Array.from({ length: WCOW_SCSI_CONTROLLERS }, () => new Array<ScsiAttachment | undefined>(WCOW_SCSI_LUNS).fill(undefined));
    // 0:0 is the UVM's own scratch from creation on (create_wcow.go:314-336): never handed
    // out, never matched by host path (its path is not ours to know), never released here.
    this.#slots[0]![0] = {
      hostPath: '',
      uvmPath: '',
      controller: 0,
      lun: 0,
      type: 'VirtualDisk',
      readOnly: false,
      evdType: undefined,
      refCount: 1,
      ready: Promise.resolve(),
      removing: undefined,
    };
  }

  /**
   * AddSCSI / AddSCSIPhysicalDisk / AddSCSIExtensibleVirtualDisk (scsi.go:291-367, 376-520).
   * Each call returns its own ScsiMount; mounts of one host path share the attachment.
   */
  async add(o: ScsiAddOptions): Promise<ScsiMount> {
    if (o.grantAccess) {
      // Before the lookup: on every add, also when the attachment is reused and when no
      // slot is left (docs/mounts.md#granting-vm-access). Never revoked on release, as in v0.11.4.
      try {
        await this.#vm.host.grantVmAccess(this.#vm.id, o.hostPath);
      } catch (err) {
        throw wrap(err, 'failed to grant VM access for SCSI mount', { op: 'scsi.add', resource: o.hostPath });
      }
    }
    if (this.#orphans.size > 0) await this.#reap();
    for (;;) {
      const existing = this.#find(o.hostPath);
      if (existing === undefined) break;
      if (existing.removing !== undefined) {
        // hcsshim holds uvm.m across RemoveSCSI: an add of the same path waits for the
        // removal, then finds the attachment gone (re-attach) or kept after a failure (reuse).
        await existing.removing.catch(() => undefined);
        continue;
      }
      // Reuse by exact host path only: the first caller's uvmPath, readOnly and type win
      // (docs/mounts.md#reusing-an-attachment). The count is taken before waiting so a release cannot slip in.
      existing.refCount++;
      const mount = new ScsiMount(this, existing);
      const hold = new Hold();
      await hold.record(mount);
      await hold.settle(mount);
      try {
        await existing.ready; // joining an in-flight add: its error is ours too
      } catch (err) {
        await dropReference(mount.describe());
        throw err;
      }
      return mount;
    }
    const attachment = this.#allocate(o);
    attachment.ready = this.#attach(attachment);
    await attachment.ready;
    return new ScsiMount(this, attachment);
  }

  get uvmId(): string {
    return this.#vm.id;
  }

  refcounts(): ScsiRefcount[] {
    return this.#slots.flatMap((luns) =>
      luns.flatMap((a) =>
        a === undefined ? [] : [{ controller: a.controller, lun: a.lun, hostPath: a.hostPath, uvmPath: a.uvmPath, refCount: a.refCount }],
      ),
    );
  }

  /** findSCSIAttachment (scsi.go:187-197): exact, case-sensitive host path. */
  #find(hostPath: string): ScsiAttachment | undefined {
    for (const luns of this.#slots) {
      for (const a of luns) {
        if (a !== undefined && !(a.controller === 0 && a.lun === 0) && a.orphan !== true && a.hostPath === hostPath) return a;
      }
    }
    return undefined;
  }

  /** allocateSCSISlot (scsi.go:165-175): the lowest free LUN, so freed LUNs are reused first. */
  #allocate(o: ScsiAddOptions): ScsiAttachment {
    for (let controller = 0; controller < this.#slots.length; controller++) {
      const luns = this.#slots[controller]!;
      const lun = luns.indexOf(undefined);
      if (lun < 0) continue;
      const attachment: ScsiAttachment = {
        hostPath: o.hostPath,
        uvmPath: o.uvmPath,
        controller,
        lun,
        type: o.type,
        readOnly: o.readOnly,
        evdType: o.evdType,
        refCount: 1,
        ready: Promise.resolve(),
        removing: undefined,
      };
      luns[lun] = attachment; // reserved before the HCS call, freed again if it fails
      return attachment;
    }
    throw new ScsiNoSlotError(undefined, { op: 'scsi.add', resource: o.hostPath });
  }

  async #attach(a: ScsiAttachment): Promise<void> {
    const attachment = { type: a.type, path: a.hostPath, readOnly: a.readOnly, ...(a.evdType !== undefined && { evdType: a.evdType }) };
    // No guest request for an attach-only disk (scsi.go:430-441).
    const guest = a.uvmPath === '' ? undefined : mappedVirtualDiskGuest('Add', a.uvmPath, a.lun);
    try {
      await this.#vm.modify(scsiAttachmentAdd(a.controller, a.lun, attachment, guest));
    } catch (err) {
      if (hostPartLeft(err)) {
        a.orphan = true;
        a.refCount = 0;
        a.guestUnmounted = true;
        this.#orphans.add(a);
      } else {
        this.#free(a);
      }
      throw wrap(err, 'failed to modify UVM with new SCSI mount', { op: 'scsi.add', resource: a.hostPath });
    }
  }

  /**
   * Remove orphaned attachments (host part only: the guest never mounted them). Outside any
   * container's journal: the one that made the orphan was kept for recover(), which finds
   * the disk gone if this succeeds. A failure leaves the orphan for the next add.
   */
  async #reap(): Promise<void> {
    for (const a of [...this.#orphans]) {
      // Concurrent adds share one removal; a reaped orphan's LUN may already be another
      // disk's, so it is never sent a second Remove.
      if (!this.#orphans.has(a)) continue;
      a.removing ??= (async () => {
        try {
          await withJournal(undefined, () => this.#vm.modify(scsiAttachmentRemove(a.controller, a.lun)));
          this.#orphans.delete(a);
          this.#free(a);
        } catch {
          // still attached: tried again by the next add
        } finally {
          a.removing = undefined;
        }
      })();
      await a.removing;
    }
  }

  #free(a: ScsiAttachment): void {
    const luns = this.#slots[a.controller]!;
    if (luns[a.lun] === a) luns[a.lun] = undefined;
  }

  /** Whether `a` still occupies its slot (it may have been detached by another mount's release). */
  attached(a: ScsiAttachment): boolean {
    return this.#slots[a.controller]![a.lun] === a;
  }

  /**
   * RemoveSCSI (scsi.go:200-271) at refcount 0: one modify, guest MappedVirtualDisk Remove
   * first, then the host Remove without Settings. On failure the slot is NOT freed (as in
   * hcsshim): the disk may still be attached, so the LUN must not be handed out again, and a
   * later add of the same path reuses the attachment.
   */
  detach(a: ScsiAttachment): Promise<void> {
    a.removing ??= (async () => {
      try {
        // hcsshim sends an LCOW-shaped guest request for a WCOW attachment without a guest
        // path (scsi.go:243-263); the Windows GCS would reject it, so none is sent here.
        // uvm.modify's Remove split (guest, then host) is done here in two requests with
        // the same documents and error texts, so that a retry after a failed host part does
        // not ask the guest to unmount again (it would answer "not mounted" forever).
        if (a.uvmPath !== '' && a.guestUnmounted !== true) {
          await this.#vm.modify({ GuestRequest: mappedVirtualDiskGuest('Remove', a.uvmPath, a.lun) });
          a.guestUnmounted = true;
        }
        try {
          await this.#vm.modify(scsiAttachmentRemove(a.controller, a.lun));
        } catch (err) {
          throw wrap(err, 'removing VM resources', { op: 'uvm.modify' });
        }
        this.#free(a);
      } catch (err) {
        throw wrap(err, `failed to remove SCSI disk ${a.hostPath} from container ${this.#vm.id}`, {
          op: 'scsi.remove',
          resource: a.hostPath,
        });
      } finally {
        a.removing = undefined;
      }
    })();
    return a.removing;
  }
}

/** What one add returned (hcsshim's *SCSIMount, one per caller here so release is once-only). */
export class ScsiMount extends RefHandle<ScsiAttachment> {
  readonly kind = 'scsi';
  readonly #manager: ScsiManager;

  constructor(manager: ScsiManager, attachment: ScsiAttachment) {
    super(attachment);
    this.#manager = manager;
  }

  get hostPath(): string {
    return this.entry.hostPath;
  }
  /** The first caller's guest path when the attachment was reused (docs/mounts.md#reusing-an-attachment). */
  get uvmPath(): string {
    return this.entry.uvmPath;
  }
  get controller(): number {
    return this.entry.controller;
  }
  get lun(): number {
    return this.entry.lun;
  }
  get readOnly(): boolean {
    return this.entry.readOnly;
  }

  describe(): ResourceRecord {
    const a = this.entry;
    return {
      kind: this.kind,
      uvmId: this.#manager.uvmId,
      hostPath: a.hostPath,
      uvmPath: a.uvmPath,
      controller: a.controller,
      lun: a.lun,
      type: a.type,
      readOnly: a.readOnly,
      ...(a.evdType !== undefined && { evdType: a.evdType }),
    };
  }

  /**
   * SCSIMount.Release: refcount--, detach at 0; errors `failed to remove SCSI device: <e>`.
   * A retry after a failed detach sends the Remove again — unless another add reused the
   * attachment meanwhile (it then owns it) or another release detached it.
   */
  protected async releaseReference(countDown: () => boolean): Promise<void> {
    const a = this.entry;
    const counted = countDown();
    if (counted) a.refCount--;
    if (a.refCount > 0 || !this.#manager.attached(a)) {
      if (counted) await dropReference(this.describe());
      return;
    }
    try {
      await this.#manager.detach(a);
    } catch (err) {
      throw wrap(err, 'failed to remove SCSI device', { op: 'scsi.release' });
    }
  }
}
