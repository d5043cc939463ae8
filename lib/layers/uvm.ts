// Hypervisor-isolated (v2 Xenon) layer mount: hcsshim mountWCOWIsolatedLayers
// (docs/layers.md#layers-in-a-utility-vm). Each read-only layer becomes a read-only VSMB share, the scratch
// VHD is hot-added on SCSI at the container root, and the guest unions them there
// with a CombinedLayers request.

import { ReleaseError, wrap } from '../errors';
import type { LayerSpec } from '../hcs/documents';
import type { Host } from '../host/types';
import { base, clean, join } from '../host/winpath';
import { closer, type Closer, type LayersRecord } from '../resources';
import type { ScsiMount, UvmState, VsmbShare } from '../uvm';
import { releaseEach, rollbackOnFailure } from '../resources/release';
import { SANDBOX_VHDX } from './scratch';

export interface UvmLayersMount {
  /** The container root in the UVM, e.g. `C:\c\1`. */
  rootPath: string;
  closer: Closer;
}

/**
 * hcsshim GetHCSLayers (layers.go:424-437): per read-only layer, its share's guest
 * path and its NameToGuid id. Also what the container document's Storage.Layers
 * holds for a hypervisor-isolated container (docs/behaviour.md#the-container-document).
 */
export async function uvmLayerSpecs(host: Host, uvm: UvmState, parents: readonly string[]): Promise<LayerSpec[]> {
  const out: LayerSpec[] = [];
  for (const path of parents) {
    const guestPath = await uvm.vsmbUvmPath(path, true);
    out.push({ id: await host.nameToGuid(base(path)), path: guestPath });
  }
  return out;
}

/**
 * Mount `parents` (top-most first) and `scratch` into the UVM at `guestRoot`
 * (`C:\c/<hex>` as hcsshim formats it; cleaned here like its ospath.Join). What
 * was added is released again if a later step fails.
 */
export async function mountUvmLayers(
  host: Host,
  uvm: UvmState,
  scratch: string,
  parents: readonly string[],
  guestRoot: string,
): Promise<UvmLayersMount> {
  const op = 'layers.mount';
  const shares: VsmbShare[] = [];
  let scsi: ScsiMount | undefined;
  // hcsshim's deferred cleanups run LIFO: the scratch disk first, then the shares
  // in the order they were added (layers.go:320-328, 364-368).
  const acquired = (): Closer[] => [...(scsi ? [scsi] : []), ...shares];

  return rollbackOnFailure(acquired, async () => {
    for (const path of parents) {
      // Image layers: read-only shares with TakeBackupPrivilege (docs/layers.md#one-share-per-read-only-layer).
      const options = { ...uvm.defaultVsmbOptions(true), TakeBackupPrivilege: true };
      try {
        shares.push(await uvm.addVsmb(path, options));
      } catch (err) {
        throw wrap(err, 'failed to add VSMB layer', { op, resource: path });
      }
    }

    // HCS receives the final (volume GUID) path of the scratch VHD (docs/layers.md#scratch-on-scsi).
    let hostPath: string;
    try {
      hostPath = await host.resolvePath(join(scratch, SANDBOX_VHDX));
    } catch (err) {
      throw wrap(err, 'failed to get scratch VHD path in layer folders: failed to resolve path', { op, resource: scratch });
    }
    try {
      scsi = await uvm.addScsi({ hostPath, uvmPath: clean(guestRoot), readOnly: false, type: 'VirtualDisk', grantAccess: true });
    } catch (err) {
      throw wrap(err, 'failed to add SCSI scratch VHD', { op, resource: hostPath });
    }

    // The root is the SCSI mount's guest path: on reuse of an attached scratch it is
    // the first caller's (layers.go:362).
    const rootPath = scsi.uvmPath;
    const layers = await uvmLayerSpecs(host, uvm, parents);
    await uvm.combineLayers(layers, rootPath);

    const mounted = scsi;
    // Its own closer so that a retried release (after a partial failure) does not
    // remove the union twice; the SCSI and VSMB closers are idempotent already.
    const combined = closer({ kind: 'combined-layers', uvmId: uvm.id, rootPath }, () => uvm.removeCombinedLayers(rootPath));
    // wcowIsolatedLayersCloser (docs/layers.md#releasing-the-layers-of-a-uvm): combined layers, scratch, then the
    // shares in add order, continuing past failures and reporting all of them
    // (hcsshim returns only the first).
    const release = async (): Promise<void> => {
      const errors = await releaseEach([combined, mounted, ...shares]);
      if (errors.length > 0) throw new ReleaseError(errors, 'failed to release container layers', { op: 'layers.release', resource: rootPath });
    };
    const record: LayersRecord = { kind: 'layers', isolation: 'hypervisor', uvmId: uvm.id, rootPath, scratch, shares: shares.map((s) => s.name), lun: mounted.lun };
    return { rootPath, closer: closer(record, release) };
  });
}
