// Aborting inside a step: an allocation's signal travels with its async context, and the
// Host and UtilityVm views made here check it before every call and hand it to the calls
// that can be cancelled (HcsModifyComputeSystem, guest requests, guest processes — the
// native host cancels them with HcsCancelOperation, the simulated one does not commit
// them). So an abort stops the allocation within one call's latency instead of at the
// next step (hcsshim checks its context only between HCS operations too, but each of
// its calls is bounded by it; ours are bounded by the signal).
//
// Only calls that take or change something are refused: removals and reads always run,
// because the rollback that follows an abort runs in the same context and must run to the
// end (docs/differences.md#difference-2) — and release paths read too (RemoveVSMB re-stats its source,
// vsmb.go:236-276). A read costs no resource, and the next acquisition after it is refused.

import { AsyncLocalStorage } from 'node:async_hooks';
import { AbortedError } from '../errors';
import type { GuestModificationRequest, ModifySettingRequest, ServiceModificationRequest } from '../hcs/schema';
import type { Host, UtilityVm } from './types';

const scope = new AsyncLocalStorage<AbortSignal>();

/** Run `fn` with `signal` as the abort signal of every host and UVM call inside it. */
export function withAbortSignal<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  return signal === undefined ? fn() : scope.run(signal, fn);
}

/** The signal of the current scope, once it has fired: a call that takes something must not start. */
function checkSignal(api: string, target: string | undefined): AbortSignal | undefined {
  const signal = scope.getStore();
  if (signal?.aborted) {
    throw new AbortedError(`${api} was not started: the operation was aborted`, {
      op: api,
      ...(target === undefined ? {} : { resource: target }),
      cause: signal.reason,
    });
  }
  return signal;
}

/** The caller's own signal and the scope's, as one. */
function combined(own: AbortSignal | undefined, scoped: AbortSignal | undefined): { signal?: AbortSignal } {
  if (scoped === undefined) return own === undefined ? {} : { signal: own };
  return { signal: own === undefined ? scoped : AbortSignal.any([own, scoped]) };
}

type Method = (...args: unknown[]) => Promise<unknown>;

/** Per API method: whether a call with these arguments only reads or gives something back (never aborted). */
type Calls = Record<string, (...args: never[]) => boolean>;

const never = (): boolean => false;
const always = (): boolean => true;

const hostCalls: Calls = {
  createUtilityVm: never,
  openUtilityVm: never,
  stat: always,
  mkdirAll: never,
  resolvePath: always,
  nameToGuid: always,
  createSandboxLayer: never,
  expandSandboxSize: never,
  activateLayer: never,
  deactivateLayer: always,
  prepareLayer: never,
  unprepareLayer: always,
  getLayerMountPath: always,
  grantVmAccess: never,
  openVirtualDisk: never,
  attachVirtualDisk: never,
  openVolume: never,
  diskLength: always,
  diskTotalBytes: always,
  extendVolume: never,
  closeHandle: always,
  modifyServiceSettings: (req: ServiceModificationRequest) => req.Settings?.Operation === 'RemoveInstance',
  getServiceProperties: always,
};

const uvmCalls: Calls = {
  modify: (req: ModifySettingRequest) => req.RequestType === 'Remove',
  guestRequest: (req: GuestModificationRequest) => req.RequestType === 'Remove',
  exec: never,
  close: always,
};

/** UtilityVm methods whose last argument is `{ signal? }`. */
const CANCELLABLE: ReadonlySet<string> = new Set(['modify', 'guestRequest', 'exec']);

function abortable<T extends object>(target: T, calls: Calls, targetOf: (args: unknown[]) => string | undefined): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      const exempt = typeof prop === 'string' && Object.hasOwn(calls, prop) ? (calls[prop] as (...a: unknown[]) => boolean) : undefined;
      if (exempt === undefined || typeof value !== 'function') return value;
      const method = value as Method;
      return (...args: unknown[]) => {
        if (exempt(...args)) return method.apply(obj, args);
        let scoped: AbortSignal | undefined;
        try {
          scoped = checkSignal(prop as string, targetOf(args));
        } catch (err) {
          return Promise.reject(err);
        }
        if (scoped === undefined || !CANCELLABLE.has(prop as string)) return method.apply(obj, args);
        // The request, then the options: `{ ...options, signal }`.
        const [request, options] = args as [unknown, { signal?: AbortSignal } | undefined];
        return method.call(obj, request, { ...options, ...combined(options?.signal, scoped) });
      };
    },
  });
}

/** A Host whose acquiring calls are refused once the scope's signal has fired. */
export function abortableHost(host: Host): Host {
  return abortable(host, hostCalls, (args) => (typeof args[0] === 'string' ? args[0] : undefined));
}

/** A UtilityVm whose acquiring calls are refused, or cancelled in flight, once the scope's signal fires. */
export function abortableUtilityVm(uvm: UtilityVm): UtilityVm {
  return abortable(uvm, uvmCalls, () => uvm.id);
}
