// Observability: every step of an allocation or release, and every call the host
// receives, is published on Node's diagnostics_channel as a tracing channel
// (`tracing:wcow-resources:step:start|end|asyncStart|asyncEnd|error`), and
// optionally logged to a pino-compatible logger. With no subscriber and no
// logger a step costs one branch: nothing is allocated. What is published or logged
// carries no credential spec (lib/credentials/redact.ts).

import { AsyncLocalStorage } from 'node:async_hooks';
import * as dc from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { redact } from '../credentials/redact';
import type { Host, UtilityVm } from '../host/types';

export const STEP_CHANNEL = 'wcow-resources:step';

/** A pino-compatible logger (pino, bunyan-style child loggers, or a console adapter). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface StepContext {
  /** `allocate`, `validate`, `layers.mount`, … for engine steps; the API name for host calls. */
  step: string;
  /** `step` for engine steps, `call` for a call the host received. */
  kind: 'step' | 'call';
  containerId?: string;
  /** The compute system or path the call addressed. */
  target?: string;
  /** performance.now() at start. */
  startedAt?: number;
  /** Set before `asyncEnd`/`error` are published. */
  durationMs?: number;
  /** Set by the tracing channel on failure. */
  error?: unknown;
}

const channel = dc.tracingChannel<unknown, StepContext>(STEP_CHANNEL);

export interface TraceOptions {
  containerId?: string;
  logger?: Logger;
}

// The container an operation works for travels with the async context, because
// one UVM's state (and so its calls) is shared by every container in it.
const current = new AsyncLocalStorage<TraceOptions>();

/** Run `fn` with `options` as the trace context of every step and call inside it. */
export function withTraceContext<T>(options: TraceOptions, fn: () => Promise<T>): Promise<T> {
  // Entering an AsyncLocalStorage context turns on promise hooks for the process;
  // with nobody listening there is nothing to attribute, so skip that cost.
  if (!channel.hasSubscribers && options.logger === undefined) return fn();
  return current.run(options, fn);
}

/** Run `fn` as a traced step of the current trace context. */
export function traceStep<T>(step: string, kind: StepContext['kind'], fn: () => Promise<T>, target?: string): Promise<T> {
  const options = current.getStore();
  const logger = options?.logger;
  if (!channel.hasSubscribers && logger === undefined) return fn();
  const ctx: StepContext = { step, kind, startedAt: performance.now() };
  if (options?.containerId !== undefined) ctx.containerId = options.containerId;
  if (target !== undefined) ctx.target = target;
  // Subscribers get a redacted copy of the result as `ctx.result` (lib/credentials/redact:
  // validate's result holds the spec, HcsGetServiceProperties lists every instance's); the
  // caller gets the value itself.
  let value: T;
  const timed = async (): Promise<unknown> => {
    try {
      value = await fn();
      ctx.durationMs = performance.now() - (ctx.startedAt as number);
      logger?.debug(redact({ ...ctx }) as object, `${step} done`);
      return redact(value);
    } catch (err) {
      ctx.durationMs = performance.now() - (ctx.startedAt as number);
      // Errors are redacted where they are made (WcowError).
      logger?.warn({ ...(redact({ ...ctx }) as object), err }, `${step} failed`);
      throw err;
    }
  };
  return channel.tracePromise(timed, ctx).then(() => value);
}

/** Subscribe to every step; returns the unsubscribe function. */
export function onStep(handlers: {
  start?: (ctx: StepContext) => void;
  end?: (ctx: StepContext) => void;
  error?: (ctx: StepContext) => void;
}): () => void {
  const h = {
    start: (m: unknown) => handlers.start?.(m as StepContext),
    end: () => undefined,
    asyncStart: () => undefined,
    asyncEnd: (m: unknown) => handlers.end?.(m as StepContext),
    error: (m: unknown) => handlers.error?.(m as StepContext),
  };
  channel.subscribe(h);
  return () => {
    channel.unsubscribe(h);
  };
}

const hostApis: Record<string, string> = {
  createUtilityVm: 'HcsCreateComputeSystem',
  openUtilityVm: 'HcsOpenComputeSystem',
  mkdirAll: 'MkdirAll',
  resolvePath: 'ResolvePath',
  nameToGuid: 'NameToGuid',
  createSandboxLayer: 'CreateSandboxLayer',
  expandSandboxSize: 'ExpandSandboxSize',
  activateLayer: 'ActivateLayer',
  deactivateLayer: 'DeactivateLayer',
  prepareLayer: 'PrepareLayer',
  unprepareLayer: 'UnprepareLayer',
  getLayerMountPath: 'GetLayerMountPath',
  grantVmAccess: 'GrantVmAccess',
  cimMountImage: 'CimMountImage',
  cimDismountImage: 'CimDismountImage',
  attachOverlayFilter: 'HcsAttachOverlayFilter',
  detachOverlayFilter: 'HcsDetachOverlayFilter',
  openVirtualDisk: 'OpenVirtualDisk',
  attachVirtualDisk: 'AttachVirtualDisk',
  openVolume: 'CreateFile',
  diskLength: 'IOCTL_DISK_GET_LENGTH_INFO',
  diskTotalBytes: 'GetDiskFreeSpaceEx',
  extendVolume: 'FSCTL_EXTEND_VOLUME',
  closeHandle: 'CloseHandle',
  modifyServiceSettings: 'HcsModifyServiceSettings',
  getServiceProperties: 'HcsGetServiceProperties',
};

const uvmApis: Record<string, string> = {
  modify: 'HcsModifyComputeSystem',
  guestRequest: 'GuestRequest',
  exec: 'Exec',
};

function traced<T extends object>(target: T, apis: Record<string, string>, targetOf: (args: unknown[]) => string | undefined): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function' || !(prop in apis)) return value;
      const api = apis[prop] as string;
      return (...args: unknown[]) =>
        traceStep(api, 'call', () => (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args), targetOf(args));
    },
  });
}

/**
 * A UtilityVm whose calls are traced as `call` steps. Wrap once per UVM (lib/uvm
 * does): the per-UVM state is keyed by the caller's object, not by this proxy.
 */
export function traceUtilityVm(uvm: UtilityVm): UtilityVm {
  return traced(uvm, uvmApis, () => uvm.id);
}

/** A Host whose calls are traced as `call` steps, so subscribers see what the host received. */
export function traceHost(host: Host): Host {
  return traced(host, hostApis, (args) => (typeof args[0] === 'string' ? args[0] : undefined));
}
