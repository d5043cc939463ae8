// One differential scenario: the host files and objects both sides start from,
// one UVM (or process isolation), containers with their specs, the order of the
// allocate/release steps, injected faults, and the differences (docs/differences.md) the
// scenario is expected to show. The same value drives hcsshim (as the oracle's
// scenario file) and the package.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FaultSpec } from '../../lib/host/simulated';
import { SimulatedHost } from '../../lib/host/simulated';
import type { UtilityVmOptions } from '../../lib/host/types';
import type { OciSpec } from '../../lib/oci/types';
import { createVhdx } from '../../lib/vhdx';

export type ReleaseMode = 'all' | 'partial' | 'none';

export interface ContainerCase {
  id: string;
  spec: OciSpec;
  isSandbox?: boolean;
  /** Process isolation only (a UVM forces 2.1). */
  schemaVersion?: { major: number; minor: number };
  release?: ReleaseMode;
}

export type Step = { allocate: string } | { release: string };

/** A fault both hosts get, from the start or armed when step `atStep` (an index into the steps) begins. */
export type Fault = Omit<FaultSpec, 'match'> & { atStep?: number };

export interface HostSetup {
  /** Folders (`C:\layers\base`). */
  dirs?: string[];
  /** Files with their content. */
  files?: Record<string, string>;
  /** Dynamic VHDX files (virtual-disk mounts, pre-made scratch disks). */
  vhdx?: string[];
  physicalDrives?: number[];
  /** device-util's answers per device instance path. */
  deviceLocations?: Record<string, string[]>;
}

export interface Scenario {
  name: string;
  /** null: process isolation. */
  uvm: UtilityVmOptions | null;
  setup: HostSetup;
  containers: ContainerCase[];
  /** Default: allocate in order, release (unless `none`) in reverse order. */
  steps?: Step[];
  faults?: Fault[];
  /** Deliberate differences (docs/differences.md) this scenario must show, and only these. */
  differences?: number[];
  /** Differences it may show (a generated scenario's inputs make them possible). */
  mayDiffer?: number[];
  /** How the scenario was made (the generator's seed and index), for the failure message. */
  origin?: string;
}

/** The folders every scenario's files live under: cleared on wine's C: before each run. */
export const SCENARIO_TOPS = ['layers', 'scratch', 'host', 'disks', 'drivers', 'data', 'ContainerPlat'];

/** hcsshim looks for device-util.exe in its tools directory (SimulatedHost's default). */
export const TOOLS_DIRECTORY = 'C:\\ContainerPlat';

export function stepsOf(s: Scenario): Step[] {
  if (s.steps !== undefined) return s.steps;
  const release = [...s.containers].reverse().filter((c) => c.release !== 'none');
  return [...s.containers.map((c) => ({ allocate: c.id })), ...release.map((c) => ({ release: c.id }))];
}

/** `C:\x\y` under a host root: `<root>/C/x/y`. */
export function realPath(root: string, win: string): string {
  const m = /^([A-Za-z]):\\(.*)$/.exec(win);
  if (m === null) throw new Error(`not a drive path: ${win}`);
  return path.join(root, m[1]!.toUpperCase(), ...m[2]!.split('\\').filter((p) => p !== ''));
}

/** Make the scenario's files under `root` and its host objects in `host`. */
export async function materialise(s: Scenario, root: string, host: SimulatedHost): Promise<void> {
  const { setup } = s;
  fs.mkdirSync(realPath(root, TOOLS_DIRECTORY), { recursive: true });
  fs.writeFileSync(realPath(root, `${TOOLS_DIRECTORY}\\device-util.exe`), '');
  for (const d of setup.dirs ?? []) fs.mkdirSync(realPath(root, d), { recursive: true });
  for (const [f, text] of Object.entries(setup.files ?? {})) {
    fs.mkdirSync(path.dirname(realPath(root, f)), { recursive: true });
    fs.writeFileSync(realPath(root, f), text);
  }
  for (const v of setup.vhdx ?? []) {
    fs.mkdirSync(path.dirname(realPath(root, v)), { recursive: true });
    await createVhdx(realPath(root, v), { sizeBytes: 64 * 1024 * 1024 });
  }
  for (const n of setup.physicalDrives ?? []) host.addPhysicalDrive(n);
  for (const [dev, paths] of Object.entries(setup.deviceLocations ?? {})) host.setDeviceLocationPaths(dev, paths);
}

/**
 * CreateContainer's isSandbox (create.go:208), which the oracle takes as given: the
 * package's option, else the CRI container-type annotation (the package's default).
 */
function isSandbox(c: ContainerCase): boolean {
  return c.isSandbox ?? c.spec.annotations?.['io.kubernetes.cri.container-type'] === 'sandbox';
}

/** The oracle's scenario file (its README "Scenario"). */
export function oracleScenario(s: Scenario, guestConnection: boolean): unknown {
  return {
    uvm:
      s.uvm === null
        ? null
        : {
            id: s.uvm.id,
            noWritableFileShares: s.uvm.noWritableFileShares === true,
            fullyPhysicallyBacked: s.uvm.fullyPhysicallyBacked === true,
            vsmbNoDirectMap: s.uvm.vsmbNoDirectMap === true,
            guestConnection,
          },
    toolsDirectory: TOOLS_DIRECTORY,
    containers: s.containers.map((c) => ({
      id: c.id,
      spec: c.spec,
      isSandbox: isSandbox(c),
      ...(c.schemaVersion !== undefined && { schemaVersion: c.schemaVersion }),
      // `none` only leaves the release out of the steps: the oracle's own `none` would also
      // skip CreateContainer's release of a failed allocation, which the package always does.
      release: c.release === 'partial' ? 'partial' : 'all',
    })),
    steps: stepsOf(s),
  };
}
