// The VHDX engine's TypeScript facade: every call runs on a native worker
// thread (the event loop never blocks) and fails with a WcowError
// (ERR_VHDX_EXISTS, ERR_VHDX_CORRUPT, ERR_INVALID_ARGUMENT, ERR_IO + errno).
// Calls on the same file are serialized within this process: two writers
// appending blocks to one file at once would allocate the same space.
import * as path from 'node:path';
import { callNative, native } from '../native';
import type { CreateDifferencingVhdxOptions, CreateVhdxOptions, VhdxInfo } from './types';

export type * from './types';

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` after every earlier call on the same file has settled. A `file`
 * that is not a string (a JavaScript caller's mistake) is not queued: the
 * native call rejects it with ERR_INVALID_ARGUMENT, never a synchronous TypeError.
 */
function exclusive<T>(file: string, fn: () => Promise<T>): Promise<T> {
  if (typeof file !== 'string') return fn();
  const key = path.resolve(file);
  const previous = queues.get(key);
  // Nothing in flight on the file (the usual case): start at once, not a microtask later.
  const run = previous === undefined ? fn() : previous.then(fn, fn);
  const tail = run.then(noop, noop);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

function noop(): void {}

/** A dynamic VHDX (hcsshim's `CreateSandboxLayer` scratch disk shape by default: 1 MiB blocks). */
export function createVhdx(file: string, options: CreateVhdxOptions): Promise<void> {
  return exclusive(file, () => callNative('vhdx.create', () => native().vhdxCreate(file, options), file));
}

/**
 * Whether a create may run on the calling thread: unflushed (a dozen small writes, no wait
 * for the disk) and no other call on the file in flight (they stay serialized).
 */
function inline(file: string, options: { flush?: boolean } | null): boolean {
  return typeof file === 'string' && typeof options === 'object' && options?.flush === false && !queues.has(path.resolve(file));
}

/**
 * createVhdx for the simulated host (lib/host/simulated), whose CreateSandboxLayer writes an
 * unflushed scratch: then the engine runs on the calling thread, because the round trip through
 * the libuv pool cost more than the work (most of a fresh container's cycle on a busy machine).
 * Otherwise, and in what it writes, exactly createVhdx.
 */
export function createVhdxInline(file: string, options: CreateVhdxOptions): Promise<void> {
  if (!inline(file, options)) return createVhdx(file, options);
  return callNative('vhdx.create', () => native().vhdxCreate(file, options, true), file);
}

/**
 * A differencing VHDX over `options.parentPath`, which this process opens; the
 * parent locator records `relativePath` / `absoluteWin32Path` / `volumePath`,
 * which a caller simulating Windows may set to Windows paths.
 */
export function createDifferencingVhdx(file: string, options: CreateDifferencingVhdxOptions): Promise<void> {
  const passed = withLocatorDefaults(file, options);
  return exclusive(file, () =>
    callNative('vhdx.createDifferencing', () => native().vhdxCreateDifferencing(file, passed), file),
  );
}

/** createDifferencingVhdx on the calling thread when createVhdxInline's conditions hold (the parent is opened too). */
export function createDifferencingVhdxInline(file: string, options: CreateDifferencingVhdxOptions): Promise<void> {
  if (!inline(file, options) || (typeof options.parentPath === 'string' && queues.has(path.resolve(options.parentPath)))) {
    return createDifferencingVhdx(file, options);
  }
  const passed = withLocatorDefaults(file, options);
  return callNative('vhdx.createDifferencing', () => native().vhdxCreateDifferencing(file, passed, true), file);
}

function withLocatorDefaults(file: string, options: CreateDifferencingVhdxOptions): CreateDifferencingVhdxOptions {
  // `options` not an object (null from JavaScript): the native call rejects it.
  if (typeof options !== 'object' || options === null) return options;
  const resolved: CreateDifferencingVhdxOptions = { ...options };
  if (typeof file === 'string' && typeof resolved.parentPath === 'string' && resolved.parentPath !== '') {
    resolved.relativePath ??= defaultRelativePath(file, resolved.parentPath);
    if (process.platform === 'win32') resolved.absoluteWin32Path ??= path.resolve(resolved.parentPath);
  }
  return resolved;
}

/** The parent relative to the child's directory, as Windows records it (`.\parent.vhdx`, `..\base\parent.vhdx`). */
function defaultRelativePath(child: string, parent: string): string {
  const relative = path.relative(path.dirname(path.resolve(child)), path.resolve(parent)).split(path.sep).join('\\');
  return relative.startsWith('..') ? relative : `.\\${relative}`;
}

/** Validates the whole file (CRCs, regions, metadata, every BAT entry) and describes it. */
export function inspectVhdx(file: string): Promise<VhdxInfo> {
  return exclusive(file, () => callNative('vhdx.inspect', () => native().vhdxInspect(file), file));
}

/** Grows a dynamic VHDX to `newSizeBytes` (hcsshim `ExpandSandboxSize`), keeping its data. */
export function expandVhdx(file: string, newSizeBytes: number): Promise<void> {
  return exclusive(file, () => callNative('vhdx.expand', () => native().vhdxExpand(file, newSizeBytes), file));
}

/** `length` bytes of the virtual disk at `offset` (through the parent chain for a differencing disk). */
export function readVhdx(file: string, offset: number, length: number): Promise<Buffer> {
  return exclusive(file, () => callNative('vhdx.read', () => native().vhdxRead(file, offset, length), file));
}

/** Writes `data` to the virtual disk at `offset`, allocating blocks as needed; flushed when it resolves. */
export function writeVhdx(file: string, offset: number, data: Uint8Array): Promise<void> {
  return exclusive(file, () => callNative('vhdx.write', () => native().vhdxWrite(file, offset, data), file));
}
