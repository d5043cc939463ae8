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
import type { VolumeSizeState } from './virtdisk';

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
  /** Lower-cased VHD path → its NTFS volume's size, when smaller than its partition (virtdisk.ts; absent before). */
  volumeSizes?: Record<string, VolumeSizeState>;
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
    volumeSizes: {},
  };
}

/** Case-insensitive key of a Windows path or name. */
export function fold(s: string): string {
  return s.toLowerCase();
}

export function sameText(a: string, b: string): boolean {
  return fold(a) === fold(b);
}

/**
 * The keys of a list's members (each list has one key function), so that a membership test
 * does not scan the list: `filesCreated` and `grants` grow with every container, and a scan
 * per call made the 1000th container dearer than the 10th. The model only appends to these
 * lists through addUnique and addGrant, which keep the keys current; a list of another
 * length (a state read back from disk is a new list anyway) has its keys taken again.
 */
const memberKeys = new WeakMap<object, Set<string>>();

function keysOf<T>(list: T[], key: (member: T) => string): Set<string> {
  let keys = memberKeys.get(list);
  if (keys === undefined || keys.size !== list.length) {
    keys = new Set(list.map(key));
    memberKeys.set(list, keys);
  }
  return keys;
}

/** Insert into a sorted, case-insensitively unique list (a scan and a sort per add grew with the list). */
export function addUnique(list: string[], value: string): void {
  const folded = keysOf(list, fold);
  if (folded.has(fold(value))) return;
  folded.add(fold(value));
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, value);
}

function grantKey(g: { vmId: string; identity: string }): string {
  return `${g.vmId}\u0000${g.identity}`;
}

/** Whether VM `vmId` was granted access to the file (or drive) `identity`. */
export function hasGrant(grants: GrantState[], vmId: string, identity: string): boolean {
  return keysOf(grants, grantKey).has(grantKey({ vmId, identity }));
}

/** Record a grant unless that VM holds one for that file already (GrantVmAccess twice is one grant). */
export function addGrant(grants: GrantState[], grant: GrantState): void {
  const keys = keysOf(grants, grantKey);
  if (keys.has(grantKey(grant))) return;
  keys.add(grantKey(grant));
  grants.push(grant);
}

const STATE_KEYS: Record<keyof HostState, 'object' | 'array'> = {
  uvms: 'object',
  layers: 'object',
  ccgInstances: 'object',
  grants: 'array',
  filesCreated: 'array',
  physicalDrives: 'array',
  deviceLocations: 'object',
  cimMounts: 'object',
  overlayFilters: 'object',
  volumeSizes: 'object',
};

/**
 * A persisted state read back (persist.ts): JSON of the shape emptyState() has. Only this
 * package writes the file (0600 in a 0700 directory); the check catches a file that is not
 * one of ours, or of another version, before the model acts on it.
 */
export function parseHostState(text: string, file: string): HostState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`simulated host state ${file} is not JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`simulated host state ${file} is not an object`);
  const o = v as Record<string, unknown>;
  const state = emptyState();
  for (const [key, kind] of Object.entries(STATE_KEYS) as [keyof HostState, 'object' | 'array'][]) {
    const value = o[key];
    if (value === undefined) continue;
    const ok = kind === 'array' ? Array.isArray(value) : value !== null && typeof value === 'object' && !Array.isArray(value);
    if (!ok) throw new Error(`simulated host state ${file}: '${key}' is not an ${kind}`);
    (state as unknown as Record<string, unknown>)[key] = value;
  }
  return state;
}
