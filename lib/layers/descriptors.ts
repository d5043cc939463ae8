// Layer identities. vmcompute names a layer by NameToGuid(basename(folder)) — there is
// no published algorithm (docs/layers.md#creating-the-scratch, docs/layers.md#nametoguid-pairs), so every id comes from the host.

import type { Host, LayerDescriptor } from '../host/types';
import { base } from '../host/winpath';

/**
 * hcsshim layerPathsToDescriptors: one descriptor per parent, in the given order
 * (top-most first, base last), Flags 0. `base` drops trailing separators, so a
 * folder written `C:\layers\x\` still names `x` (docs/layers.md#q3-trailing-separators).
 */
export async function layerDescriptors(host: Host, parents: readonly string[]): Promise<LayerDescriptor[]> {
  const out: LayerDescriptor[] = [];
  // Sequential on purpose: hcsshim calls NameToGuid once per layer, in order, and
  // the vectors (docs/layers.md#vectors V1) count those calls.
  for (const path of parents) out.push({ layerId: await host.nameToGuid(base(path)), flags: 0, path });
  return out;
}
