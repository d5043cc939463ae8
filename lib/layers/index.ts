// Container storage: scratch creation, layer mount (host or UVM), and the layer
// list of the container document. Rules in ./README.md.

import { wrap } from '../errors';
import type { LayerSpec } from '../hcs/documents';
import type { Host } from '../host/types';
import type { Closer } from '../resources';
import type { UvmState } from '../uvm';
import { layerDescriptors } from './descriptors';
import { mountHostLayers } from './host';
import { mountUvmLayers, uvmLayerSpecs } from './uvm';

export { ensureScratch, scratchActions, SANDBOX_VHDX } from './scratch';
export { layerDescriptors } from './descriptors';
export { leftoversOf, withRollbackErrors } from './release';

export interface LayerMount {
  /** Argon: `\\?\Volume{…}\`; Xenon: `C:\c\<hex>`. */
  rootPath: string;
  closer: Closer;
}

/**
 * hcsshim MountWCOWLayers (layers §3.1) as allocateWindowsResources calls it
 * (§1.2 step 6): on the host without a UVM, else into the UVM at `guestRoot`.
 * Failures read `failed to mount container storage: <cause>`.
 */
export async function mountLayers(
  host: Host,
  uvm: UvmState | undefined,
  scratch: string,
  parents: readonly string[],
  guestRoot: string | undefined,
): Promise<LayerMount> {
  try {
    if (uvm === undefined) return await mountHostLayers(host, scratch, parents);
    return await mountUvmLayers(host, uvm, scratch, parents, guestRoot ?? '');
  } catch (err) {
    throw wrap(err, 'failed to mount container storage', { op: 'layers.mount' });
  }
}

/**
 * Storage.Layers of the container document (hcsdoc_wcow.go; layers §7.2), computed
 * when the document is, after allocation: Argon names the host folders, Xenon the
 * layer shares' guest paths — which must still exist.
 */
export async function storageLayers(host: Host, uvm: UvmState | undefined, parents: readonly string[]): Promise<LayerSpec[]> {
  if (uvm !== undefined) return uvmLayerSpecs(host, uvm, parents);
  return (await layerDescriptors(host, parents)).map((d) => ({ id: d.layerId, path: d.path }));
}
