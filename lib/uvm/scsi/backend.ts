// What the two SCSI managers need from the UVM, as hcsshim HEAD splits it
// (internal/uvm/scsi/backend.go: HostBackend, GuestBackend): the host side attaches and
// detaches a disk at a slot, the guest side mounts and unmounts it. The HCS implementation
// sends v0.11.4's documents, through uvm.modify (modify.ts), in v0.11.4's order (docs/mounts.md#adding-an-attachment,
// docs/mounts.md#removing-an-attachment): tests put in-memory fakes behind the same interfaces.

import type { WcowError } from '../../errors';
import { asRemove, mappedVirtualDiskGuest, scsiAttachmentAdd, scsiAttachmentRemove } from '../../hcs/documents';
import type { AttachmentType } from '../../hcs/schema';
import type { UvmBackend } from '../backend';
import { addHostPart, hostPartLeft, removeHostPart, rollbackHostPart } from '../modify';

/** A controller and LUN of the UVM's SCSI bus. */
export interface ScsiSlot {
  readonly controller: number;
  readonly lun: number;
}

/** What is attached: two adds with the same host path share one attachment (docs/mounts.md#reusing-an-attachment). */
export interface AttachConfig {
  /** Host path; for an extensible virtual disk the parsed mount path (docs/mounts.md#extensible-virtual-disk-paths). */
  readonly hostPath: string;
  readonly type: AttachmentType;
  readonly readOnly: boolean;
  readonly evdType: string | undefined;
}

export interface ScsiHostBackend {
  /** Hot-add `disk` at `slot` (the host part of AddSCSI's modify: `adding VM resources: <e>`). */
  attach(slot: ScsiSlot, disk: AttachConfig): Promise<void>;
  /**
   * Take back an attach whose guest mount failed with `cause`. Rejects, with the error to
   * throw, when the disk stays attached (its rollback failed too).
   */
  undoAttach(slot: ScsiSlot, disk: AttachConfig, cause: WcowError): Promise<void>;
  /** Hot-remove the disk at `slot` (RemoveSCSI's host part: `removing VM resources: <e>`). */
  detach(slot: ScsiSlot): Promise<void>;
}

export interface ScsiGuestBackend {
  /** Mount the disk at `slot` on `guestPath` in the guest (`guest modify: <e>`). */
  mount(slot: ScsiSlot, guestPath: string): Promise<void>;
  /** Unmount it again before the disk is detached. */
  unmount(slot: ScsiSlot, guestPath: string): Promise<void>;
}

function attachment(disk: AttachConfig): { type: AttachmentType; path: string; readOnly: boolean; evdType?: string } {
  return { type: disk.type, path: disk.hostPath, readOnly: disk.readOnly, ...(disk.evdType !== undefined && { evdType: disk.evdType }) };
}

/**
 * The HCS backends of one UVM. v0.11.4 sends an add as one combined modify that uvm.modify
 * splits into the host Add and the guest request (a WCOW UVM always has its own GCS
 * connection, modify.go:15-50), and rolls the host part back with a Remove that keeps its
 * Settings; these are those halves, with the same documents and error texts.
 */
export function hcsScsiBackends(vm: UvmBackend): { host: ScsiHostBackend; guest: ScsiGuestBackend } {
  const send = (req: Parameters<UvmBackend['modify']>[0]): Promise<void> => vm.modify(req);
  return {
    host: {
      attach: (slot, disk) => addHostPart(send, scsiAttachmentAdd(slot.controller, slot.lun, attachment(disk))),
      async undoAttach(slot, disk, cause) {
        const undo = (): Promise<void> => send(asRemove(scsiAttachmentAdd(slot.controller, slot.lun, attachment(disk))));
        const err = await rollbackHostPart(undo, vm.id, cause);
        if (hostPartLeft(err)) throw err;
      },
      detach: (slot) => removeHostPart(send, scsiAttachmentRemove(slot.controller, slot.lun)),
    },
    guest: {
      mount: (slot, guestPath) => send({ GuestRequest: mappedVirtualDiskGuest('Add', guestPath, slot.lun) }),
      unmount: (slot, guestPath) => send({ GuestRequest: mappedVirtualDiskGuest('Remove', guestPath, slot.lun) }),
    },
  };
}
