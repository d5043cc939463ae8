// The host a command runs against, and `--setup`: the files and host objects an
// example needs on the simulated machine before it can be allocated.
//
// Setup writes the machine's pre-existing files straight into the simulated
// drives (`C:\x` is `<root>/C/x`) instead of calling the host: on a real Windows
// host these files exist before any HCS call, and going through the host would
// record MkdirAll calls and `filesCreated` state that no allocation caused.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { createHost, defaultSimulatedRoot, stateLayout } from '../host/index';
import { SimulatedHost } from '../host/simulated';
import { WindowsFs } from '../host/simulated/fs';
import { simulatedCimContent } from '../host/simulated/cimfs';
import type { Host, UtilityVmOptions } from '../host/types';
import { join } from '../host/winpath';
import {
  ANNOTATION_DISABLE_WRITABLE_FILE_SHARES,
  ANNOTATION_FULLY_PHYSICALLY_BACKED,
  ANNOTATION_VSMB_NO_DIRECT_MAP,
} from '../hcs/constants';
import { createVhdx } from '../vhdx';
import { readJsonObject } from './input';

export interface MachineOptions {
  root?: string;
  stateDir?: string;
  /** Simulated host: milliseconds every host call and guest request takes. */
  latency?: number;
}

export interface Machine {
  host: Host;
  /** Set on the simulated host: its observables (calls, snapshot) and test set-up. */
  simulated?: SimulatedHost;
  /** Holds `journal/` (the crash journals) and, for the simulated host, its HCS state (lib/host StateLayout). */
  stateDir: string;
  journalDir: string;
}

/**
 * The host (native on Windows, else simulated on the drives in `root`) and its state
 * directory: by default `<root>.state`, beside the drives, so that `--root` alone names
 * one whole machine and every command that gives the same `--root` sees the same state.
 * The simulated host keeps its HCS state there, so allocations outlive the process that
 * made them, as they outlive the shim on Windows.
 */
export function openMachine(options: MachineOptions): Machine {
  const { root, stateDir, journalDir } = stateLayout(options.root, options.stateDir);
  const ms = options.latency;
  const host = createHost({ root, stateDir, ...(ms === undefined ? {} : { latency: { hostCallMs: ms, guestRequestMs: ms } }) });
  const machine: Machine = { host, stateDir, journalDir };
  if (host instanceof SimulatedHost) machine.simulated = host;
  return machine;
}

/** The options that address the same machine from another command, for the commands a hint prints. */
export function machineFlags(options: MachineOptions): string[] {
  return [
    ...(options.root === undefined ? [] : ['--root', path.resolve(options.root)]),
    ...(options.stateDir === undefined ? [] : ['--state-dir', path.resolve(options.stateDir)]),
  ];
}

/**
 * A simulated host that lives only in this process, on the same drives: what a
 * plan uses to model a utility VM that does not exist yet, so that planning never
 * creates one on the host the user addresses.
 */
export function scratchSimulatedHost(options: MachineOptions): SimulatedHost {
  return new SimulatedHost({ root: path.resolve(options.root ?? defaultSimulatedRoot()), stateDir: false });
}

/** hcsshim's ParseAnnotationsBool: strconv.ParseBool, anything unparsable is false. */
function annotationBool(annotations: Record<string, unknown>, key: string): boolean {
  const v = annotations[key];
  return typeof v === 'string' && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

/**
 * The options of the utility VM the CLI creates for `--hyperv`, from the spec's
 * annotations — the shim reads the same keys from the pod spec when it creates the UVM.
 */
export function uvmOptionsFor(id: string, spec: Record<string, unknown>): UtilityVmOptions {
  const a = spec.annotations;
  const annotations = a !== null && typeof a === 'object' ? (a as Record<string, unknown>) : {};
  return {
    id,
    noWritableFileShares: annotationBool(annotations, ANNOTATION_DISABLE_WRITABLE_FILE_SHARES),
    vsmbNoDirectMap: annotationBool(annotations, ANNOTATION_VSMB_NO_DIRECT_MAP),
    fullyPhysicallyBacked: annotationBool(annotations, ANNOTATION_FULLY_PHYSICALLY_BACKED),
  };
}

/** `setup.json` beside an example's config.json (examples/README.md). */
export interface SetupManifest {
  /** Host directories to create (mount sources). */
  directories?: string[];
  /** Host files to create: Windows path → content. */
  files?: Record<string, string>;
  /** VHDX files to create with the VHDX engine: Windows path → virtual size in bytes. */
  vhdx?: Record<string, number>;
  /** `\\.\PHYSICALDRIVE<n>` numbers that exist on the host. */
  physicalDrives?: number[];
  /** File names to create in the host's tools directory (`device-util.exe`). */
  tools?: string[];
  /** CimFS image layers: `.cim` path → its layer folder and the CIMs it was forked from (immediate parent first). */
  cimLayers?: Record<string, { layer: string; parents?: string[] }>;
}

export interface SetupAction {
  kind: 'directory' | 'file' | 'vhdx' | 'physicalDrive' | 'tool' | 'cim';
  path: string;
  /** false when it was there already (setup is idempotent). */
  created: boolean;
}

function manifestError(file: string, what: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid setup manifest ${file}: ${what}`, { op: 'cli.setup', resource: file });
}

function checkManifest(file: string, m: Record<string, unknown>): SetupManifest {
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');
  const record = (v: unknown, t: 'string' | 'number'): boolean =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === t);
  if (m.directories !== undefined && !strings(m.directories)) throw manifestError(file, "'directories' must be an array of paths");
  if (m.tools !== undefined && !strings(m.tools)) throw manifestError(file, "'tools' must be an array of file names");
  if (m.files !== undefined && !record(m.files, 'string')) throw manifestError(file, "'files' must map paths to contents");
  if (m.vhdx !== undefined && !record(m.vhdx, 'number')) throw manifestError(file, "'vhdx' must map paths to sizes in bytes");
  const cimLayer = (v: unknown): boolean => {
    const c = v as { layer?: unknown; parents?: unknown } | null;
    return c !== null && typeof c === 'object' && typeof c.layer === 'string' && (c.parents === undefined || strings(c.parents));
  };
  if (m.cimLayers !== undefined && !(m.cimLayers !== null && typeof m.cimLayers === 'object' && !Array.isArray(m.cimLayers) && Object.values(m.cimLayers).every(cimLayer))) {
    throw manifestError(file, "'cimLayers' must map .cim paths to { layer, parents }");
  }
  if (m.physicalDrives !== undefined && !(Array.isArray(m.physicalDrives) && m.physicalDrives.every((n) => Number.isInteger(n) && n >= 0))) {
    throw manifestError(file, "'physicalDrives' must be an array of drive numbers");
  }
  return m as SetupManifest;
}

/** The manifest beside `configPath`, or an empty one when there is none. */
export async function readSetupManifest(configPath: string): Promise<SetupManifest> {
  const file = path.join(path.dirname(configPath), 'setup.json');
  try {
    await fsp.access(file);
  } catch {
    return {};
  }
  return checkManifest(file, await readJsonObject(file, 'setup manifest'));
}

/** The spec's read-only layer folders (every entry but the scratch, which allocation creates). */
function parentLayerFolders(spec: Record<string, unknown>): string[] {
  const w = spec.windows as { layerFolders?: unknown } | null | undefined;
  const folders = w?.layerFolders;
  // A malformed list is left for validation to report with its exact message.
  if (!Array.isArray(folders) || !folders.every((f) => typeof f === 'string')) return [];
  return (folders as string[]).slice(0, -1);
}

/**
 * Prepare the simulated machine for `spec`: its layer folders and what the manifest
 * lists. Idempotent: what exists is left as it is.
 */
export async function setupMachine(host: SimulatedHost, spec: Record<string, unknown>, manifest: SetupManifest): Promise<SetupAction[]> {
  const fs = new WindowsFs(host.root);
  const actions: SetupAction[] = [];
  const real = async (winPath: string): Promise<string> => {
    const w = fs.parse(winPath);
    if (w?.kind !== 'file') throw new InvalidArgumentError(`setup: ${winPath} is not a drive path`, { op: 'cli.setup', resource: winPath });
    return (await fs.locate(w)).real;
  };
  const exists = async (p: string): Promise<boolean> => (await fs.existing(p)) !== undefined;
  const mkdir = async (kind: SetupAction['kind'], p: string): Promise<void> => {
    const created = !(await exists(p));
    if (created) await fsp.mkdir(await real(p), { recursive: true });
    actions.push({ kind, path: p, created });
  };
  const write = async (kind: SetupAction['kind'], p: string, content: string): Promise<void> => {
    const created = !(await exists(p));
    if (created) {
      const target = await real(p);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.writeFile(target, content);
    }
    actions.push({ kind, path: p, created });
  };

  for (const layer of parentLayerFolders(spec)) await mkdir('directory', layer);
  for (const dir of manifest.directories ?? []) await mkdir('directory', dir);
  for (const [file, content] of Object.entries(manifest.files ?? {})) await write('file', file, content);
  for (const [cim, { layer, parents }] of Object.entries(manifest.cimLayers ?? {})) {
    await mkdir('directory', layer);
    await write('cim', cim, simulatedCimContent(layer, parents ?? []));
  }
  for (const tool of manifest.tools ?? []) {
    // The simulated guest models what the tool does; the file only has to be there to be shared.
    await write('tool', join(host.toolsDirectory, tool), `simulated ${tool}\r\n`);
  }
  for (const [file, sizeBytes] of Object.entries(manifest.vhdx ?? {})) {
    const created = !(await exists(file));
    if (created) {
      const target = await real(file);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await createVhdx(target, { sizeBytes });
    }
    actions.push({ kind: 'vhdx', path: file, created });
  }
  for (const n of manifest.physicalDrives ?? []) {
    const created = !host.snapshot().physicalDrives.includes(n);
    host.addPhysicalDrive(n);
    actions.push({ kind: 'physicalDrive', path: `\\\\.\\PHYSICALDRIVE${n}`, created });
  }
  return actions;
}
