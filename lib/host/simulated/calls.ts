// The observables of the simulated host: every call it receives, in order, and
// the faults a test injects into them (docs/behaviour.md#simulated-host-observables).

import type { HcsResultDocument } from '../../errors';
import type { HostCall } from '../types';
import { cloneValue, wireCopy } from './copy';

/** The APIs whose successful calls change host, HCS, UVM or guest state. */
export const STATE_CHANGING_APIS: ReadonlySet<string> = new Set([
  'HcsCreateComputeSystem',
  'HcsTerminateComputeSystem',
  'HcsModifyComputeSystem',
  'GuestRequest',
  // guest processes create directories (mkdir) and install drivers (pnputil)
  'Exec',
  'CreateSandboxLayer',
  'ExpandSandboxSize',
  'ActivateLayer',
  'DeactivateLayer',
  'PrepareLayer',
  'UnprepareLayer',
  'GrantVmAccess',
  'HcsModifyServiceSettings',
  'MkdirAll',
  'CimMountImage',
  'CimDismountImage',
  'HcsAttachOverlayFilter',
  'HcsDetachOverlayFilter',
  // virtdisk: an attach holds the disk until its handle is closed; the volume grows
  'AttachVirtualDisk',
  'CloseHandle',
  'FSCTL_EXTEND_VOLUME',
]);

/** One recorded call: the HostCall fields plus what the model made of it. */
export interface SimulatedCall extends HostCall {
  /** Whether the API changes state (STATE_CHANGING_APIS). */
  mutating: boolean;
  /** What a successful call returned (GUID, mount path, process result, properties). */
  result?: unknown;
}

export interface FaultSpec {
  /** The API to fail (`HcsModifyComputeSystem`, `PrepareLayer`, …), or `*` for every API. */
  api: string;
  /** Fail the nth call (1-based) that matches, counted from injection; default 1. */
  nth?: number;
  /** How many consecutive matching calls fail from the nth on; default 1, `Infinity` until removed. */
  times?: number;
  /** Only calls for which this returns true match (it sees the recorded call). */
  match?: (call: SimulatedCall) => boolean;
  /** The HRESULT to fail with; default E_FAIL (0x80004005). */
  hresult?: number;
  /** The HCS result document to return (compute-system and service calls). */
  result?: HcsResultDocument;
  /** Exec only: instead of failing, the process exits with this code (and stderr / stdout). */
  exitCode?: number;
  stderr?: string;
  stdout?: string;
}

export interface FaultHandle {
  /** How many calls this fault has failed so far. */
  readonly fired: number;
  remove(): void;
}

interface Fault {
  spec: FaultSpec;
  seen: number;
  fired: number;
}


/**
 * How many calls the log keeps by default (SimulatedHost `maxCalls`): one allocation and
 * release of a large spec is a few hundred calls, so this holds dozens of cycles while a
 * long-running process stays at a few MiB.
 */
export const DEFAULT_MAX_CALLS = 10_000;

/** How many calls past the bound the log holds at most between reads (CallLog.trim). */
const TRIM_SLACK = 1000;

export class CallLog {
  /** Every call received since the log was last trimmed, oldest first. */
  readonly #calls: SimulatedCall[] = [];
  private faults: Fault[] = [];
  /** Told of every call as it is recorded (a rehearsal's calls, SimulatedHost.rehearse). */
  onBegin: ((call: SimulatedCall) => void) | undefined;

  constructor(private maxCalls = DEFAULT_MAX_CALLS) {}

  /** The last `maxCalls` calls received, oldest first. */
  get calls(): SimulatedCall[] {
    this.trim(0);
    return this.#calls;
  }

  /** Keep only the last `max` calls from now on (a positive integer, or Infinity). */
  limit(max: number): void {
    this.maxCalls = max;
    this.trim(0);
  }

  /**
   * Drop the calls past the bound once more than `slack` are: a full log dropped one call
   * per call, and shifting a 10 000-call array moved all of it (V8 moves an array's start
   * only outside garbage-collector marking) — a visible share of every call of a long-lived host.
   */
  private trim(slack: number): void {
    const excess = this.#calls.length - this.maxCalls;
    if (excess > slack) this.#calls.splice(0, excess);
  }

  /**
   * Record a call and decide now, in call order, whether a fault fires on it —
   * so `nth` is deterministic however concurrent calls interleave later.
   */
  begin(api: string, target: string | undefined, document?: unknown, args?: Record<string, unknown>): { call: SimulatedCall; fault?: FaultSpec } {
    const call: SimulatedCall = { api, mutating: STATE_CHANGING_APIS.has(api) };
    if (target !== undefined) call.target = target;
    if (document !== undefined) call.document = wireCopy(document);
    if (args !== undefined) call.args = cloneValue(args);
    this.#calls.push(call);
    // Read through `calls`, which trims to the bound first.
    this.trim(Math.min(TRIM_SLACK, this.maxCalls));
    this.onBegin?.(call);
    for (const f of this.faults) {
      if (f.spec.api !== '*' && f.spec.api !== api) continue;
      if (f.spec.match && !f.spec.match(call)) continue;
      f.seen++;
      const first = f.spec.nth ?? 1;
      if (f.seen >= first && f.seen < first + (f.spec.times ?? 1)) {
        f.fired++;
        return { call, fault: f.spec };
      }
    }
    return { call };
  }

  inject(spec: FaultSpec): FaultHandle {
    const f: Fault = { spec, seen: 0, fired: 0 };
    this.faults.push(f);
    return {
      get fired() {
        return f.fired;
      },
      remove: () => {
        this.faults = this.faults.filter((x) => x !== f);
      },
    };
  }

  clear(): void {
    this.#calls.length = 0;
  }
}
