// The host a runtime gets by default: the real Host Compute Service on Windows,
// the simulated one everywhere else (docs/behaviour.md#the-host-seam: the Host seam
// is what makes the allocation code testable without Windows).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Host } from './types';
import { SimulatedHost, type SimulatedHostOptions } from './simulated';

/**
 * `stateDir` (default `<root>.state`, see StateLayout) and `latency` are passed to the simulated
 * host as they are (the native host keeps its state in HCS).
 */
export interface CreateHostOptions extends Pick<SimulatedHostOptions, 'stateDir' | 'latency'> {
  /**
   * Simulated host only: the real directory holding the simulated Windows drives
   * (`C:\layers\x` is `<root>/C/layers/x`). Default: `$XDG_STATE_HOME/wcow-resources/host`
   * when XDG_STATE_HOME is set, else `<tmpdir>/wcow-resources-<uid>/host`, so that two
   * processes of one user see the same simulated machine, as two processes on one
   * Windows host see the same HCS.
   */
  root?: string;
}

/** The default simulated-drive root (see CreateHostOptions.root). */
export function defaultSimulatedRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'wcow-resources', 'host');
  return path.join(os.tmpdir(), `wcow-resources-${os.userInfo().uid}`, 'host');
}

/**
 * Where one machine keeps its state, shared by the library and the CLI (README "State on
 * disk"): the simulated drives in `root`, the simulated host's HCS state in `stateDir`
 * (`<root>.state/host-state.json`), the crash journals in `journalDir`
 * (`<root>.state/journal`, what `allocateWindowsResources({ journal })` should be given
 * so that `wcow-resources release` and `recover` find them). On Windows only the journals
 * are kept there; HCS keeps the rest.
 */
export interface StateLayout {
  root: string;
  stateDir: string;
  journalDir: string;
}

/** The layout for `root` (default: defaultSimulatedRoot()) and an optional `stateDir` other than `<root>.state`. */
export function stateLayout(root: string = defaultSimulatedRoot(), stateDir?: string): StateLayout {
  const r = path.resolve(root);
  const s = path.resolve(stateDir ?? `${r}.state`);
  return { root: r, stateDir: s, journalDir: path.join(s, 'journal') };
}

/**
 * `NativeHost` on win32, `SimulatedHost` elsewhere. The native host is loaded only
 * when chosen: its module loads the addon, which other platforms may not have built.
 */
export function createHost(options: CreateHostOptions = {}): Host {
  if (process.platform === 'win32') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { NativeHost } = require('./native') as typeof import('./native');
    return new NativeHost();
  }
  const root = options.root ?? defaultSimulatedRoot();
  fs.mkdirSync(root, { recursive: true });
  return new SimulatedHost({ ...options, root });
}
