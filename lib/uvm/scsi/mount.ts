// The guest side of SCSI (hcsshim HEAD internal/uvm/scsi mountManager): which attached disk
// the guest has mounted where, and how many holders the mount has. In v0.11.4 a WCOW disk is
// mounted once, at its first adder's path (docs/mounts.md#reusing-an-attachment): later adds of the disk hold that
// mount, and it is unmounted when the disk is detached.

import type { ScsiGuestBackend, ScsiSlot } from './backend';

export interface GuestMount extends ScsiSlot {
  readonly path: string;
  refCount: number;
}

function slotKey(s: ScsiSlot): string {
  return `${s.controller}:${s.lun}`;
}

export class MountManager {
  readonly #guest: ScsiGuestBackend;
  readonly #mounts = new Map<string, GuestMount>();

  constructor(guest: ScsiGuestBackend) {
    this.#guest = guest;
  }

  /** Mount the disk at `slot` on `path`: one holder. A failed mount is not kept. */
  async mount(slot: ScsiSlot, path: string): Promise<void> {
    const m: GuestMount = { controller: slot.controller, lun: slot.lun, path, refCount: 1 };
    this.#mounts.set(slotKey(slot), m);
    try {
      await this.#guest.mount(slot, path);
    } catch (err) {
      this.#mounts.delete(slotKey(slot));
      throw err;
    }
  }

  /** `from`'s mounts, for a rehearsal of its UVM (lib/plan). */
  copyFrom(from: MountManager): void {
    for (const [key, m] of from.#mounts) this.#mounts.set(key, { ...m });
  }

  /** The guest's mount of the disk at `slot`, if any. */
  mounted(slot: ScsiSlot): GuestMount | undefined {
    return this.#mounts.get(slotKey(slot));
  }

  /** One more holder of the disk's mount, without a call; undefined when the guest has none. */
  hold(slot: ScsiSlot): GuestMount | undefined {
    const m = this.mounted(slot);
    if (m !== undefined) m.refCount++;
    return m;
  }

  /** One holder fewer; the mount stays until `unmount`. */
  drop(m: GuestMount): void {
    m.refCount--;
  }

  /**
   * Before the disk at `slot` is detached: unmount it if the guest has it mounted and nobody
   * holds the mount. A failed unmount keeps it, so that the retry sends it again; after a
   * successful one a retried detach sends only its host part (the guest would answer "not
   * mounted" forever). An attach-only disk has no mount: hcsshim sends an LCOW-shaped guest
   * request for it (scsi.go:243-263), which the Windows GCS would reject, so none is sent.
   */
  async unmount(slot: ScsiSlot): Promise<void> {
    const m = this.mounted(slot);
    if (m === undefined || m.refCount > 0) return;
    await this.#guest.unmount(slot, m.path);
    this.#mounts.delete(slotKey(slot));
  }
}
