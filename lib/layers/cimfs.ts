// Process-isolated forked CimFS: hcsshim main's mountProcessIsolatedForkedCimLayers
// (internal/layers/wcow_mount.go:222-321, internal/wclayer/cim/mount.go:20-37,
// pkg/cimfs/mount_cim.go:36-72). The top-most layer's CIM (forked from all its parents)
// is mounted at a volume GUID derived from the container id, the scratch is activated,
// and computestorage's UnionFS overlay filter joins the two on the scratch volume, which
// is the container root. Rules and differences in ./README.md "CimFS".
//
// Every step goes through the journaled host (lib/resources/journal): the CIM mount and
// the filter are recorded before they are attempted, so recover() dismounts and detaches
// what a killed process left — hcsshim has no crash cleanup here (its delete path has a
// TODO, cmd/containerd-shim-runhcs-v1/delete.go:126-127).

import { InvalidSpecError, wrap, type WcowError } from '../errors';
import type { LayerSpec } from '../hcs/documents';
import { uuidV5 } from '../host/uuid';
import type { Host, OverlayLayerData } from '../host/types';
import { base, dir } from '../host/winpath';
import { closer, type Closer, type LayersRecord } from '../resources';
import { withRollbackErrors } from '../resources/release';
import type { ForkedCimLayers } from './rootfs';

/**
 * The namespace of the CIM volume GUIDs: hcsshim's literal writes only 6 of the 8 Data4
 * bytes, so it ends in `0000` (cim/mount.go:20; a v0.12 comment claims otherwise).
 */
const CIM_VOLUME_NAMESPACE = '6827367b-c388-4e9b-961c-6d2c936c0000';

/** CimMountFlagNone: forked CIMs mount without flags since v0.13.0 (mount_cim.go:41-46). */
const CIM_MOUNT_FLAG_NONE = 0;

/** The volume GUID of a container's CIM mount: RFC 4122 v5 of the id's UTF-8 bytes (cim/mount.go:27). */
export function cimVolumeGuid(containerId: string): string {
  return uuidV5(CIM_VOLUME_NAMESPACE, containerId);
}

/** `\\?\Volume{<guid>}\` (VolumePathFormat, mount_cim.go:36). */
export function cimVolumePath(guid: string): string {
  return `\\\\?\\Volume{${guid}}\\`;
}

/** LayerData of the attach: the CIM volume's `Files` folder is the image (wcow_mount.go:262-272). */
export function overlayFilterAttach(guid: string): OverlayLayerData {
  return { SchemaVersion: {}, Layers: [{ Id: guid, Path: `${cimVolumePath(guid)}Files` }], FilterType: 'UnionFS' };
}

/** LayerData of the detach: no layers (computestorage/detach.go:35-54). */
export function overlayFilterDetach(): OverlayLayerData {
  return { SchemaVersion: {}, FilterType: 'UnionFS' };
}

/** Storage.Layers of the container document: the CIM volume only, whatever the depth (hcsdoc_wcow.go:314-372). */
export function forkedCimStorageLayers(containerId: string): LayerSpec[] {
  const guid = cimVolumeGuid(containerId);
  return [{ id: guid, path: cimVolumePath(guid) }];
}

const VOLUME_PREFIX = '\\\\?\\Volume{';
const VOLUME_SUFFIX = '}\\';

/**
 * A client-mounted root with CIM layers: hcsshim main reports the root itself as the one
 * layer, its id the GUID inside the path (MakeMountedWCOWLayers, wcow_mount.go:73-84;
 * LayerID, cim/mount.go:143-150).
 */
export function premountedCimLayers(rootPath: string): LayerSpec[] {
  const p = rootPath.endsWith('\\') ? rootPath : `${rootPath}\\`;
  if (!p.startsWith(VOLUME_PREFIX) || !p.endsWith(VOLUME_SUFFIX) || p.length <= VOLUME_PREFIX.length + VOLUME_SUFFIX.length) {
    throw new InvalidSpecError(`failed to use pre-mounted container storage: volume path ${rootPath} is not in the expected format`, { op: 'layers.mount', resource: rootPath });
  }
  return [{ id: p.slice(VOLUME_PREFIX.length, -VOLUME_SUFFIX.length), path: rootPath }];
}

export interface ForkedCimMount {
  /** The scratch volume `\\?\Volume{…}\` the filter is attached to: Spec.Root.Path. */
  rootPath: string;
  closer: Closer;
}

/**
 * What the mount holds, released in hcsshim's order — detach, deactivate, dismount — and,
 * like hcsshim's ResourceCloserList, stopping at the first failure (the next step would
 * pull a volume from under what still uses it). Steps done are remembered, so a retried
 * release resumes where it stopped.
 */
class Held {
  attached = false;
  activated = false;
  mounted = false;

  constructor(
    private readonly host: Host,
    private readonly scratch: string,
    private readonly guid: string,
    public rootPath: string,
  ) {}

  async release(): Promise<void> {
    if (this.attached) {
      try {
        await this.host.detachOverlayFilter(this.rootPath, overlayFilterDetach());
      } catch (err) {
        throw wrap(err, 'failed to detach overlay filter', { op: 'layers.release', resource: this.rootPath });
      }
      this.attached = false;
    }
    if (this.activated) {
      await this.host.deactivateLayer(this.scratch);
      this.activated = false;
    }
    if (this.mounted) {
      try {
        await this.host.cimDismountImage(this.guid);
      } catch (err) {
        throw wrap(err, `cim Unmount ${this.guid}`, { op: 'layers.release', resource: this.guid });
      }
      this.mounted = false;
    }
  }

  /** A failed mount step: undo what is held (its failures go with the error) and rethrow. */
  async fail(err: unknown): Promise<never> {
    const rollback: WcowError[] = [];
    try {
      await this.release();
    } catch (e) {
      rollback.push(wrap(e, 'mount process isolated forked CIM layers, undo failed with'));
    }
    throw withRollbackErrors(err, rollback);
  }
}

/**
 * Mount `layers` for the process-isolated container `containerId`. Errors carry hcsshim
 * main's text; the caller adds `failed to mount container storage: `. The scratch's
 * sandbox.vhdx must exist already (containerd's snapshotters create it; hcsshim does not
 * for CIM layers — wcow_mount.go:131 runs ensureScratchVHD for WCIFS only).
 */
export async function mountForkedCimLayers(host: Host, containerId: string, layers: ForkedCimLayers): Promise<ForkedCimMount> {
  const top = layers.layers[0]!;
  const guid = cimVolumeGuid(containerId);
  const held = new Held(host, layers.scratch, guid, '');
  try {
    await host.cimMountImage(dir(top.cimPath), base(top.cimPath), CIM_MOUNT_FLAG_NONE, guid);
  } catch (err) {
    throw wrap(err, `mount forked layer cim: cim Mount ${top.cimPath} ${guid}`, { op: 'layers.mount', resource: top.cimPath });
  }
  held.mounted = true;

  try {
    // No retry loop: hcsshim retries ActivateLayer only for WCIFS (layers.go:209-245).
    await host.activateLayer(layers.scratch);
    held.activated = true;
    held.rootPath = await host.getLayerMountPath(layers.scratch);
    try {
      await host.attachOverlayFilter(held.rootPath, overlayFilterAttach(guid));
    } catch (err) {
      throw wrap(err, 'failed to attach overlay filter', { op: 'layers.mount', resource: held.rootPath });
    }
    held.attached = true;
  } catch (err) {
    return held.fail(err);
  }

  const record: LayersRecord = { kind: 'layers', isolation: 'process', layers: 'forked-cim', scratch: layers.scratch, rootPath: held.rootPath, volumeGuid: guid };
  return { rootPath: held.rootPath, closer: closer(record, () => held.release()) };
}
