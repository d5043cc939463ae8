// What the host and its UVM handles share: the state, the call log, the file
// system, the latency model, and the one path every call takes — record, wait,
// check, commit — so that a failed call changes no state and every call is
// atomic: a call's checks and its state change run in one synchronous step after
// its last await, so concurrent calls (many containers allocating into one UVM)
// interleave only between calls, never inside one.

import { E_FAIL, hresultText } from '../../hcs/errors';
import { CallLog, type FaultSpec, type SimulatedCall } from './calls';
import { Rejection, errorFor } from './failure';
import type { WindowsFs } from './fs';
import type { HostState } from './state';

export interface LatencyOptions {
  /** Delay of every host-side call (HCS, vmcompute, file system), ms. */
  hostCallMs?: number;
  /** Delay of every guest request and guest process, ms. */
  guestRequestMs?: number;
}

const GUEST_APIS = new Set(['GuestRequest', 'Exec']);

/** A call in flight. */
export class PendingCall {
  constructor(
    readonly call: SimulatedCall,
    readonly fault: FaultSpec | undefined,
    private readonly delayMs: number,
  ) {}

  /** The call's latency; with none, one microtask (no timer), so callers still interleave. */
  async ready(): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    else await Promise.resolve();
  }

  /** Fail now if a fault was injected for this call. */
  throwIfFaulted(): void {
    const f = this.fault;
    if (f === undefined) return;
    const hresult = f.hresult ?? E_FAIL;
    throw new Rejection(hresult, f.result?.ErrorMessage ?? hresultText(hresult), f.result);
  }

  ok<T>(result: T): T {
    this.call.outcome = 'ok';
    if (result !== undefined) this.call.result = structuredClone(result);
    return result;
  }

  /** Record the failure and throw what the API reports. */
  fail(err: unknown): never {
    const e = err instanceof Rejection ? errorFor(this.call.api, this.call.target, err) : err;
    this.call.outcome = (e as { code?: string }).code ?? 'ERR_INTERNAL';
    throw e;
  }
}

export class SimCore {
  readonly log = new CallLog();

  constructor(
    public state: HostState,
    readonly fs: WindowsFs,
    private readonly latency: LatencyOptions,
    /** Called after every successful state-changing call (persistence). */
    readonly changed: () => Promise<void>,
  ) {}

  start(api: string, target: string | undefined, document?: unknown, args?: Record<string, unknown>): PendingCall {
    const { call, fault } = this.log.begin(api, target, document, args);
    const ms = (GUEST_APIS.has(api) ? this.latency.guestRequestMs : this.latency.hostCallMs) ?? 0;
    return new PendingCall(call, fault, ms);
  }

  /**
   * One call: `prepare` reads (file system, state) and returns the commit step,
   * which checks the state and changes it synchronously.
   */
  async invoke<T>(
    api: string,
    target: string | undefined,
    input: { document?: unknown; args?: Record<string, unknown> },
    prepare: () => Promise<() => T | Promise<T>>,
  ): Promise<T> {
    const p = this.start(api, target, input.document, input.args);
    try {
      await p.ready();
      const commit = await prepare();
      p.throwIfFaulted();
      const result = await commit();
      if (p.call.mutating) await this.changed();
      return p.ok(result);
    } catch (err) {
      return p.fail(err);
    }
  }
}
