// The simulated host's whole state: one plain, JSON-serialisable object, so that
// it can be written to and loaded from a state directory as it is (persistence
// across processes), and deep-copied for snapshots. Keys of records are the
// identities the real service uses (LUN, share name, VMBus GUID, …); paths are
// kept as they were sent, compared case-insensitively where Windows does.

import type {
  AttachmentType,
  HvSocketServiceConfig,
  Layer,
  VirtualPciFunction,
  VirtualSmbShareOptions,
} from '../../hcs/schema';
import type { LayerDescriptor } from '../types';
import type { CimMountState, OverlayFilterState } from './cimfs';

export interface ScsiAttachmentState {
  type: AttachmentType;
  path: string;
  readOnly: boolean;
  extensibleVirtualDiskType?: string;
  /** The real file (or `\\.\PHYSICALDRIVEn`) behind `path`: what two attachments must not share writably. */
  identity?: string;
}

export interface VsmbShareState {
  name: string;
  path: string;
  allowedFiles: string[];
  options: VirtualSmbShareOptions;
}

export interface CombinedLayersState {
  containerRootPath: string;
  layers: Layer[];
  scratchPath?: string;
}

export interface GuestState {
  /** LUN → guest path the disk is mounted at (MappedVirtualDisk). */
  mappedVirtualDisks: Record<string, string>;
  /** lower-cased container root → combined layers. */
  combinedLayers: Record<string, CombinedLayersState>;
  /** Directories guest processes created (with their parents). */
  directories: string[];
  /** Host directories whose drivers pnputil installed. */
  drivers: string[];
}

export interface UvmState {
  id: string;
  noWritableFileShares: boolean;
  vsmbNoDirectMap: boolean;
  fullyPhysicallyBacked: boolean;
  /** LUN (controller 0) → attachment; LUN 0 is the UVM's own scratch. */
  scsi: Record<string, ScsiAttachmentState>;
  /** name → share; `os` is the UVM's boot share. */
  vsmbShares: Record<string, VsmbShareState>;
  mappedPipes: string[];
  /** VMBus GUID → functions. */
  vpciDevices: Record<string, VirtualPciFunction[]>;
  /** service id → config. */
  hvSocketServices: Record<string, HvSocketServiceConfig>;
  guest: GuestState;
}

export interface LayerState {
  path: string;
  /** vmcompute ActivateLayer is reference-counted. */
  activations: number;
  /** The parents PrepareLayer was given, while prepared. */
  prepared?: LayerDescriptor[];
}

export interface CcgInstanceState {
  id: string;
  credentialSpec: string;
  transport: string;
  cookie: string;
  rpcEndpoint: string;
  serviceId: string;
}

export interface GrantState {
  vmId: string;
  path: string;
  identity: string;
}

export interface HostState {
  uvms: Record<string, UvmState>;
  /** lower-cased canonical path → layer. */
  layers: Record<string, LayerState>;
  ccgInstances: Record<string, CcgInstanceState>;
  grants: GrantState[];
  /** Windows paths of the files and directories host calls created. */
  filesCreated: string[];
  physicalDrives: number[];
  /** Device instance path → location paths device-util reports. */
  deviceLocations: Record<string, string[]>;
  /** Lower-case volume GUID → mounted CIM (cimfs.ts; absent in states persisted before CimFS). */
  cimMounts?: Record<string, CimMountState>;
  /** Lower-cased volume path → attached overlay filter. */
  overlayFilters?: Record<string, OverlayFilterState>;
}

export function emptyState(): HostState {
  return {
    uvms: {},
    layers: {},
    ccgInstances: {},
    grants: [],
    filesCreated: [],
    physicalDrives: [],
    deviceLocations: {},
    cimMounts: {},
    overlayFilters: {},
  };
}

/** Case-insensitive key of a Windows path or name. */
export function fold(s: string): string {
  return s.toLowerCase();
}

export function sameText(a: string, b: string): boolean {
  return fold(a) === fold(b);
}

/** Insert into a sorted, case-insensitively unique list. */
export function addUnique(list: string[], value: string): void {
  if (!list.some((x) => sameText(x, value))) {
    list.push(value);
    list.sort();
  }
}
