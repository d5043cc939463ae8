// virtdisk.dll's open and temporary attach of a VHD, and the NTFS volume inside it, as
// hcsshim main's ExpandScratchSize uses them (internal/wclayer/expandscratchsize.go:19-145):
// OpenVirtualDisk → AttachVirtualDisk → GetLayerMountPath → CreateFile(volume) →
// IOCTL_DISK_GET_LENGTH_INFO → GetDiskFreeSpaceEx → FSCTL_EXTEND_VOLUME → CloseHandle.
// Rules the model enforces (README.md "Virtual disks and volumes"):
// - handles live in the process, not in the persisted state: an attach without
//   PERMANENT_LIFETIME ends when its handle is closed, or when the process dies;
// - a VHD is attached once: attaching one that is attached, or whose scratch is activated
//   (vmcompute has it attached), is ERROR_SHARING_VIOLATION, and so is activating it then;
// - a scratch's volume is `\\?\Volume{<its layer volume GUID>}` (the one GetLayerMountPath
//   reports) while activated or attached; its partition starts 1 MiB into the disk (what the
//   reference's numbers give: partition = disk − 1 MiB); the NTFS volume fills the partition
//   unless the state says otherwise (`volumeSizes`: ExpandSandboxSize grows the disk and the
//   partition, not the volume; PrepareLayer grows the volume, hcsshim's comment at
//   expandscratchsize.go:29-34; FSCTL_EXTEND_VOLUME sets it);
// - FSCTL_EXTEND_VOLUME must grow the volume by more than the one cluster NTFS reserves and
//   stay inside the partition (E_INVALIDARG, hcsshim's comment), and fails with
//   ERROR_WRITE_PROTECT on a volume attached read-only, or — with the BitLocker policy
//   "deny write access to fixed drives not protected by BitLocker" — attached without
//   ATTACH_VIRTUAL_DISK_FLAG_BYPASS_DEFAULT_ENCRYPTION_POLICY (hcsshim issue #2464).
// The codes of the refusals other than those hcsshim names are INFERRED.

import { virtualSizeOf } from './overlay';
import { inspectVhdx } from '../../vhdx';
import {
  E_ACCESSDENIED,
  E_HANDLE,
  E_INVALIDARG,
  ERROR_FILE_NOT_FOUND_HR,
  ERROR_INVALID_NAME_HR,
  ERROR_NOT_READY_HR,
  ERROR_PATH_NOT_FOUND_HR,
  ERROR_SHARING_VIOLATION_HR,
  ERROR_VIRTDISK_NOT_VIRTUAL_DISK,
  ERROR_WRITE_PROTECT_HR,
} from '../../hcs/errors';
import { base, dir, join } from '../winpath';
import { Rejection } from './failure';
import type { WindowsFs } from './fs';
import { derivedGuid } from './guid';
import { fold, type HostState } from './state';
import { SANDBOX_VHDX, scratchVolumeGuid } from './vmcompute';

export const ATTACH_READ_ONLY = 0x1;
export const ATTACH_NO_DRIVE_LETTER = 0x2;
export const ATTACH_BYPASS_DEFAULT_ENCRYPTION_POLICY = 0x20;
/** The attach flags the model knows; PERMANENT_LIFETIME (0x4) would outlive the process, which it does not model. */
const MODELLED_FLAGS = ATTACH_READ_ONLY | ATTACH_NO_DRIVE_LETTER | ATTACH_BYPASS_DEFAULT_ENCRYPTION_POLICY;

/** Where the one partition of a scratch disk starts. */
export const PARTITION_OFFSET = 1024 * 1024;
export const CLUSTER = 4096;
const SECTOR = 512;

interface DiskHandle {
  kind: 'disk';
  /** The VHD, canonical spelling. */
  path: string;
  /** Flags of the attach, while attached through this handle. */
  attached?: number;
}

interface VolumeHandle {
  kind: 'volume';
  path: string;
  guid: string;
}

type Handle = DiskHandle | VolumeHandle;

/** A VHD's volume: `<folder>\sandbox.vhdx` is its scratch's, the one GetLayerMountPath reports (vmcompute.ts). */
function volumeGuidOfVhd(vhd: string): string {
  return base(vhd).toLowerCase() === SANDBOX_VHDX ? scratchVolumeGuid(fold(dir(vhd))) : derivedGuid('vhd-volume', fold(vhd));
}

const VOLUME = /^\\\\\?\\Volume\{([0-9a-fA-F-]{36})\}$/;

/** The open handles of this process and what is attached through them. */
export class VirtualDisks {
  private readonly handles = new Map<number, Handle>();
  private next = 1;

  constructor(
    /** The BitLocker policy that mounts VHDs write-protected unless the attach bypasses it. */
    private readonly denyUnprotectedWrites: boolean,
  ) {}

  private handle(h: number, kind: 'disk'): DiskHandle;
  private handle(h: number, kind: 'volume'): VolumeHandle;
  private handle(h: number, kind: Handle['kind']): Handle {
    const found = this.handles.get(h);
    if (found?.kind !== kind) throw new Rejection(E_HANDLE, `handle ${h} is not an open ${kind === 'disk' ? 'virtual disk' : 'volume'}`);
    return found;
  }

  /** The path a handle was opened with (the call's target), if it is open. */
  pathOf(h: number): string | undefined {
    return this.handles.get(h)?.path;
  }

  private attachments(): DiskHandle[] {
    return [...this.handles.values()].filter((x): x is DiskHandle => x.kind === 'disk' && x.attached !== undefined);
  }

  /** Whether the scratch in `folderKey` has its sandbox.vhdx attached through a handle. */
  attachedScratch(folderKey: string): boolean {
    return this.attachments().some((d) => volumeGuidOfVhd(d.path) === scratchVolumeGuid(folderKey));
  }

  /** What the snapshot lists: VHDs attached through open handles. */
  attached(): { path: string; flags: number }[] {
    return this.attachments()
      .map((d) => ({ path: d.path, flags: d.attached! }))
      .sort((a, b) => (fold(a.path) < fold(b.path) ? -1 : 1));
  }

  async prepareOpenDisk(fs: WindowsFs, path: string): Promise<() => number> {
    const f = await fs.existing(path);
    if (f === undefined || !f.stat.isFile) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `'${path}' was not found`);
    try {
      // A rehearsal's scratch (overlay.ts) is a VHD CreateSandboxLayer made; it has no bytes to read.
      if (f.rehearsed !== true) await inspectVhdx(f.real);
    } catch {
      throw new Rejection(ERROR_VIRTDISK_NOT_VIRTUAL_DISK, `'${path}' is not a virtual disk`);
    }
    return () => this.add({ kind: 'disk', path: f.win });
  }

  private add(h: Handle): number {
    const n = this.next++;
    this.handles.set(n, h);
    return n;
  }

  prepareAttach(state: HostState, disk: number, flags: number): () => void {
    const d = this.handle(disk, 'disk');
    if ((flags & ~MODELLED_FLAGS) !== 0) throw new Rejection(E_INVALIDARG, `attach flags 0x${flags.toString(16)} are not modelled`);
    return () => {
      const guid = volumeGuidOfVhd(d.path);
      const activated = Object.keys(state.layers).some((key) => scratchVolumeGuid(key) === guid);
      if (d.attached !== undefined || activated || this.attachments().some((a) => volumeGuidOfVhd(a.path) === guid)) {
        throw new Rejection(ERROR_SHARING_VIOLATION_HR, `'${d.path}' is attached already`);
      }
      d.attached = flags;
    };
  }

  /** The mounted volume `guid` (an activated scratch's, or an attached VHD's) and whether writes reach it. */
  private mounted(state: HostState, guid: string): { vhd: string; writable: boolean } | undefined {
    const layer = Object.entries(state.layers).find(([key]) => scratchVolumeGuid(key) === guid);
    if (layer !== undefined) return { vhd: join(layer[1].path, SANDBOX_VHDX), writable: true };
    const d = this.attachments().find((a) => volumeGuidOfVhd(a.path) === guid);
    if (d === undefined) return undefined;
    const flags = d.attached!;
    const protectedByPolicy = this.denyUnprotectedWrites && (flags & ATTACH_BYPASS_DEFAULT_ENCRYPTION_POLICY) === 0;
    return { vhd: d.path, writable: (flags & ATTACH_READ_ONLY) === 0 && !protectedByPolicy };
  }

  /** CreateFile of a volume device: `\\?\Volume{G}`, no trailing `\` (with one it names the root folder). */
  prepareOpenVolume(state: HostState, path: string): () => number {
    if (path === '') throw new Rejection(ERROR_PATH_NOT_FOUND_HR, 'an empty path names nothing');
    // The root folder, opened without FILE_FLAG_BACKUP_SEMANTICS.
    if (path.endsWith('\\') && VOLUME.test(path.slice(0, -1))) throw new Rejection(E_ACCESSDENIED, `'${path}' is a folder`);
    const m = VOLUME.exec(path);
    const guid = m?.[1]?.toLowerCase();
    return () => {
      if (guid === undefined || this.mounted(state, guid) === undefined) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `no volume '${path}' is mounted`);
      return this.add({ kind: 'volume', path, guid });
    };
  }

  /** A volume handle's volume, still mounted (a detach under an open handle leaves it stale). */
  private live(state: HostState, volume: number): { vhd: string; writable: boolean } {
    const v = this.handle(volume, 'volume');
    const m = this.mounted(state, v.guid);
    if (m === undefined) throw new Rejection(ERROR_NOT_READY_HR, `volume ${v.path} is no longer mounted`);
    return m;
  }

  async prepareDiskLength(state: HostState, fs: WindowsFs, volume: number): Promise<() => bigint> {
    const { vhd } = this.live(state, volume);
    const partition = await partitionBytes(fs, vhd);
    return () => BigInt(partition);
  }

  /** GetDiskFreeSpaceEx: a volume root needs its trailing `\`. */
  async prepareTotalBytes(state: HostState, fs: WindowsFs, path: string): Promise<() => bigint> {
    const m = VOLUME.exec(path.replace(/\\$/, ''));
    if (m === null) throw new Rejection(ERROR_PATH_NOT_FOUND_HR, `'${path}' is not a mounted volume`);
    if (!path.endsWith('\\')) throw new Rejection(ERROR_INVALID_NAME_HR, `'${path}' needs a trailing backslash`);
    const mounted = this.mounted(state, m[1]!.toLowerCase());
    if (mounted === undefined) throw new Rejection(ERROR_PATH_NOT_FOUND_HR, `no volume '${path}' is mounted`);
    const partition = await partitionBytes(fs, mounted.vhd);
    return () => BigInt(volumeBytes(state, mounted.vhd) ?? partition);
  }

  async prepareExtend(state: HostState, fs: WindowsFs, volume: number, sectors: bigint): Promise<() => void> {
    const { vhd, writable } = this.live(state, volume);
    const partition = await partitionBytes(fs, vhd);
    return () => {
      if (!writable) throw new Rejection(ERROR_WRITE_PROTECT_HR, `volume of '${vhd}' is write-protected`);
      const bytes = sectors * BigInt(SECTOR);
      const current = BigInt(volumeBytes(state, vhd) ?? partition);
      if (bytes > BigInt(partition) || bytes / BigInt(CLUSTER) <= current / BigInt(CLUSTER) + 1n) {
        throw new Rejection(E_INVALIDARG, `cannot extend the volume of '${vhd}' from ${current} to ${bytes} bytes (partition ${partition})`);
      }
      setVolumeBytes(state, vhd, Number(bytes), partition);
    };
  }

  prepareClose(h: number): () => void {
    if (!this.handles.has(h)) throw new Rejection(E_HANDLE, `handle ${h} is not open`);
    return () => {
      this.handles.delete(h);
    };
  }
}

/** The partition's length: the disk's virtual size less the space before the partition. */
export async function partitionBytes(fs: WindowsFs, vhd: string): Promise<number> {
  const f = await fs.existing(vhd);
  if (f === undefined) throw new Rejection(ERROR_NOT_READY_HR, `'${vhd}' is gone`);
  return (await virtualSizeOf(fs, f)) - PARTITION_OFFSET;
}

export interface VolumeSizeState {
  vhd: string;
  bytes: number;
}

function volumeSizes(state: HostState): Record<string, VolumeSizeState> {
  // A state persisted before volume sizes were modelled has no record.
  return (state.volumeSizes ??= {});
}

/** The NTFS volume size inside `vhd`, when it does not fill the partition. */
export function volumeBytes(state: HostState, vhd: string): number | undefined {
  return volumeSizes(state)[fold(vhd)]?.bytes;
}

/** The volume inside `vhd` fills its partition (the default, kept as no record). */
export function fillVolume(state: HostState, vhd: string): void {
  delete volumeSizes(state)[fold(vhd)];
}

/** Record the volume size inside `vhd`, whose partition is `partition` bytes long. */
export function setVolumeBytes(state: HostState, vhd: string, bytes: number, partition: number): void {
  if (bytes >= partition) fillVolume(state, vhd);
  else volumeSizes(state)[fold(vhd)] = { vhd, bytes };
}
