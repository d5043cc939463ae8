// Devices assigned to a WCOW UVM over virtual PCI — internal/uvm/virtual_device.go (
// docs/layers.md#devices-in-a-utility-vm). One assignment per (device instance path, virtual function index), refcounted;
// the VMBus channel GUID is chosen here and names the assignment in HCS.

import { randomUUID } from 'node:crypto';
import { NotFoundError, wrap } from '../errors';
import { VMBUS_CHANNEL_TYPE, VMBUS_ENUMERATOR } from '../hcs/constants';
import { virtualPciAdd, virtualPciRemove } from '../hcs/documents';
import type { ResourceRecord } from '../resources/closer';
import { dropReference } from '../resources/journal/decorate';
import type { UvmBackend } from './backend';
import { Hold, RefHandle } from './handle';
import { Lanes } from './lanes';

/** One assignment (internal to lib/uvm). */
export interface VpciEntry {
  readonly pciId: string;
  readonly index: number;
  /** Lower-case v4 GUID without braces (guid.NewV4().String()). */
  readonly vmBusGuid: string;
  refCount: number;
}

export interface VpciRefcount {
  pciId: string;
  index: number;
  vmBusGuid: string;
  refCount: number;
}

export class VpciManager {
  readonly #vm: UvmBackend;
  readonly #devices = new Map<string, VpciEntry>();
  readonly #lanes = new Lanes();

  constructor(vm: UvmBackend) {
    this.#vm = vm;
  }

  get uvmId(): string {
    return this.#vm.id;
  }

  /**
   * AssignDevice (virtual_device.go:82-147): an existing key counts up without an HCS call;
   * a new one is a host-only Add (WCOW sends no guest request). With `idType` the error reads
   * as devices.AddDevice wraps it, `failed to assign device <id> of type <t> to pod <uvm>: <e>`;
   * without, it is returned as AssignDevice returns it.
   */
  async assign(pciId: string, index: number, idType?: string): Promise<VpciDevice> {
    const key = this.#key(pciId, index);
    const hold = new Hold();
    const device = await this.#lanes.run(key, async () => {
      const existing = this.#devices.get(key);
      if (existing !== undefined) {
        existing.refCount++;
        const reused = new VpciDevice(this, existing);
        await hold.record(reused);
        return reused;
      }
      const entry: VpciEntry = { pciId, index, vmBusGuid: randomUUID(), refCount: 1 };
      try {
        await this.#vm.modify(virtualPciAdd(entry.vmBusGuid, [{ deviceInstancePath: pciId, virtualFunction: index }]));
      } catch (err) {
        if (idType === undefined) throw err;
        throw wrap(err, `failed to assign device ${pciId} of type ${idType} to pod ${this.#vm.id}`, { op: 'vpci.assign', resource: pciId });
      }
      this.#devices.set(key, entry);
      return new VpciDevice(this, entry);
    });
    await hold.settle(device);
    return device;
  }

  /**
   * RemoveDevice (virtual_device.go:152-175): count down, Remove at 0. Unlike hcsshim, which
   * forgets the device before sending the Remove, a failed Remove keeps it (refcount 0) so
   * that a retry can send it again; a new assignment of the key meanwhile reuses it.
   */
  remove(pciId: string, index: number): Promise<void> {
    const key = this.#key(pciId, index);
    return this.#lanes.run(key, async () => {
      const entry = this.#devices.get(key);
      if (entry === undefined || entry.refCount === 0) {
        throw new NotFoundError(`no device with ID ${pciId} and index ${index} is present on the uvm ${this.#vm.id}`, {
          op: 'vpci.remove',
          resource: pciId,
        });
      }
      entry.refCount--;
      await this.#removeAtZero(entry);
    });
  }

  /** A handle's release: count down (once per handle, even across retries), Remove at 0. */
  release(entry: VpciEntry, countDown: () => boolean): Promise<void> {
    return this.#lanes.run(this.#key(entry.pciId, entry.index), async () => {
      const counted = countDown();
      if (counted) entry.refCount--;
      if (counted && entry.refCount > 0) await dropReference([{ op: 'vpci.remove', uvmId: this.#vm.id, vmBusGuid: entry.vmBusGuid }]);
      await this.#removeAtZero(entry);
    });
  }

  /** `from`'s assignments, for a rehearsal of its UVM (lib/plan). */
  copyFrom(from: VpciManager): void {
    for (const [key, e] of from.#devices) this.#devices.set(key, { ...e });
  }

  refcounts(): VpciRefcount[] {
    return [...this.#devices.values()].map((e) => ({ pciId: e.pciId, index: e.index, vmBusGuid: e.vmBusGuid, refCount: e.refCount }));
  }

  async #removeAtZero(entry: VpciEntry): Promise<void> {
    const key = this.#key(entry.pciId, entry.index);
    if (entry.refCount > 0 || this.#devices.get(key) !== entry) return;
    await this.#vm.modify(virtualPciRemove(entry.vmBusGuid));
    this.#devices.delete(key);
  }

  #key(pciId: string, index: number): string {
    return `${pciId}\u0000${index}`;
  }
}

/** What one AssignDevice returned (hcsshim's *VPCIDevice; one per caller so release is once-only). */
export class VpciDevice extends RefHandle<VpciEntry> {
  readonly kind = 'vpci';
  readonly #manager: VpciManager;

  constructor(manager: VpciManager, entry: VpciEntry) {
    super(entry);
    this.#manager = manager;
  }

  get pciId(): string {
    return this.entry.pciId;
  }
  get index(): number {
    return this.entry.index;
  }
  get vmBusGuid(): string {
    return this.entry.vmBusGuid;
  }
  /** `VMBUS\{44c4f61d-4444-4400-9d52-802e27ede19f}\{<vmBusGuid>}` (GetAssignedDeviceVMBUSInstanceID). */
  get vmBusInstanceId(): string {
    return `${VMBUS_ENUMERATOR}\\${VMBUS_CHANNEL_TYPE}\\{${this.entry.vmBusGuid}}`;
  }

  describe(): ResourceRecord {
    const e = this.entry;
    return { kind: this.kind, uvmId: this.#manager.uvmId, pciId: e.pciId, index: e.index, vmBusGuid: e.vmBusGuid };
  }

  /** VPCIDevice.Release: `failed to remove VPCI device: <e>`. */
  protected async releaseReference(countDown: () => boolean): Promise<void> {
    try {
      await this.#manager.release(this.entry, countDown);
    } catch (err) {
      throw wrap(err, 'failed to remove VPCI device', { op: 'vpci.release', resource: this.entry.pciId });
    }
  }
}
