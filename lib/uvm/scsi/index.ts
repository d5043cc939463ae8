// SCSI disks of a WCOW UVM — v0.11.4 internal/uvm/scsi.go (docs/mounts.md#scsi-disks), arranged like hcsshim
// HEAD's internal/uvm/scsi: an attach manager (slots, host refcount, the attach in flight) and
// a mount manager (the guest's mounts), each over a backend (backend.ts); this file puts them
// together the way AddSCSI and SCSIMount.Release do. README.md in this folder has the rules.

import { wrap } from '../../errors';
import { WCOW_SCSI_CONTROLLERS, WCOW_SCSI_LUNS } from '../../hcs/constants';
import type { AttachmentType } from '../../hcs/schema';
import type { ResourceRecord } from '../../resources/closer';
import { handleUndos } from '../../resources/journal/undo';
import { dropReference } from '../../resources/journal/decorate';
import type { UvmBackend } from '../backend';
import { Hold, RefHandle } from '../handle';
import { AttachManager, type Attachment } from './attach';
import { hcsScsiBackends } from './backend';
import { MountManager, type GuestMount } from './mount';

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

export interface ScsiRefcount {
  controller: number;
  lun: number;
  hostPath: string;
  uvmPath: string;
  refCount: number;
}

export class ScsiManager {
  readonly #vm: UvmBackend;
  readonly #attachments: AttachManager;
  readonly #mounts: MountManager;

  constructor(vm: UvmBackend) {
    this.#vm = vm;
    const backends = hcsScsiBackends(vm);
    // 0:0 is the UVM's own scratch from creation on (create_wcow.go:314-336).
    this.#attachments = new AttachManager(backends.host, vm.id, WCOW_SCSI_CONTROLLERS, WCOW_SCSI_LUNS, [{ controller: 0, lun: 0 }]);
    this.#mounts = new MountManager(backends.guest);
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
    const disk = { hostPath: o.hostPath, type: o.type, readOnly: o.readOnly, evdType: o.evdType };
    // No guest request for an attach-only disk (scsi.go:430-441).
    const mount = (a: Attachment): Promise<void> => (a.uvmPath === '' ? Promise.resolve() : this.#mounts.mount(a, a.uvmPath));
    const { attachment, joined } = await this.#attachments.acquire(disk, o.uvmPath, mount);
    const handle = new ScsiMount(this, attachment);
    if (joined) {
      const hold = new Hold();
      await hold.record(handle);
      await hold.settle(handle);
    }
    try {
      await this.#attachments.settled(attachment); // joining an add in flight: its error is ours too
    } catch (err) {
      if (joined) await dropReference(handleUndos(handle.describe()));
      throw err;
    }
    // A joiner holds the first adder's mount too; the first adder holds the one it made.
    handle.guestMount = joined ? this.#mounts.hold(attachment) : this.#mounts.mounted(attachment);
    return handle;
  }

  /** `from`'s disks, for a rehearsal of its UVM (lib/plan). */
  copyFrom(from: ScsiManager): void {
    this.#attachments.copyFrom(from.#attachments);
    this.#mounts.copyFrom(from.#mounts);
  }

  get uvmId(): string {
    return this.#vm.id;
  }

  refcounts(): ScsiRefcount[] {
    return this.#attachments.attachments().map((a) => ({ controller: a.controller, lun: a.lun, hostPath: a.config.hostPath, uvmPath: a.uvmPath, refCount: a.refCount }));
  }

  /**
   * SCSIMount.Release: count down (once per handle, even across retries), and at refcount 0
   * unmount in the guest, then detach. A retry after a failed detach sends the Remove again —
   * unless another add reused the attachment meanwhile (it then owns it) or another release
   * detached it.
   */
  async release(a: Attachment, guestMount: GuestMount | undefined, counted: boolean, describe: () => ResourceRecord): Promise<void> {
    if (counted) {
      a.refCount--;
      if (guestMount !== undefined) this.#mounts.drop(guestMount);
    }
    if (a.refCount > 0 || !this.#attachments.holds(a)) {
      if (counted) await dropReference(handleUndos(describe()));
      return;
    }
    await this.#attachments.detach(a, () => this.#mounts.unmount(a));
  }
}

/** What one add returned (hcsshim's *SCSIMount, one per caller here so release is once-only). */
export class ScsiMount extends RefHandle<Attachment> {
  readonly kind = 'scsi';
  readonly #manager: ScsiManager;
  /** The guest mount this handle holds (none for an attach-only disk). */
  guestMount: GuestMount | undefined;

  constructor(manager: ScsiManager, attachment: Attachment) {
    super(attachment);
    this.#manager = manager;
  }

  get hostPath(): string {
    return this.entry.config.hostPath;
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
    return this.entry.config.readOnly;
  }

  describe(): ResourceRecord {
    const a = this.entry;
    return {
      kind: this.kind,
      uvmId: this.#manager.uvmId,
      hostPath: a.config.hostPath,
      uvmPath: a.uvmPath,
      controller: a.controller,
      lun: a.lun,
      type: a.config.type,
      readOnly: a.config.readOnly,
      ...(a.config.evdType !== undefined && { evdType: a.config.evdType }),
    };
  }

  /** Errors `failed to remove SCSI device: <e>`. */
  protected async releaseReference(countDown: () => boolean): Promise<void> {
    try {
      await this.#manager.release(this.entry, this.guestMount, countDown(), () => this.describe());
    } catch (err) {
      throw wrap(err, 'failed to remove SCSI device', { op: 'scsi.release' });
    }
  }
}
