// What the host and its UVM handles share: the state, the call log, the file
// system, the latency model, and the one path every call takes — record, wait,
// check, commit — so that a failed call changes no state and every call is
// atomic: a call's checks and its state change run in one synchronous step after
// its last await, so concurrent calls (many containers allocating into one UVM)
// interleave only between calls, never inside one.

import { E_FAIL, hresultText } from '../../hcs/errors';
import { CallLog, type FaultSpec, type SimulatedCall } from './calls';
import { cloneValue } from './copy';
import { Rejection, errorFor } from './failure';
import type { WindowsFs } from './fs';
import type { StateStore } from './persist';
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
    if (result !== undefined) this.call.result = cloneValue(result);
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
  /** Transactions of this process in flight: the in-memory state is theirs until they end. */
  #depth = 0;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(
    public state: HostState,
    readonly fs: WindowsFs,
    private readonly latency: LatencyOptions,
    /** Where the state persists, shared with other processes (persist.ts); none: in memory only. */
    private readonly store: StateStore | undefined,
  ) {}

  start(api: string, target: string | undefined, document?: unknown, args?: Record<string, unknown>): PendingCall {
    const { call, fault } = this.log.begin(api, target, document, args);
    const ms = (GUEST_APIS.has(api) ? this.latency.guestRequestMs : this.latency.hostCallMs) ?? 0;
    return new PendingCall(call, fault, ms);
  }

  /** Take what another process wrote, unless a transaction of this process is using the state. */
  refresh(): void {
    if (this.store === undefined || this.#depth > 0) return;
    const fresh = this.store.changed();
    if (fresh !== undefined) this.state = fresh;
  }

  /**
   * A state change as one locked read-modify-write (persist.ts): one at a time in this
   * process, under the state directory's lock, on the latest state, written before the lock
   * is released — when `fn` succeeds (a failed call changes nothing). In memory only: `fn`.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    const store = this.store;
    if (store === undefined) return fn();
    const run = async (): Promise<T> => {
      this.#depth++;
      const held = await store.lock();
      try {
        const fresh = store.changed();
        if (fresh !== undefined) this.state = fresh;
        const value = await fn();
        store.save(this.state);
        return value;
      } finally {
        held.release();
        this.#depth--;
      }
    };
    const turn = this.#turn.then(run, run);
    this.#turn = turn.catch(() => undefined);
    return turn;
  }

  /** The same for the synchronous set-up calls (addPhysicalDrive, …), made while nothing else runs. */
  transactionSync(fn: () => void): void {
    const store = this.store;
    if (store === undefined) return fn();
    if (this.#depth > 0) throw new Error('simulated host: a set-up call while calls are in flight');
    const held = store.lockSync();
    try {
      const fresh = store.changed();
      if (fresh !== undefined) this.state = fresh;
      fn();
      store.save(this.state);
    } finally {
      held.release();
    }
  }

  /**
   * One call: `prepare` reads (file system, state) and returns the commit step,
   * which checks the state and changes it synchronously. A state-changing call does
   * both in one transaction; a reading one on the latest state written.
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
      const run = async (): Promise<T> => {
        const commit = await prepare();
        p.throwIfFaulted();
        return commit();
      };
      if (p.call.mutating) return p.ok(await this.transaction(run));
      this.refresh();
      return p.ok(await run());
    } catch (err) {
      return p.fail(err);
    }
  }
}
