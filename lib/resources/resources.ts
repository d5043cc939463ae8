// hcsshim's `resources.Resources` and `ReleaseResources` (internal/resources/resources.go;
// docs/behaviour.md#releasing-resources): what one container acquired, released in reverse order with the
// layers last. Network namespaces are not tracked here: this package does not set up networking.

import { ReleaseError, asWcowError } from '../errors';
import type { Closer, ResourceRecord } from './closer';
import { withJournal, type Journal } from './journal/journal';
import type { Undo } from './journal/undo';

export interface ResourcesJson {
  id: string;
  containerRootInUvm?: string;
  closers: ResourceRecord[];
  layers?: ResourceRecord;
}

export class Resources {
  readonly id: string;
  /** The container's root inside the UVM, e.g. `C:\c\1` (hypervisor isolation only). */
  containerRootInUvm?: string;
  #closers: Closer[] = [];
  #layers: Closer | undefined;
  #journal: Journal | undefined;
  /** What the journal names that belongs to the UVM once this container is released (a pod sandbox's layers). */
  uvmOwned: readonly Undo[] = [];
  #abandoned = false;

  constructor(id: string) {
    this.id = id;
  }

  /** Appends in call order (resources.go:59-61). */
  add(...closers: Closer[]): void {
    this.#closers.push(...closers);
  }

  /** Overwrites the single layers slot (resources.go:53-55). */
  setLayers(layers: Closer | undefined): void {
    this.#layers = layers;
  }

  get layers(): Closer | undefined {
    return this.#layers;
  }

  /**
   * The container's crash journal (allocateWindowsResources({ journal })): release records
   * its removals there and deletes it once nothing is left (docs/differences.md#difference-8).
   */
  get journal(): Journal | undefined {
    return this.#journal;
  }

  set journal(journal: Journal | undefined) {
    this.#journal = journal;
  }

  /**
   * Hand what is left over to recover(): the journal is marked abandoned, so recover
   * releases it although this process lives (a rollback that failed leaves the caller
   * no Resources to retry with).
   */
  async abandon(): Promise<void> {
    this.#abandoned = true;
    await this.#journal?.abandon();
  }

  /** Handed to recover() by abandon(): what is left is no longer this object's to release. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** The closers not yet released, in add order. */
  get closers(): readonly Closer[] {
    return [...this.#closers];
  }

  /**
   * ReleaseResources (docs/behaviour.md#releasing-resources): closers in reverse add order — CCG instances
   * always, everything else only with `all` — then the layers closer last. `all` defaults to
   * true, so `release()` gives everything back; `release({ all: false })` is hcsshim's partial
   * mode (CCG and layers only, the mounts stay for their owner to remove).
   *
   * docs/differences.md#difference-2: hcsshim stops after the loop when any closer failed and returns
   * `failed to release one or more container resources` without releasing the layers (they
   * leak: the container scratch stays attached, the layer shares stay in the UVM), and it
   * forgets the failed closers (`r.resources = nil`). Here release always runs to the end,
   * layers included, and throws one ReleaseError listing every failure in order. Released
   * closers are dropped; failed ones stay, so another call retries exactly those, and a call
   * after a complete release does nothing.
   */
  release(options: { all?: boolean } = {}): Promise<void> {
    return withJournal(this.#journal, () => this.#release(options.all ?? true));
  }

  async #release(all: boolean): Promise<void> {
    const errors: Error[] = [];
    const pending = [...this.#closers].reverse();
    for (const c of pending) {
      if (!all && c.kind !== 'ccg') continue;
      try {
        await c.release();
        this.#drop(c);
      } catch (err) {
        errors.push(asWcowError(err));
      }
    }
    const layers = this.#layers;
    if (layers !== undefined) {
      try {
        await layers.release();
        if (this.#layers === layers) this.#layers = undefined;
      } catch (err) {
        errors.push(asWcowError(err));
      }
    }
    if (errors.length > 0) throw new ReleaseError(errors, undefined, { op: 'resources.release', resource: this.id });
    if (this.#closers.length === 0 && this.#layers === undefined && this.#journal !== undefined) {
      await this.#journal.handOver(this.uvmOwned);
      this.uvmOwned = [];
      // Released in memory, yet the journal names something still: it may be the only record
      // of it, so recover decides (it finds it gone, or left to a live holder) — never deleted.
      if (this.#journal.holds > 0) await this.#journal.abandon();
      else await this.#journal.remove();
      this.#journal = undefined;
    }
  }

  toJSON(): ResourcesJson {
    const json: ResourcesJson = {
      id: this.id,
      ...(this.containerRootInUvm !== undefined && { containerRootInUvm: this.containerRootInUvm }),
      closers: this.#closers.map((c) => c.describe()),
    };
    if (this.#layers !== undefined) json.layers = this.#layers.describe();
    return json;
  }

  #drop(c: Closer): void {
    const i = this.#closers.indexOf(c);
    if (i >= 0) this.#closers.splice(i, 1);
  }
}
