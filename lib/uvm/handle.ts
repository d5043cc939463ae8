// What one add/assign call returns: a Closer holding one reference to a shared, refcounted
// entry (an attachment, share or device). Like hcsshim's scsi package, release is guarded:
// once it succeeded, release() does nothing. Unlike v0.11.4 (which forgets failed items), a
// failed release can be retried, and the retry must not count the reference down again.

import { ReleaseGuard, type Closer, type ResourceRecord } from '../resources/closer';

export abstract class RefHandle<E> implements Closer {
  abstract readonly kind: string;
  protected readonly entry: E;
  readonly #guard = new ReleaseGuard();
  #holdsReference = true;

  constructor(entry: E) {
    this.entry = entry;
  }

  abstract describe(): ResourceRecord;

  release(): Promise<void> {
    return this.#guard.run(() => this.releaseReference(() => this.#takeReference()));
  }

  /**
   * Drop the reference (call `countDown` at the point the entry's refcount is decremented; it
   * answers true only the first time) and remove the entry if it was the last.
   */
  protected abstract releaseReference(countDown: () => boolean): Promise<void>;

  #takeReference(): boolean {
    const held = this.#holdsReference;
    this.#holdsReference = false;
    return held;
  }
}
