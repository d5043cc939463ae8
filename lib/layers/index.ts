// Container storage: scratch creation, layer mount (host or UVM), and the layer
// list of the container document. Rules in ./README.md.

import { wrap } from '../errors';
import type { LayerSpec } from '../hcs/documents';
import type { Host } from '../host/types';
import type { Closer } from '../resources';
import type { UvmState } from '../uvm';
import { forkedCimStorageLayers, mountForkedCimLayers, premountedCimLayers } from './cimfs';
import { layerDescriptors } from './descriptors';
import { mountHostLayers } from './host';
import { layerFoldersOf, type WcowLayers } from './rootfs';
import { mountUvmLayers, uvmLayerSpecs } from './uvm';

export { ensureScratch, SANDBOX_VHDX } from './scratch';
export { rootfsSizeFromLabels, ROOTFS_SIZE_BYTES_LABEL, ROOTFS_SIZE_GB_LABEL } from './labels';
export { layerDescriptors } from './descriptors';
export { fromLayerFolders, layerFoldersOf, parseWcowLayers, rootfsLayers, type RootfsMount, type WcowLayers } from './rootfs';
export { cimVolumeGuid, premountedCimLayers } from './cimfs';

export interface LayerMount {
  /** Argon: `\\?\Volume{…}\`; Xenon: `C:\c\<hex>`. */
  rootPath: string;
  closer: Closer;
}

/**
 * hcsshim MountWCOWLayers (docs/layers.md#mounting-layers) as allocateWindowsResources calls it
 * (docs/behaviour.md#allocation-order step 6): on the host without a UVM, else into the UVM at `guestRoot`;
 * forked CIM layers (process isolation only, refused with a UVM by lib/allocate) at the
 * CIM volume of `containerId`. Failures read `failed to mount container storage: <cause>`.
 */
export async function mountLayers(
  host: Host,
  uvm: UvmState | undefined,
  layers: WcowLayers,
  guestRoot: string | undefined,
  containerId: string,
): Promise<LayerMount> {
  try {
    if (layers.kind === 'forked-cim') return await mountForkedCimLayers(host, containerId, layers);
    const parents = layerFoldersOf(layers).slice(0, -1);
    if (uvm === undefined) return await mountHostLayers(host, layers.scratch, parents);
    return await mountUvmLayers(host, uvm, layers.scratch, parents, guestRoot ?? '');
  } catch (err) {
    throw wrap(err, 'failed to mount container storage', { op: 'layers.mount' });
  }
}

/**
 * Storage.Layers of the container document (hcsdoc_wcow.go; docs/behaviour.md#the-container-document), computed
 * when the document is, after allocation: Argon names the host folders, Xenon the
 * layer shares' guest paths — which must still exist.
 */
export async function storageLayers(
  host: Host,
  uvm: UvmState | undefined,
  layers: WcowLayers,
  containerId: string,
  presetRoot: string | undefined,
): Promise<LayerSpec[]> {
  if (layers.kind === 'forked-cim') return presetRoot === undefined ? forkedCimStorageLayers(containerId) : premountedCimLayers(presetRoot);
  const parents = layerFoldersOf(layers).slice(0, -1);
  if (uvm !== undefined) return uvmLayerSpecs(host, uvm, parents);
  return (await layerDescriptors(host, parents)).map((d) => ({ id: d.layerId, path: d.path }));
}
