// The unit of release: hcsshim's `resources.ResourceCloser` (internal/resources/resources.go:96-98),
// plus what a crash journal needs to undo it later (`describe()`), and a release that can be
// called again (docs/behaviour.md#releasing-resources: hcsshim forgets failed items; we keep them so they can be retried).

import { asWcowError } from '../errors';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Everything needed to undo a resource later from a journal, in another process: the UVM id,
 * host path, share name, LUN, instance id… Plain JSON; never a credential spec. `undefined`
 * is only allowed so optional fields type-check — describe() leaves absent fields out.
 */
export interface ResourceRecord {
  kind: string;
  uvmId?: string;
  [key: string]: JsonValue | undefined;
}

export interface Closer {
  /** `scsi`, `vsmb`, `pipe`, `vpci`, `layers`, `ccg`, `driver`, … Resources.release keys on `ccg`. */
  readonly kind: string;
  describe(): ResourceRecord;
  /** Idempotent: a call after a successful one does nothing; a call after a failed one retries. */
  release(): Promise<void>;
}

/**
 * Makes a release function idempotent (docs/behaviour.md#releasing-resources: hcsshim's scsi package guards release so a
 * second call cannot double-free). Concurrent calls share one attempt; after success every
 * call resolves at once; after a failure the next call runs the function again.
 */
export class ReleaseGuard {
  #done = false;
  #pending: Promise<void> | undefined;

  get released(): boolean {
    return this.#done;
  }

  run(release: () => Promise<void>): Promise<void> {
    if (this.#done) return Promise.resolve();
    if (this.#pending === undefined) {
      // An async body: a synchronous throw in `release` becomes a rejection, and the
      // synchronous part (e.g. a refcount decrement) still runs before run() returns.
      this.#pending = (async () => {
        try {
          await release();
          this.#done = true;
        } finally {
          this.#pending = undefined;
        }
      })();
    }
    return this.#pending;
  }
}

/**
 * A closer without a class of its own, for the engine (layers, CCG, drivers): `record` is what
 * describe() returns (a copy, so callers cannot change it afterwards); failures surface as
 * WcowError.
 */
export function closer(kind: string, record: ResourceRecord, release: () => Promise<void>): Closer {
  const guard = new ReleaseGuard();
  const frozen = JSON.stringify({ ...record, kind });
  return {
    kind,
    describe: () => JSON.parse(frozen) as ResourceRecord,
    release: () =>
      guard.run(async () => {
        try {
          await release();
        } catch (err) {
          throw asWcowError(err);
        }
      }),
  };
}
