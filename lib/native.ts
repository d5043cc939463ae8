// The one place the addon is loaded (node-gyp-build: build/Release → build/Debug →
// prebuilds/<platform>-<arch>) and the one place its exceptions become WcowError.
// The native surface is typed here, apart from the public types.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { asWcowError, NativeMissingError, type WcowError } from './errors';
import type { NativeVhdx } from './vhdx/native-types';
import type { NativeWin } from './host/native/native-types';

export interface NativeBinding extends NativeVhdx {
  win: NativeWin;
}

let binding: NativeBinding | undefined;

/** The loaded addon (loaded once, on first use). */
export function native(): NativeBinding {
  binding ??= loadNative(packageRoot());
  return binding;
}

/**
 * The addon of the package in `dir`. An install without scripts (`--ignore-scripts`, pnpm's
 * default) on a platform without a prebuild has no build: that is ERR_NATIVE_MISSING with the
 * command that makes one, at the first call that needs the addon, rather than node-gyp-build's
 * bare "No native build was found" as ERR_INTERNAL in the middle of an allocation.
 */
export function loadNative(dir: string): NativeBinding {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = require('node-gyp-build') as (dir: string) => unknown;
  try {
    return load(dir) as NativeBinding;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new NativeMissingError(
      `wcow-resources has no native build for ${process.platform}-${process.arch} (node ${process.versions.node}) in ${dir}: ${why}. ` +
        'Build it with `npm rebuild wcow-resources` (needs a C++ toolchain: python3, make, g++), or install a package whose prebuilds/ include this platform',
      { op: 'native.load', resource: dir, cause: err },
    );
  }
}

/** The package's root directory (where binding.gyp, build/ and prebuilds/ are), found from this file. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`wcow-resources: no binding.gyp above ${__dirname}`);
    dir = up;
  }
}

/**
 * Run a native call and turn what it throws or rejects with into a WcowError. Not an async
 * function: its promise is the call's own plus one step, not two more ticks (issue 14).
 */
export function callNative<T>(op: string, fn: () => Promise<T> | T, resource?: string): Promise<T> {
  const convert = (err: unknown): never => {
    throw fromNative(err, op, resource);
  };
  try {
    return Promise.resolve(fn()).then(undefined, convert);
  } catch (err) {
    return Promise.reject(fromNative(err, op, resource));
  }
}

/** A native exception (an Error with `code`, maybe `errno`, `hresult`, `result`) as a WcowError. */
export function fromNative(err: unknown, op: string, resource?: string): WcowError {
  const details: { op: string; resource?: string } = { op };
  if (resource !== undefined) details.resource = resource;
  return asWcowError(err, details);
}
