// `SimulatedHost.snapshot()`: the live state as tests compare it — deep-copied,
// JSON-stable, collections as arrays sorted by their identity (LUN, name, GUID,
// path) wherever the real service keeps no order.

import { SCSI_CONTROLLER_GUIDS } from '../../hcs/constants';
import type { AttachmentType, HvSocketServiceConfig, VirtualPciFunction, VirtualSmbShareOptions } from '../../hcs/schema';
import type { LayerDescriptor } from '../types';
import type { CombinedLayersState, HostState, UvmState } from './state';

export interface ScsiSnapshot {
  controller: string;
  lun: number;
  type: AttachmentType;
  path: string;
  readOnly: boolean;
  extensibleVirtualDiskType?: string;
  /** Where the guest mounted the disk (MappedVirtualDisk), null when it did not. */
  guestPath: string | null;
}

export interface UvmSnapshot {
  id: string;
  noWritableFileShares: boolean;
  vsmbNoDirectMap: boolean;
  fullyPhysicallyBacked: boolean;
  scsi: ScsiSnapshot[];
  vsmbShares: { name: string; path: string; options: VirtualSmbShareOptions; allowedFiles: string[] }[];
  mappedPipes: string[];
  vpciDevices: { vmBusGuid: string; functions: VirtualPciFunction[] }[];
  hvSocketServices: { serviceId: string; config: HvSocketServiceConfig }[];
  guest: {
    mappedVirtualDisks: { lun: number; containerPath: string }[];
    combinedLayers: CombinedLayersState[];
    directories: string[];
    drivers: string[];
  };
}

export interface HostSnapshot {
  /** By UVM id (keys in sorted order). */
  uvms: Record<string, UvmSnapshot>;
  layers: { path: string; activations: number; prepared: boolean; parents?: LayerDescriptor[] }[];
  ccgInstances: { id: string; transport: string; credentialSpec: string; serviceId: string }[];
  vmAccessGrants: { vmId: string; path: string }[];
  filesCreated: string[];
  physicalDrives: number[];
  /** Mounted CIMs, by volume GUID. */
  cimMounts: { volumeGuid: string; cimPath: string; flags: number }[];
  /** Attached overlay filters, by volume path. */
  overlayFilters: { volumePath: string; filterType: string; layers: { Id: string; Path: string }[] }[];
  /** NTFS volumes smaller than their partition (ExpandSandboxSize grew the disk, nothing the volume yet), by VHD. */
  volumeSizes: { vhd: string; bytes: number }[];
  /** VHDs attached through handles this process holds (virtdisk.ts; they go with the handle). */
  attachedVirtualDisks: { path: string; flags: number }[];
}

function byKey<T>(key: (t: T) => string | number): (a: T, b: T) => number {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

function sortedRecord<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(byKey(([k]) => k)));
}

export function snapshotUvm(u: UvmState): UvmSnapshot {
  const copy = structuredClone(u);
  const g = copy.guest;
  return {
    id: copy.id,
    noWritableFileShares: copy.noWritableFileShares,
    vsmbNoDirectMap: copy.vsmbNoDirectMap,
    fullyPhysicallyBacked: copy.fullyPhysicallyBacked,
    scsi: Object.entries(copy.scsi)
      .map(([lun, a]) => {
        const s: ScsiSnapshot = { controller: SCSI_CONTROLLER_GUIDS[0], lun: Number(lun), type: a.type, path: a.path, readOnly: a.readOnly, guestPath: g.mappedVirtualDisks[lun] ?? null };
        if (a.extensibleVirtualDiskType !== undefined) s.extensibleVirtualDiskType = a.extensibleVirtualDiskType;
        return s;
      })
      .sort(byKey((s) => s.lun)),
    vsmbShares: Object.values(copy.vsmbShares)
      .map((s) => ({ name: s.name, path: s.path, options: s.options, allowedFiles: s.allowedFiles }))
      .sort(byKey((s) => s.name)),
    mappedPipes: [...copy.mappedPipes].sort(),
    vpciDevices: Object.entries(copy.vpciDevices)
      .map(([vmBusGuid, functions]) => ({ vmBusGuid, functions }))
      .sort(byKey((d) => d.vmBusGuid)),
    hvSocketServices: Object.entries(copy.hvSocketServices)
      .map(([serviceId, config]) => ({ serviceId, config }))
      .sort(byKey((s) => s.serviceId)),
    guest: {
      mappedVirtualDisks: Object.entries(g.mappedVirtualDisks)
        .map(([lun, containerPath]) => ({ lun: Number(lun), containerPath }))
        .sort(byKey((m) => m.lun)),
      combinedLayers: Object.entries(g.combinedLayers)
        .sort(byKey(([k]) => k))
        .map(([, c]) => c),
      directories: [...g.directories].sort(),
      drivers: [...g.drivers].sort(),
    },
  };
}

export function snapshotHost(state: HostState, attachedVirtualDisks: HostSnapshot['attachedVirtualDisks'] = []): HostSnapshot {
  const s = structuredClone(state);
  return {
    uvms: sortedRecord(Object.values(s.uvms).map((u) => [u.id, snapshotUvm(u)])),
    layers: Object.values(s.layers)
      .map((l) => ({ path: l.path, activations: l.activations, prepared: l.prepared !== undefined, ...(l.prepared ? { parents: l.prepared } : {}) }))
      .sort(byKey((l) => l.path.toLowerCase())),
    ccgInstances: Object.values(s.ccgInstances)
      .map((c) => ({ id: c.id, transport: c.transport, credentialSpec: c.credentialSpec, serviceId: c.serviceId }))
      .sort(byKey((c) => c.id)),
    vmAccessGrants: s.grants.map((g) => ({ vmId: g.vmId, path: g.path })).sort(byKey((g) => `${g.vmId}\u0000${g.path.toLowerCase()}`)),
    filesCreated: [...s.filesCreated].sort(),
    physicalDrives: [...s.physicalDrives].sort((a, b) => a - b),
    cimMounts: Object.values(s.cimMounts ?? {}).sort(byKey((m) => m.volumeGuid)),
    overlayFilters: Object.values(s.overlayFilters ?? {}).sort(byKey((f) => f.volumePath.toLowerCase())),
    volumeSizes: Object.values(s.volumeSizes ?? {}).sort(byKey((v) => v.vhd.toLowerCase())),
    attachedVirtualDisks: structuredClone(attachedVirtualDisks),
  };
}
