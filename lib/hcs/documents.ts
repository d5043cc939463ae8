// One named builder per HCS / GCS document this package sends, each returning the
// object Go's encoding/json would print for hcsshim's struct: keys in struct
// declaration order, omitempty fields dropped when false/0/""/nil/empty slice.
// Struct-typed values (a pointer to options, a nested struct) are kept even when
// all their fields are empty, so they print `{}` (docs/mounts.md#share-options; docs/layers.md#layerdata).
// Tests compare these with JSON.stringify, so key order is part of the contract.

import { InvalidSpecError } from '../errors';
import {
  CCG_PROPERTY_TYPE,
  DEVICE_ID_TYPE_CLASS,
  DEVICE_ID_TYPE_CLASS_GUID,
  DEVICE_ID_TYPE_LOCATION_PATH,
} from './constants';
import {
  VSMB_SHARES_PATH,
  hvSocketServicePath,
  mappedPipePath,
  scsiAttachmentPath,
  virtualPciPath,
} from './resourcepaths';
import type {
  Attachment,
  AttachmentType,
  ContainerCredentialGuardOperationRequest,
  ContainerCredentialGuardState,
  Device,
  GuestModificationRequest,
  HvSocketServiceConfig,
  Layer,
  LayerData,
  MappedDirectory,
  MappedPipe,
  ModifySettingRequest,
  ProcessParameters,
  SchemaVersion,
  ServiceModificationRequest,
  ServicePropertyQuery,
  Storage,
  VirtualPciDevice,
  VirtualPciFunction,
  VirtualSmbShare,
  VirtualSmbShareOptions,
  WcowCombinedLayers,
  WcowMappedVirtualDisk,
} from './schema';

/** One `[key, value]` pair of T, typed per key. */
type Entry<T> = { [K in keyof T]-?: readonly [K, T[K] | undefined] }[keyof T];

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0);
}

/** A Go struct with omitempty fields: entries in declaration order, empty values dropped. */
function struct<T>(entries: readonly Entry<T>[]): T {
  const out: Record<PropertyKey, unknown> = {};
  for (const [key, value] of entries) {
    if (!isEmpty(value)) out[key] = value;
  }
  return out as T;
}

// ---------------------------------------------------------------------------
// Modify split (uvm.modify, docs/mounts.md#adding-an-attachment; docs/behaviour.md#delivering-a-modify)

/** The host part of a modify: the same document without GuestRequest. */
export function withoutGuestRequest<S>(req: ModifySettingRequest<S>): ModifySettingRequest<S> {
  return struct<ModifySettingRequest<S>>([
    ['ResourcePath', req.ResourcePath],
    ['RequestType', req.RequestType],
    ['Settings', req.Settings],
  ]);
}

/**
 * The rollback of a host Add whose guest part failed: hcsshim re-sends the host
 * document with RequestType "Remove" and **keeps Settings** (modify.go:27-35;
 * docs/mounts.md#adding-an-attachment). Reproduced as is: HCS accepts it.
 */
export function asRemove<S>(req: ModifySettingRequest<S>): ModifySettingRequest<S> {
  return withoutGuestRequest({ ...req, RequestType: 'Remove' });
}

// ---------------------------------------------------------------------------
// VSMB (docs/mounts.md#vsmb-shares)

/** schema2.VirtualSmbShareOptions declaration order. */
const VSMB_OPTION_ORDER: readonly (keyof VirtualSmbShareOptions)[] = [
  'ReadOnly',
  'ShareRead',
  'CacheIo',
  'NoOplocks',
  'TakeBackupPrivilege',
  'UseShareRootIdentity',
  'NoDirectmap',
  'NoLocks',
  'NoDirnotify',
  'VmSharedMemory',
  'RestrictFileAccess',
  'ForceLevelIIOplocks',
  'ReparseBaseLayer',
  'PseudoOplocks',
  'NonCacheIo',
  'PseudoDirnotify',
  'SingleFileMapping',
];

/** VSMB share options in schema order, false flags dropped (`{}` when none is set). */
export function vsmbOptions(flags: VirtualSmbShareOptions): VirtualSmbShareOptions {
  return struct<VirtualSmbShareOptions>(VSMB_OPTION_ORDER.map((k) => [k, flags[k] === true] as const));
}

/**
 * uvm.DefaultVSMBOptions (vsmb.go:51-62): NoDirectmap when the UVM is fully
 * physically backed or has VSMB direct-map disabled; read-only adds ReadOnly,
 * ShareRead, CacheIo, PseudoOplocks. Nothing else.
 */
export function defaultVsmbOptions(readOnly: boolean, noDirectMap: boolean): VirtualSmbShareOptions {
  return vsmbOptions({
    ReadOnly: readOnly,
    ShareRead: readOnly,
    CacheIo: readOnly,
    NoDirectmap: noDirectMap,
    PseudoOplocks: readOnly,
  });
}

export interface VsmbShareSpec {
  name: string;
  /** The cleaned host directory. */
  path: string;
  /** Full host paths of the files of a single-file share, cumulative (docs/mounts.md#adding-a-share step 9). */
  allowedFiles?: readonly string[];
  options: VirtualSmbShareOptions;
}

/** Add a share, or `Update` an existing file share with its grown AllowedFiles (docs/mounts.md#adding-a-share step 10). */
export function vsmbShareAdd(share: VsmbShareSpec, requestType: 'Add' | 'Update'): ModifySettingRequest<VirtualSmbShare> {
  return struct<ModifySettingRequest<VirtualSmbShare>>([
    ['ResourcePath', VSMB_SHARES_PATH],
    ['RequestType', requestType],
    [
      'Settings',
      struct<VirtualSmbShare>([
        ['Name', share.name],
        ['Path', share.path],
        ['AllowedFiles', share.allowedFiles ? [...share.allowedFiles] : undefined],
        // A pointer in Go: always printed, `{}` when all options are false.
        ['Options', vsmbOptions(share.options)],
      ]),
    ],
  ]);
}

/** Remove a share by name (docs/mounts.md#removing-a-share). */
export function vsmbShareRemove(name: string): ModifySettingRequest<VirtualSmbShare> {
  return struct<ModifySettingRequest<VirtualSmbShare>>([
    ['ResourcePath', VSMB_SHARES_PATH],
    ['RequestType', 'Remove'],
    ['Settings', struct<VirtualSmbShare>([['Name', name]])],
  ]);
}

// ---------------------------------------------------------------------------
// SCSI (docs/mounts.md#adding-an-attachment, docs/mounts.md#removing-an-attachment; docs/layers.md#scratch-on-scsi)

export interface ScsiAttachmentSpec {
  type: AttachmentType;
  /** Host path; for an extensible virtual disk the parsed mount path (may be '' and is then omitted). */
  path: string;
  readOnly?: boolean;
  evdType?: string;
}

/**
 * Hot-add a disk at controller:lun. With `guest`, the combined document hcsshim
 * sends when it has no GCS connection of its own (docs/behaviour.md#without-a-guest-connection);
 * split it with withoutGuestRequest.
 */
export function scsiAttachmentAdd(
  controller: number,
  lun: number,
  attachment: ScsiAttachmentSpec,
  guest?: GuestModificationRequest<WcowMappedVirtualDisk>,
): ModifySettingRequest<Attachment, GuestModificationRequest<WcowMappedVirtualDisk>> {
  return struct<ModifySettingRequest<Attachment, GuestModificationRequest<WcowMappedVirtualDisk>>>([
    ['ResourcePath', scsiAttachmentPath(controller, lun)],
    ['RequestType', 'Add'],
    [
      'Settings',
      struct<Attachment>([
        ['Type', attachment.type],
        ['Path', attachment.path],
        ['ReadOnly', attachment.readOnly],
        ['ExtensibleVirtualDiskType', attachment.evdType],
      ]),
    ],
    ['GuestRequest', guest],
  ]);
}

/** Detach controller:lun; no Settings (docs/mounts.md#removing-an-attachment step 4). */
export function scsiAttachmentRemove(
  controller: number,
  lun: number,
  guest?: GuestModificationRequest<WcowMappedVirtualDisk>,
): ModifySettingRequest<Attachment, GuestModificationRequest<WcowMappedVirtualDisk>> {
  return struct<ModifySettingRequest<Attachment, GuestModificationRequest<WcowMappedVirtualDisk>>>([
    ['ResourcePath', scsiAttachmentPath(controller, lun)],
    ['RequestType', 'Remove'],
    ['GuestRequest', guest],
  ]);
}

/**
 * The guest half of a WCOW SCSI mount: WCOWMappedVirtualDisk has no controller and
 * `Lun` is int32 omitempty (LUN 0 would vanish, but it is always the UVM scratch).
 */
export function mappedVirtualDiskGuest(
  requestType: 'Add' | 'Remove',
  containerPath: string,
  lun: number,
): GuestModificationRequest<WcowMappedVirtualDisk> {
  return struct<GuestModificationRequest<WcowMappedVirtualDisk>>([
    ['RequestType', requestType],
    ['ResourceType', 'MappedVirtualDisk'],
    [
      'Settings',
      struct<WcowMappedVirtualDisk>([
        ['ContainerPath', containerPath],
        ['Lun', lun],
      ]),
    ],
  ]);
}

// ---------------------------------------------------------------------------
// Layers (docs/layers.md#layerdata, docs/layers.md#combinedlayers, docs/layers.md#releasing-the-layers-of-a-uvm)

export interface LayerSpec {
  /** NameToGuid of the folder name: lower-case, no braces. */
  id: string;
  path: string;
}

function layers(list: readonly LayerSpec[]): Layer[] {
  return list.map((l) =>
    struct<Layer>([
      ['Id', l.id],
      ['Path', l.path],
    ]),
  );
}

/** Guest-only request that unions the layers at the container root (ScratchPath omitted). */
export function combinedLayersAdd(containerRootPath: string, list: readonly LayerSpec[]): GuestModificationRequest<WcowCombinedLayers> {
  return struct<GuestModificationRequest<WcowCombinedLayers>>([
    ['RequestType', 'Add'],
    ['ResourceType', 'CombinedLayers'],
    [
      'Settings',
      struct<WcowCombinedLayers>([
        ['ContainerRootPath', containerRootPath],
        ['Layers', layers(list)],
      ]),
    ],
  ]);
}

export function combinedLayersRemove(containerRootPath: string): GuestModificationRequest<WcowCombinedLayers> {
  return struct<GuestModificationRequest<WcowCombinedLayers>>([
    ['RequestType', 'Remove'],
    ['ResourceType', 'CombinedLayers'],
    ['Settings', struct<WcowCombinedLayers>([['ContainerRootPath', containerRootPath]])],
  ]);
}

/** computestorage LayerData: SchemaVersion is a struct value, so it always prints (`{}` when zero). */
export function layerData(list: readonly LayerSpec[], schemaVersion: SchemaVersion = {}): LayerData {
  return struct<LayerData>([
    [
      'SchemaVersion',
      struct<SchemaVersion>([
        ['Major', schemaVersion.Major],
        ['Minor', schemaVersion.Minor],
      ]),
    ],
    ['Layers', layers(list)],
  ]);
}

// ---------------------------------------------------------------------------
// Named pipes (docs/mounts.md#named-pipes): no Settings, the pipe is in the resource path.

export function mappedPipeAdd(hostPipe: string): ModifySettingRequest<never> {
  return struct<ModifySettingRequest<never>>([
    ['ResourcePath', mappedPipePath(hostPipe)],
    ['RequestType', 'Add'],
  ]);
}

export function mappedPipeRemove(hostPipe: string): ModifySettingRequest<never> {
  return struct<ModifySettingRequest<never>>([
    ['ResourcePath', mappedPipePath(hostPipe)],
    ['RequestType', 'Remove'],
  ]);
}

// ---------------------------------------------------------------------------
// Assigned devices (docs/layers.md#devices-in-a-utility-vm, docs/layers.md#devices-in-the-container-document)

export interface VirtualPciFunctionSpec {
  deviceInstancePath: string;
  /** uint16 omitempty: 0 is not printed. */
  virtualFunction?: number;
}

export function virtualPciAdd(vmBusGuid: string, functions: readonly VirtualPciFunctionSpec[]): ModifySettingRequest<VirtualPciDevice> {
  return struct<ModifySettingRequest<VirtualPciDevice>>([
    ['ResourcePath', virtualPciPath(vmBusGuid)],
    ['RequestType', 'Add'],
    [
      'Settings',
      struct<VirtualPciDevice>([
        [
          'Functions',
          functions.map((f) =>
            struct<VirtualPciFunction>([
              ['DeviceInstancePath', f.deviceInstancePath],
              ['VirtualFunction', f.virtualFunction],
            ]),
          ),
        ],
      ]),
    ],
  ]);
}

export function virtualPciRemove(vmBusGuid: string): ModifySettingRequest<never> {
  return struct<ModifySettingRequest<never>>([
    ['ResourcePath', virtualPciPath(vmBusGuid)],
    ['RequestType', 'Remove'],
  ]);
}

/**
 * `assigned device` entry of the container document (parseAssignedDevices,
 * hcsdoc_wcow.go:483-507; docs/layers.md#devices-in-the-container-document). Class GUIDs carry no `Type` field.
 */
export function assignedDevice(idType: string, id: string): Device {
  switch (idType) {
    case DEVICE_ID_TYPE_LOCATION_PATH:
      return struct<Device>([
        ['Type', 'DeviceInstance'],
        ['LocationPath', id],
      ]);
    case DEVICE_ID_TYPE_CLASS:
    case DEVICE_ID_TYPE_CLASS_GUID:
      return struct<Device>([['InterfaceClassGuid', id]]);
    default:
      throw new InvalidSpecError(`specified device ${id} has unsupported type ${idType}`, {
        op: 'document.assignedDevices',
        resource: id,
      });
  }
}

// ---------------------------------------------------------------------------
// HvSocket service table (docs/layers.md#hvsocket-service-entry)

/**
 * Update (create if absent) a service entry. hcsshim re-marshals the config
 * through its struct, so only these four fields survive.
 */
export function hvSocketServiceUpdate(serviceId: string, config: HvSocketServiceConfig): ModifySettingRequest<HvSocketServiceConfig> {
  return struct<ModifySettingRequest<HvSocketServiceConfig>>([
    ['ResourcePath', hvSocketServicePath(serviceId)],
    ['RequestType', 'Update'],
    [
      'Settings',
      struct<HvSocketServiceConfig>([
        ['BindSecurityDescriptor', config.BindSecurityDescriptor],
        ['ConnectSecurityDescriptor', config.ConnectSecurityDescriptor],
        ['AllowWildcardBinds', config.AllowWildcardBinds],
        ['Disabled', config.Disabled],
      ]),
    ],
  ]);
}

/** Never sent by hcsshim (the entry leaks); we send it with the CCG removal (docs/differences.md#difference-5). */
export function hvSocketServiceRemove(serviceId: string): ModifySettingRequest<never> {
  return struct<ModifySettingRequest<never>>([
    ['ResourcePath', hvSocketServicePath(serviceId)],
    ['RequestType', 'Remove'],
  ]);
}

// ---------------------------------------------------------------------------
// Container Credential Guard service requests (docs/layers.md#adding-an-instance, docs/layers.md#querying-the-instance, docs/layers.md#removing-an-instance)

function ccgRequest(settings: ContainerCredentialGuardOperationRequest): ServiceModificationRequest {
  return struct<ServiceModificationRequest>([
    ['PropertyType', CCG_PROPERTY_TYPE],
    ['Settings', settings],
  ]);
}

/** An empty credential spec string is omitted by omitempty (docs/layers.md#q5-empty-credential-spec). */
export function ccgAddInstance(id: string, credentialSpec: string, transport: 'LRPC' | 'HvSocket'): ServiceModificationRequest {
  return ccgRequest(
    struct<ContainerCredentialGuardOperationRequest>([
      ['Operation', 'AddInstance'],
      [
        'OperationDetails',
        struct<{ Id?: string; CredentialSpec?: string; Transport?: string }>([
          ['Id', id],
          ['CredentialSpec', credentialSpec],
          ['Transport', transport],
        ]),
      ],
    ]),
  );
}

export function ccgRemoveInstance(id: string): ServiceModificationRequest {
  return ccgRequest(
    struct<ContainerCredentialGuardOperationRequest>([
      ['Operation', 'RemoveInstance'],
      ['OperationDetails', struct<{ Id?: string }>([['Id', id]])],
    ]),
  );
}

/**
 * The instance state as the container document carries it: hcsshim unmarshals HCS's
 * answer into schema2.ContainerCredentialGuardState and marshals that struct again, so
 * the key order is the struct's, fields it does not declare are lost and empty strings
 * are omitted, whatever HCS sent (docs/layers.md#querying-the-instance, docs/behaviour.md#the-container-document).
 */
export function ccgState(state: ContainerCredentialGuardState): ContainerCredentialGuardState {
  return struct<ContainerCredentialGuardState>([
    ['Cookie', state.Cookie],
    ['RpcEndpoint', state.RpcEndpoint],
    ['Transport', state.Transport],
    ['CredentialSpec', state.CredentialSpec],
  ]);
}

export function ccgPropertyQuery(): ServicePropertyQuery {
  return { PropertyTypes: [CCG_PROPERTY_TYPE] };
}

// ---------------------------------------------------------------------------
// Guest processes (docs/mounts.md#sandbox-mounts step 3; docs/layers.md#devices-in-a-utility-vm, docs/layers.md#installing-a-driver-directory)

export interface ProcessParametersSpec {
  commandLine: string;
  user?: string;
  workingDirectory?: string;
  createStdOutPipe?: boolean;
  createStdErrPipe?: boolean;
}

/** schema2.ProcessParameters; hcsshim's empty Environment map is omitted. */
export function processParameters(p: ProcessParametersSpec): ProcessParameters {
  return struct<ProcessParameters>([
    ['CommandLine', p.commandLine],
    ['User', p.user],
    ['WorkingDirectory', p.workingDirectory],
    ['CreateStdOutPipe', p.createStdOutPipe],
    ['CreateStdErrPipe', p.createStdErrPipe],
  ]);
}

// ---------------------------------------------------------------------------
// Container document parts (hcsdoc_wcow.go; docs/mounts.md#mounts-in-the-container-document, docs/behaviour.md#the-container-document)

export function mappedDirectory(d: { hostPath: string; containerPath: string; readOnly: boolean }): MappedDirectory {
  return struct<MappedDirectory>([
    ['HostPath', d.hostPath],
    ['ContainerPath', d.containerPath],
    ['ReadOnly', d.readOnly],
  ]);
}

export function mappedPipe(p: { containerPipeName: string; hostPath: string }): MappedPipe {
  return struct<MappedPipe>([
    ['ContainerPipeName', p.containerPipeName],
    ['HostPath', p.hostPath],
  ]);
}

export function storage(list: readonly LayerSpec[], path: string): Storage {
  return struct<Storage>([
    ['Layers', layers(list)],
    ['Path', path],
  ]);
}
