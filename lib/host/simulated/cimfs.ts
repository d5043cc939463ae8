// cimfs.dll (CimMountImage / CimDismountImage) and computestorage's overlay filter
// (HcsAttachOverlayFilter / HcsDetachOverlayFilter), as process-isolated CimFS uses them
// (hcsshim main pkg/cimfs/mount_cim.go:36-72, computestorage/attach.go:49-68,
// detach.go:35-54). Rules the model enforces (README.md "CimFS"):
// - a CIM is a real file: `<imagePath>\<fsName>` must exist (ERROR_FILE_NOT_FOUND, the
//   error hcsshim's vectors expect for a missing CIM) and hold a simulated CIM written by
//   `writeSimulatedCim` (a forked CIM names the parent CIMs it was forked from; each must
//   exist too); anything else is E_INVALIDARG;
// - one mount per volume GUID: a second CimMountImage at a mounted GUID fails with
//   ERROR_ALREADY_EXISTS; CimDismountImage of a GUID that is not mounted with ERROR_NOT_FOUND,
//   and of one an attached filter still reads from with ERROR_SHARING_VIOLATION;
// - one filter per volume: the volume must be an activated layer's (GetLayerMountPath),
//   each LayerData layer a mounted CIM volume's `Files` folder with the CIM's GUID as Id;
//   attaching twice fails with ERROR_ALREADY_EXISTS, detaching what is not attached with
//   ERROR_NOT_FOUND; FilterType must be UnionFS.
// The real services' codes for these refusals are not documented (INFERRED, like
// vmcompute.ts).

import { promises as fsp } from 'node:fs';
import {
  ERROR_ALREADY_EXISTS_HR,
  ERROR_FILE_NOT_FOUND_HR,
  ERROR_NOT_FOUND_HR,
  ERROR_PATH_NOT_FOUND_HR,
  ERROR_SHARING_VIOLATION_HR,
  E_INVALIDARG,
} from '../../hcs/errors';
import type { OverlayLayerData } from '../types';
import { join } from '../winpath';
import { Rejection } from './failure';
import type { WindowsFs } from './fs';
import { fold, type HostState } from './state';
import { scratchVolumeGuid } from './vmcompute';

export interface CimMountState {
  volumeGuid: string;
  cimPath: string;
  flags: number;
}

export interface OverlayFilterState {
  volumePath: string;
  filterType: string;
  layers: { Id: string; Path: string }[];
}

/** What a simulated `.cim` file holds. */
export interface SimulatedCim {
  format: 'wcow-resources simulated cim';
  /** The layer folder the CIM was written from. */
  layer: string;
  /** The CIMs this one was forked from, immediate parent first. */
  parents: string[];
}

const FORMAT = 'wcow-resources simulated cim';

/** The file a setup manifest (or a test) lays out for one CIM layer. */
export function simulatedCimContent(layer: string, parents: readonly string[]): string {
  const cim: SimulatedCim = { format: FORMAT, layer, parents: [...parents] };
  return JSON.stringify(cim) + '\n';
}

function cimState(state: HostState): { mounts: Record<string, CimMountState>; filters: Record<string, OverlayFilterState> } {
  // A state persisted before CimFS existed has neither record.
  state.cimMounts ??= {};
  state.overlayFilters ??= {};
  return { mounts: state.cimMounts, filters: state.overlayFilters };
}

/** The file's content, validated: nothing read from disk is trusted as it is. */
async function readCim(fs: WindowsFs, path: string): Promise<SimulatedCim> {
  const f = await fs.existing(path);
  if (f === undefined || !f.stat.isFile) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `CIM '${path}' was not found`);
  let v: unknown;
  try {
    v = JSON.parse(await fsp.readFile(f.real, 'utf8'));
  } catch {
    v = undefined;
  }
  const o = v as Partial<SimulatedCim> | undefined;
  if (o?.format !== FORMAT || typeof o.layer !== 'string' || !Array.isArray(o.parents) || !o.parents.every((p) => typeof p === 'string')) {
    throw new Rejection(E_INVALIDARG, `'${path}' is not a CIM`);
  }
  return { format: FORMAT, layer: o.layer, parents: o.parents };
}

export async function prepareCimMount(state: HostState, fs: WindowsFs, imagePath: string, fsName: string, flags: number, volumeGuid: string): Promise<() => void> {
  const cimPath = join(imagePath, fsName);
  const cim = await readCim(fs, cimPath);
  for (const parent of cim.parents) {
    if ((await fs.existing(parent))?.stat.isFile !== true) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `parent CIM '${parent}' of '${cimPath}' was not found`);
  }
  // Forked CIMs mount with CimMountFlagNone; block flags (0x10, 0x20) need block CIMs.
  if (flags !== 0) throw new Rejection(E_INVALIDARG, `flags 0x${flags.toString(16)} do not apply to the forked CIM '${cimPath}'`);
  const guid = volumeGuid.toLowerCase();
  return () => {
    const { mounts } = cimState(state);
    if (mounts[guid] !== undefined) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `a CIM is already mounted at volume ${guid}`);
    mounts[guid] = { volumeGuid: guid, cimPath, flags };
  };
}

export function prepareCimDismount(state: HostState, volumeGuid: string): () => void {
  const guid = volumeGuid.toLowerCase();
  return () => {
    const { mounts, filters } = cimState(state);
    if (mounts[guid] === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `no CIM is mounted at volume ${guid}`);
    const user = Object.values(filters).find((f) => f.layers.some((l) => l.Id.toLowerCase() === guid));
    if (user !== undefined) throw new Rejection(ERROR_SHARING_VIOLATION_HR, `the overlay filter on ${user.volumePath} still reads volume ${guid}`);
    delete mounts[guid];
  };
}

/** Whether `volumePath` is the volume of an activated layer (vmcompute.ts prepareMountPath). */
function isLayerVolume(state: HostState, volumePath: string): boolean {
  return Object.keys(state.layers).some((key) => fold(`\\\\?\\Volume{${scratchVolumeGuid(key)}}\\`) === fold(volumePath));
}

const CIM_FILES = /^\\\\\?\\Volume\{([0-9a-fA-F-]{36})\}\\Files$/;

export function prepareAttachOverlay(state: HostState, volumePath: string, data: OverlayLayerData): () => void {
  if (data.FilterType !== 'UnionFS') throw new Rejection(E_INVALIDARG, `filter type ${String(data.FilterType)} is not an overlay filter`);
  const layers = data.Layers ?? [];
  if (layers.length === 0) throw new Rejection(E_INVALIDARG, 'an overlay filter needs at least one layer');
  return () => {
    const { mounts, filters } = cimState(state);
    if (!isLayerVolume(state, volumePath)) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `volume ${volumePath} does not exist`);
    for (const l of layers) {
      const m = CIM_FILES.exec(l.Path);
      if (m === null || m[1]!.toLowerCase() !== l.Id.toLowerCase() || mounts[l.Id.toLowerCase()] === undefined) {
        throw new Rejection(ERROR_PATH_NOT_FOUND_HR, `layer ${l.Id} at '${l.Path}' is not a mounted CIM`);
      }
    }
    const key = fold(volumePath);
    if (filters[key] !== undefined) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `an overlay filter is already attached to ${volumePath}`);
    filters[key] = { volumePath, filterType: data.FilterType, layers: layers.map((l) => ({ Id: l.Id, Path: l.Path })) };
  };
}

export function prepareDetachOverlay(state: HostState, volumePath: string, data: OverlayLayerData): () => void {
  return () => {
    const { filters } = cimState(state);
    const key = fold(volumePath);
    const f = filters[key];
    if (f === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `no overlay filter is attached to ${volumePath}`);
    if (f.filterType !== data.FilterType) throw new Rejection(E_INVALIDARG, `the filter on ${volumePath} is ${f.filterType}, not ${String(data.FilterType)}`);
    delete filters[key];
  };
}
