// The container's scratch folder and its sandbox.vhdx (docs/behaviour.md#allocation-order steps 3-4, docs/layers.md#scratch).
// Runs for every isolation mode, even when Root.Path is preset.

import { wrap } from '../errors';
import type { Host } from '../host/types';
import { join } from '../host/winpath';
import { layerDescriptors } from './descriptors';

/** The scratch VHD's name is hard-coded in HCS (resources_wcow.go:48-49). */
export const SANDBOX_VHDX = 'sandbox.vhdx';

/**
 * Whether `path` is known not to exist. hcsshim acts only on os.IsNotExist: any
 * other Stat failure (access denied, …) is ignored and the step is skipped
 * (docs/behaviour.md#allocation-order step 3), so a throwing stat counts as "exists".
 */
async function missing(host: Host, path: string): Promise<boolean> {
  try {
    return (await host.stat(path)) === undefined;
  } catch {
    return false;
  }
}

/** What ensureScratch has to do: create the folder, the VHD, both or neither. Reads only. */
export async function scratchActions(host: Host, scratchFolder: string): Promise<{ mkdir: boolean; createVhdx: boolean }> {
  return { mkdir: await missing(host, scratchFolder), createVhdx: await missing(host, join(scratchFolder, SANDBOX_VHDX)) };
}

/**
 * Create the scratch folder (MkdirAll, only when missing) and `<scratch>\sandbox.vhdx`
 * (vmcompute CreateSandboxLayer with one descriptor per parent, only when missing).
 */
export async function ensureScratch(host: Host, scratchFolder: string, parentLayers: readonly string[]): Promise<void> {
  const details = { op: 'scratch.create', resource: scratchFolder };
  if (await missing(host, scratchFolder)) {
    try {
      await host.mkdirAll(scratchFolder);
    } catch (err) {
      throw wrap(err, `failed to auto-create container scratch folder ${scratchFolder}`, details);
    }
  }
  if (await missing(host, join(scratchFolder, SANDBOX_VHDX))) {
    try {
      await host.createSandboxLayer(scratchFolder, await layerDescriptors(host, parentLayers));
    } catch (err) {
      throw wrap(err, 'failed to CreateSandboxLayer', details);
    }
  }
}
