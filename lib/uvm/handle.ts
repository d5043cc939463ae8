// What one add/assign call returns: a Closer holding one reference to a shared, refcounted
// entry (an attachment, share or device). Like hcsshim's scsi package, release is guarded:
// once it succeeded, release() does nothing. Unlike v0.11.4 (which forgets failed items), a
// failed release can be retried, and the retry must not count the reference down again.

import { ReleaseGuard, type Closer, type ResourceRecord } from '../resources/closer';
import { holdReference } from '../resources/journal/decorate';
import { handleUndos } from '../resources/journal/undo';

export abstract class RefHandle<E> implements Closer {
  abstract readonly kind: ResourceRecord['kind'];
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

/**
 * Journals a reference taken without an HCS call (a reused entry): no call, but the
 * container now holds the entry, and its journal must be able to undo it if the creator
 * releases and then the process dies (docs/differences.md#difference-8).
 */
export class Hold {
  #failure: { error: unknown } | undefined;

  /** Queue the journal record at once (inside the entry's lane, before another release can run); never throws. */
  async record(handle: RefHandle<unknown>): Promise<void> {
    try {
      await holdReference(handleUndos(handle.describe()));
    } catch (error) {
      this.#failure = { error };
    }
  }

  /**
   * If the journal could not record the reference, give it back and fail: a reference that
   * nobody could undo after a crash is not handed out. Called outside the entry's lane,
   * which the release takes.
   */
  async settle(handle: RefHandle<unknown>): Promise<void> {
    if (this.#failure === undefined) return;
    await handle.release().catch(() => undefined);
    throw this.#failure.error;
  }
}
