// The host side of SCSI (hcsshim HEAD internal/uvm/scsi attachManager; behaviour and texts of
// v0.11.4 scsi.go, docs/mounts.md#scsi-disks): which disk is attached at which controller/LUN, how many adds
// hold it, and the attach or detach in flight. README.md in this folder has the states.

import { ScsiNoSlotError, asWcowError, wrap } from '../../errors';
import { withJournal } from '../../resources/journal/journal';
import type { AttachConfig, ScsiHostBackend, ScsiSlot } from './backend';

/**
 * - `reserved`: taken from the UVM's creation on (LUN 0, its scratch): never matched by host
 *   path, handed out or released here.
 * - `attaching`: the add that made it is in flight; an add of the same path joins `done`.
 * - `attached`: in the UVM; `refCount` adds hold it (0 after a failed detach, kept for a retry).
 * - `detaching`: its last release is removing it; an add of the same path waits for `done`.
 * - `orphaned`: an add failed after the host attached it and its rollback failed too: HCS still
 *   has it, nobody holds it. Its LUN stays taken (handing it out again would fail at HCS for
 *   every later disk) and the next add removes it first (`reaping`).
 */
export type AttachState =
  | { readonly kind: 'reserved' }
  | { readonly kind: 'attaching'; readonly done: Promise<void> }
  | { readonly kind: 'attached' }
  | { readonly kind: 'detaching'; readonly done: Promise<void> }
  | { readonly kind: 'orphaned'; readonly reaping?: Promise<void> };

export interface Attachment extends ScsiSlot {
  readonly config: AttachConfig;
  /** The first adder's guest path, which every later add of the path gets too (docs/mounts.md#reusing-an-attachment); '' attaches without a guest mount. */
  readonly uvmPath: string;
  refCount: number;
  state: AttachState;
}

export class AttachManager {
  readonly #host: ScsiHostBackend;
  readonly #uvmId: string;
  /** scsiLocations[controller][lun] (types.go:90-91). */
  readonly #slots: (Attachment | undefined)[][];

  constructor(host: ScsiHostBackend, uvmId: string, controllers: number, luns: number, reserved: readonly ScsiSlot[]) {
    this.#host = host;
    this.#uvmId = uvmId;
    this.#slots = Array.from({ length: controllers }, () => new Array<Attachment | undefined>(luns).fill(undefined));
    for (const s of reserved) {
      const config: AttachConfig = { hostPath: '', type: 'VirtualDisk', readOnly: false, evdType: undefined };
      this.#slots[s.controller]![s.lun] = { controller: s.controller, lun: s.lun, config, uvmPath: '', refCount: 1, state: { kind: 'reserved' } };
    }
  }

  /**
   * AddSCSI's lookup (scsi.go:291-367): the attachment of `disk.hostPath` with one more
   * reference counted on it (`joined`; wait for `settled` before using it), or a new one at
   * the lowest free slot (scsi.go:165-175, freed LUNs first), reserved before the HCS call
   * and attached at once, then mounted in the guest by `mount`. Orphans are removed first; an
   * attachment being detached is waited for (hcsshim holds uvm.m across RemoveSCSI), then
   * found gone (a new attach) or kept after a failure (reused).
   */
  async acquire(disk: AttachConfig, uvmPath: string, mount: (a: Attachment) => Promise<void>): Promise<{ attachment: Attachment; joined: boolean }> {
    await this.#reapOrphans();
    for (;;) {
      const existing = this.#find(disk.hostPath);
      if (existing === undefined) break;
      if (existing.state.kind === 'detaching') {
        await existing.state.done.catch(() => undefined);
        continue;
      }
      // Reuse by exact host path only: the first caller's uvmPath, readOnly and type win
      // (docs/mounts.md#reusing-an-attachment). Counted before any wait so that a release cannot slip in.
      existing.refCount++;
      return { attachment: existing, joined: true };
    }
    const a = this.#reserve(disk, uvmPath);
    this.#attach(a, () => mount(a));
    return { attachment: a, joined: false };
  }

  /** The add that made `a`: its error, while or after it fails, is every joiner's too. */
  settled(a: Attachment): Promise<void> {
    return a.state.kind === 'attaching' ? a.state.done : Promise.resolve();
  }

  /**
   * Attach `a`, then mount it in the guest; when the mount fails the host attach is taken
   * back. Errors read `failed to modify UVM with new SCSI mount: <e>`; a failed attach or
   * rollback frees or orphans the slot.
   */
  #attach(a: Attachment, mount: () => Promise<void>): void {
    const done = (async () => {
      try {
        try {
          await this.#host.attach(a, a.config);
        } catch (err) {
          this.#free(a);
          throw err;
        }
        try {
          await mount();
        } catch (err) {
          const cause = asWcowError(err);
          try {
            await this.#host.undoAttach(a, a.config, cause);
          } catch (left) {
            a.refCount = 0;
            a.state = { kind: 'orphaned' };
            throw left;
          }
          this.#free(a);
          throw cause;
        }
        a.state = { kind: 'attached' };
      } catch (err) {
        throw wrap(err, 'failed to modify UVM with new SCSI mount', { op: 'scsi.add', resource: a.config.hostPath });
      }
    })();
    a.state = { kind: 'attaching', done };
    // Awaited through settled(); a failure is never left unhandled meanwhile.
    done.catch(() => undefined);
  }

  /** Whether `a` still holds its slot (another release may have detached it). */
  holds(a: Attachment): boolean {
    return this.#slots[a.controller]![a.lun] === a;
  }

  /**
   * RemoveSCSI (scsi.go:200-271) at refcount 0: `unmount` in the guest first, then the host
   * Remove without Settings. Concurrent calls share one removal. On failure the slot is NOT
   * freed (as in hcsshim): the disk may still be attached, so the LUN must not be handed out
   * again, and a later add of the same path reuses the attachment.
   */
  detach(a: Attachment, unmount: () => Promise<void>): Promise<void> {
    if (a.state.kind === 'detaching') return a.state.done;
    const done = (async () => {
      try {
        await unmount();
        await this.#host.detach(a);
        this.#free(a);
      } catch (err) {
        a.state = { kind: 'attached' };
        throw wrap(err, `failed to remove SCSI disk ${a.config.hostPath} from container ${this.#uvmId}`, { op: 'scsi.remove', resource: a.config.hostPath });
      }
    })();
    a.state = { kind: 'detaching', done };
    return done;
  }

  /**
   * `from`'s attachments, for a rehearsal of its UVM (lib/plan): what is in flight is taken as
   * done — an attach as attached, a detach as detached.
   */
  copyFrom(from: AttachManager): void {
    for (const a of from.attachments()) {
      if (a.state.kind === 'detaching') continue;
      const state: AttachState = a.state.kind === 'attaching' ? { kind: 'attached' } : a.state.kind === 'orphaned' ? { kind: 'orphaned' } : a.state;
      this.#slots[a.controller]![a.lun] = { ...a, state };
    }
  }

  /** Every slot in use, in controller and LUN order. */
  attachments(): Attachment[] {
    return this.#slots.flatMap((luns) => luns.filter((a): a is Attachment => a !== undefined));
  }

  /** findSCSIAttachment (scsi.go:187-197): exact, case-sensitive host path. */
  #find(hostPath: string): Attachment | undefined {
    return this.attachments().find((a) => a.state.kind !== 'reserved' && a.state.kind !== 'orphaned' && a.config.hostPath === hostPath);
  }

  #reserve(config: AttachConfig, uvmPath: string): Attachment {
    for (const [controller, luns] of this.#slots.entries()) {
      const lun = luns.indexOf(undefined);
      if (lun < 0) continue;
      const a: Attachment = { controller, lun, config, uvmPath, refCount: 1, state: { kind: 'attached' } };
      luns[lun] = a;
      return a;
    }
    throw new ScsiNoSlotError(undefined, { op: 'scsi.add', resource: config.hostPath });
  }

  /**
   * Remove orphaned attachments (host part only: the guest never mounted them). Outside any
   * container's journal: the one that made the orphan was kept for recover(), which finds
   * the disk gone if this succeeds. A failure leaves the orphan for the next add; concurrent
   * adds share one removal, and a reaped orphan (whose LUN may be another disk's by now) is
   * never sent a second Remove.
   */
  async #reapOrphans(): Promise<void> {
    for (const a of this.attachments()) {
      if (a.state.kind !== 'orphaned') continue;
      const reaping =
        a.state.reaping ??
        (async () => {
          try {
            await withJournal(undefined, () => this.#host.detach(a));
            this.#free(a);
          } catch {
            a.state = { kind: 'orphaned' }; // still attached: tried again by the next add
          }
        })();
      if (a.state.reaping === undefined) a.state = { kind: 'orphaned', reaping };
      await reaping;
    }
  }

  #free(a: Attachment): void {
    const luns = this.#slots[a.controller]!;
    if (luns[a.lun] === a) luns[a.lun] = undefined;
  }
}
