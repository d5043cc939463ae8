// vmcompute.dll's graph-driver layer calls (docs/layers.md#scratch, docs/layers.md#layers-on-the-host), with the
// state machine the model enforces:
// - ActivateLayer needs the folder and its sandbox.vhdx; it is reference-counted
//   (vmcompute mounts the scratch once and counts activations).
// - PrepareLayer needs an activated, unprepared layer ("layer prepare before
//   activate fails", docs/behaviour.md#rules-the-model-enforces); its parents must exist and carry
//   LayerId = NameToGuid(basename(path)) (docs/layers.md#creating-the-scratch).
// - UnprepareLayer needs a prepared layer; DeactivateLayer an activated one, and
//   the last deactivation an unprepared one (hcsshim unprepares first, docs/layers.md#layers-on-the-host).
// - GetLayerMountPath: `\\?\Volume{…}\` (one stable GUID per layer) while
//   activated or attached through virtdisk, '' (a zero length, no error — docs/layers.md#layers-on-the-host step 4) otherwise.
// - CreateSandboxLayer creates `<path>\sandbox.vhdx`, a real VHDX: a differencing
//   child of `<base>\blank-base.vhdx` when the base layer (the last parent) has one,
//   else a 20 GiB dynamic disk (docs/layers.md#what-sandboxvhdx-is). The folder must exist, the file must not.
// States violated answer HCS_E_INVALID_STATE; the real vmcompute codes for these
// cases are not documented.

import { ERROR_FILE_NOT_FOUND_HR, E_INVALIDARG, HCS_E_INVALID_STATE } from '../../hcs/errors';
import { base, join } from '../winpath';
import type { LayerDescriptor } from '../types';
import { ERROR_FILE_EXISTS_HR, ERROR_PATH_NOT_FOUND_HR } from '../../hcs/errors';
import { Rejection } from './failure';
import type { WindowsFs } from './fs';
import { derivedGuid, simulatedNameToGuid } from './guid';
import { fold, type HostState, type LayerState } from './state';

export const SANDBOX_VHDX = 'sandbox.vhdx';
export const BLANK_BASE_VHDX = 'blank-base.vhdx';
/** The size of the scratch vmcompute creates without a base template (docs/layers.md#what-sandboxvhdx-is: "20 GB ... produced by hcs"). */
export const DEFAULT_SANDBOX_SIZE = 20 * 1024 ** 3;

/** A layer folder as vmcompute finds it: its canonical path and state key. */
export interface LayerFolder {
  win: string;
  real: string;
  key: string;
}

/** The existing folder `path`, else ERROR_PATH_NOT_FOUND. */
export async function layerFolder(fs: WindowsFs, path: string): Promise<LayerFolder> {
  const f = await fs.existing(path);
  if (f === undefined || !f.stat.isDirectory) throw new Rejection(ERROR_PATH_NOT_FOUND_HR, `layer folder '${path}' was not found`);
  return { win: f.win, real: f.real, key: fold(f.win) };
}

/** Check WC_LAYER_DESCRIPTORs: existing folders, LayerId = NameToGuid(basename). */
export async function checkDescriptors(fs: WindowsFs, parents: readonly LayerDescriptor[]): Promise<void> {
  for (const d of parents) {
    await layerFolder(fs, d.path);
    if (d.layerId.toLowerCase() !== simulatedNameToGuid(base(d.path))) {
      throw new Rejection(E_INVALIDARG, `layer id ${d.layerId} of '${d.path}' is not NameToGuid of its folder name`);
    }
  }
}

function layerOf(state: HostState, folder: LayerFolder): LayerState | undefined {
  return state.layers[folder.key];
}

function invalidState(detail: string): Rejection {
  return new Rejection(HCS_E_INVALID_STATE, detail);
}

export async function prepareActivate(state: HostState, fs: WindowsFs, path: string): Promise<() => void> {
  const folder = await layerFolder(fs, path);
  if ((await fs.existing(join(folder.win, SANDBOX_VHDX)))?.stat.isFile !== true) {
    throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `'${path}' has no ${SANDBOX_VHDX}`);
  }
  return () => {
    const layer = layerOf(state, folder) ?? (state.layers[folder.key] = { path: folder.win, activations: 0 });
    layer.activations++;
  };
}

export async function prepareDeactivate(state: HostState, fs: WindowsFs, path: string): Promise<() => void> {
  const folder = await layerFolder(fs, path);
  return () => {
    const layer = layerOf(state, folder);
    if (layer === undefined) throw invalidState(`layer '${path}' is not activated`);
    if (layer.activations === 1 && layer.prepared !== undefined) throw invalidState(`layer '${path}' is still prepared`);
    if (--layer.activations === 0) delete state.layers[folder.key];
  };
}

export async function preparePrepare(state: HostState, fs: WindowsFs, path: string, parents: readonly LayerDescriptor[]): Promise<() => void> {
  const folder = await layerFolder(fs, path);
  await checkDescriptors(fs, parents);
  return () => {
    const layer = layerOf(state, folder);
    if (layer === undefined) throw invalidState(`layer '${path}' is not activated`);
    if (layer.prepared !== undefined) throw invalidState(`layer '${path}' is already prepared`);
    layer.prepared = parents.map((d) => ({ layerId: d.layerId, flags: d.flags, path: d.path }));
  };
}

export async function prepareUnprepare(state: HostState, fs: WindowsFs, path: string): Promise<() => void> {
  const folder = await layerFolder(fs, path);
  return () => {
    const layer = layerOf(state, folder);
    if (layer?.prepared === undefined) throw invalidState(`layer '${path}' is not prepared`);
    delete layer.prepared;
  };
}

/** The volume GUID of the scratch in the layer folder `folderKey` (one stable GUID per layer). */
export function scratchVolumeGuid(folderKey: string): string {
  return derivedGuid('layer-volume', folderKey);
}

/**
 * GetLayerMountPath: the scratch's volume while it is activated, or while its sandbox.vhdx
 * is attached through virtdisk (`attached`, virtdisk.ts: hcsshim main's ExpandScratchSize
 * asks vmcompute for the volume of a scratch it attached itself).
 */
export async function prepareMountPath(state: HostState, fs: WindowsFs, path: string, attached: (folderKey: string) => boolean): Promise<() => string> {
  const folder = await layerFolder(fs, path);
  return () => (layerOf(state, folder) === undefined && !attached(folder.key) ? '' : `\\\\?\\Volume{${scratchVolumeGuid(folder.key)}}\\`);
}

/** Where CreateSandboxLayer writes, and the template it derives from (if any). */
export interface SandboxPlan {
  folder: LayerFolder;
  target: { win: string; real: string };
  parent?: { win: string; real: string };
}

export async function planSandbox(fs: WindowsFs, path: string, parents: readonly LayerDescriptor[]): Promise<SandboxPlan> {
  const folder = await layerFolder(fs, path);
  await checkDescriptors(fs, parents);
  const win = join(folder.win, SANDBOX_VHDX);
  // One look-up says both whether it exists and where it goes (`existing` would look it up again).
  const w = fs.parse(win) as { drive: string; parts: readonly string[] };
  const located = fs.locate(w);
  if (located.found === w.parts.length) throw new Rejection(ERROR_FILE_EXISTS_HR, `'${win}' already exists`);
  const plan: SandboxPlan = { folder, target: { win, real: located.real } };
  const baseLayer = parents[parents.length - 1];
  if (baseLayer !== undefined) {
    const template = await fs.existing(join(baseLayer.path, BLANK_BASE_VHDX));
    if (template?.stat.isFile) plan.parent = { win: template.win, real: template.real };
  }
  return plan;
}
