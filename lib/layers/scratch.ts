// The container's scratch folder and its sandbox.vhdx (hcsshim v0.11.4
// internal/hcsoci/resources_wcow.go:38-67), and its expansion to a requested size (hcsshim
// main's ExpandScratchSize, internal/wclayer/expandscratchsize.go:19-145, which containerd's
// snapshotters call right after creating a scratch). Runs for every isolation mode, even
// when Root.Path is preset.

import { wrap } from '../errors';
import type { Host, HostHandle } from '../host/types';
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

/**
 * Create the scratch folder (MkdirAll, only when missing) and `<scratch>\sandbox.vhdx`
 * (vmcompute CreateSandboxLayer with one descriptor per parent, only when missing), and
 * grow a VHD created here to `sizeBytes` (0: as created). A sandbox.vhdx that exists is
 * the snapshotter's and is used as it is — no second create, no size check, no expansion
 * (hcsshim main internal/layers/helpers.go:51-65): the snapshotter expanded it when it made
 * it (containerd plugins/snapshots/windows/windows.go).
 */
export async function ensureScratch(host: Host, scratchFolder: string, parentLayers: readonly string[], sizeBytes = 0n): Promise<void> {
  const details = { op: 'scratch.create', resource: scratchFolder };
  if (await missing(host, scratchFolder)) {
    try {
      await host.mkdirAll(scratchFolder);
    } catch (err) {
      throw wrap(err, `failed to auto-create container scratch folder ${scratchFolder}`, details);
    }
  }
  if (!(await missing(host, join(scratchFolder, SANDBOX_VHDX)))) return;
  try {
    await host.createSandboxLayer(scratchFolder, await layerDescriptors(host, parentLayers));
  } catch (err) {
    throw wrap(err, 'failed to CreateSandboxLayer', details);
  }
  if (sizeBytes === 0n) return;
  try {
    await expandScratchSize(host, scratchFolder, sizeBytes);
  } catch (err) {
    // containerd's words for the same step (windows.go createScratchLayer).
    throw wrap(err, `failed to expand sandbox vhdx size to ${sizeBytes} bytes`, { op: 'scratch.expand', resource: scratchFolder });
  }
}

/** NTFS cluster and disk sector sizes hcsshim assumes (expandscratchsize.go). */
const CLUSTER_BYTES = 4096n;
const SECTOR_BYTES = 512n;
/** Keeps the BitLocker policy "deny write access to fixed drives not protected by BitLocker" from mounting the VHD write-protected (hcsshim #2572, for #2464). */
export const ATTACH_VIRTUAL_DISK_FLAG_BYPASS_DEFAULT_ENCRYPTION_POLICY = 0x20;

/**
 * Close handles whatever happened, as hcsshim's deferred syscall.Close does: a close that
 * fails after the step failed is dropped like hcsshim drops it (the handle goes with the
 * process); after a step that succeeded it is the error.
 */
async function closing<T>(host: Host, handle: HostHandle, what: string, step: () => Promise<T>): Promise<T> {
  let value: T;
  try {
    value = await step();
  } catch (err) {
    await host.closeHandle(handle).catch(() => undefined);
    throw err;
  }
  try {
    await host.closeHandle(handle);
  } catch (err) {
    throw wrap(err, `CloseHandle ${what}`);
  }
  return value;
}

/**
 * hcsshim main's ExpandScratchSize: vmcompute ExpandSandboxSize grows the VHD and its
 * partition; then, always (since v0.12.0, #1980 — v0.11.4 did it only on builds 18362 to
 * 19019: CIM scratches never see the PrepareLayer that used to grow it), the NTFS volume:
 * attach the VHD for the time of the step (with the BitLocker bypass flag since
 * v0.15.0-rc.2), open its volume, and extend the file system to the partition when there is
 * more than NTFS's one reserved cluster to gain. Error texts are hcsshim's.
 */
export async function expandScratchSize(host: Host, scratchFolder: string, sizeBytes: bigint): Promise<void> {
  await host.expandSandboxSize(scratchFolder, sizeBytes);
  const vhd = join(scratchFolder, SANDBOX_VHDX);
  const at = (call: string) => (err: unknown) => {
    throw wrap(err, `${call} ${vhd}`);
  };
  const disk = await host.openVirtualDisk(vhd).catch(at('OpenVirtualDisk'));
  await closing(host, disk, vhd, async () => {
    await host.attachVirtualDisk(disk, ATTACH_VIRTUAL_DISK_FLAG_BYPASS_DEFAULT_ENCRYPTION_POLICY).catch((err: unknown) => {
      throw wrap(wrap(err, `AttachVirtualDisk ${vhd}`), `OpenVirtualDisk ${vhd}`);
    });
    const mountPath = await host.getLayerMountPath(scratchFolder);
    // The volume device, not its root folder.
    const volumePath = mountPath.endsWith('\\') ? mountPath.slice(0, -1) : mountPath;
    const volume = await host.openVolume(volumePath);
    await closing(host, volume, volumePath, async () => {
      const on = (call: string) => (err: unknown) => {
        throw wrap(err, `${call} ${volumePath}`);
      };
      const targetClusters = (await host.diskLength(volume).catch(on('IOCTL_DISK_GET_LENGTH_INFO'))) / CLUSTER_BYTES;
      const volumeClusters = (await host.diskTotalBytes(`${volumePath}\\`).catch(on('GetDiskFreeSpaceEx'))) / CLUSTER_BYTES;
      // Growing by NTFS's one reserved cluster or less fails with invalid parameter.
      if (volumeClusters + 1n < targetClusters) {
        await host.extendVolume(volume, targetClusters * (CLUSTER_BYTES / SECTOR_BYTES)).catch(on('FSCTL_EXTEND_VOLUME'));
      }
    });
  });
}
