// The unit of release: hcsshim's `resources.ResourceCloser` (internal/resources/resources.go:96-98),
// plus what a crash journal needs to undo it later (`describe()`), and a release that can be
// called again (docs/behaviour.md#releasing-resources: hcsshim forgets failed items; we keep them so they can be retried).

import { asWcowError } from '../errors';

/**
 * What a closer holds, by kind: what Resources.toJSON lists and what a crash journal needs
 * to undo it in another process (the UVM id, host path, share name, LUN, instance id…).
 * Plain JSON; never a credential spec.
 */
export type ResourceRecord = ScsiRecord | VsmbRecord | PipeRecord | VpciRecord | CcgRecord | CombinedLayersRecord | LayersRecord;

/** A reference to a SCSI attachment and, when `uvmPath` is set, to the guest's mount of it. */
export interface ScsiRecord {
  kind: 'scsi';
  uvmId: string;
  hostPath: string;
  uvmPath: string;
  controller: number;
  lun: number;
  type: string;
  readOnly: boolean;
  evdType?: string;
}

/** A reference to a VSMB share (a directory, or a directory restricted to files). */
export interface VsmbRecord {
  kind: 'vsmb';
  uvmId: string;
  name: string;
  hostPath: string;
  readOnly: boolean;
  isDirShare: boolean;
}

export interface PipeRecord {
  kind: 'pipe';
  uvmId: string;
  hostPath: string;
}

/** A reference to a VPCI device assignment. */
export interface VpciRecord {
  kind: 'vpci';
  uvmId: string;
  pciId: string;
  index: number;
  vmBusGuid: string;
}

/** A Container Credential Guard instance; in a UVM also its hvsocket service entry. */
export interface CcgRecord {
  kind: 'ccg';
  id: string;
  uvmId?: string;
  hvSocketServiceId?: string;
}

/** The guest's union of a container's layers (the combined-layers request). */
export interface CombinedLayersRecord {
  kind: 'combined-layers';
  uvmId: string;
  rootPath: string;
}

/**
 * A container's image layers: activated (and prepared) on the host — WCIFS, or a forked CIM
 * with its volume and overlay filter — or shared into a UVM with the scratch on SCSI.
 */
export type LayersRecord =
  | { kind: 'layers'; isolation: 'process'; scratch: string; activated?: true; rootPath?: string }
  | { kind: 'layers'; isolation: 'process'; layers: 'forked-cim'; scratch: string; rootPath: string; volumeGuid: string }
  | { kind: 'layers'; isolation: 'hypervisor'; uvmId: string; rootPath: string; scratch: string; shares: string[]; lun: number };

export interface Closer {
  /** The kind of what describe() returns; Resources.release keys on `ccg`. */
  readonly kind: ResourceRecord['kind'];
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
 * A closer without a class of its own, for the engine (layers, CCG): `record` is what
 * describe() returns (a copy, so callers cannot change it afterwards); failures surface as
 * WcowError.
 */
export function closer(record: ResourceRecord, release: () => Promise<void>): Closer {
  const guard = new ReleaseGuard();
  const frozen = JSON.stringify(record);
  return {
    kind: record.kind,
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
