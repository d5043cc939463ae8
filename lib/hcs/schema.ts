// Typed HCS schema (v2) and GCS guest-request documents, as hcsshim v0.11.4 declares
// them (internal/hcs/schema2, internal/protocol/guestrequest, guestresource).
// Field order here is the JSON field order; every field is omit-empty unless said.
// Documents are built only by the named builders in ./documents.ts.

export type RequestType = 'Add' | 'Remove' | 'Update' | 'PreAdd';

export interface SchemaVersion {
  Major?: number;
  Minor?: number;
}

/** schema2.ModifySettingRequest: keys ResourcePath, RequestType, Settings, GuestRequest. */
export interface ModifySettingRequest<S = unknown, G = GuestModificationRequest> {
  ResourcePath?: string;
  RequestType?: RequestType;
  Settings?: S;
  GuestRequest?: G;
}

/** guestrequest.ModificationRequest: keys RequestType, ResourceType, Settings. */
export interface GuestModificationRequest<S = unknown> {
  RequestType?: RequestType;
  ResourceType?: GuestResourceType;
  Settings?: S;
}

export type GuestResourceType = 'CombinedLayers' | 'MappedVirtualDisk';

export type AttachmentType = 'VirtualDisk' | 'PassThru' | 'ExtensibleVirtualDisk';

/** schema2.Attachment (only the fields this package sends). */
export interface Attachment {
  Type?: AttachmentType;
  Path?: string;
  ReadOnly?: boolean;
  ExtensibleVirtualDiskType?: string;
}

/** guestresource.WCOWMappedVirtualDisk: keys ContainerPath, Lun (int32, omitempty). */
export interface WcowMappedVirtualDisk {
  ContainerPath?: string;
  Lun?: number;
}

/** schema2.VirtualSmbShareOptions, in JSON key order. */
export interface VirtualSmbShareOptions {
  ReadOnly?: boolean;
  ShareRead?: boolean;
  CacheIo?: boolean;
  NoOplocks?: boolean;
  TakeBackupPrivilege?: boolean;
  UseShareRootIdentity?: boolean;
  NoDirectmap?: boolean;
  NoLocks?: boolean;
  NoDirnotify?: boolean;
  VmSharedMemory?: boolean;
  RestrictFileAccess?: boolean;
  ForceLevelIIOplocks?: boolean;
  ReparseBaseLayer?: boolean;
  PseudoOplocks?: boolean;
  NonCacheIo?: boolean;
  PseudoDirnotify?: boolean;
  SingleFileMapping?: boolean;
}

/** schema2.VirtualSmbShare: keys Name, Path, AllowedFiles, Options (pointer: `{}` when all false). */
export interface VirtualSmbShare {
  Name?: string;
  Path?: string;
  AllowedFiles?: string[];
  Options?: VirtualSmbShareOptions;
}

/** schema2.Layer: keys Id, Path, PathType. */
export interface Layer {
  Id?: string;
  Path?: string;
  PathType?: string;
}

/** guestresource.WCOWCombinedLayers: keys ContainerRootPath, Layers, ScratchPath. */
export interface WcowCombinedLayers {
  ContainerRootPath?: string;
  Layers?: Layer[];
  ScratchPath?: string;
}

/** computestorage LayerData: SchemaVersion is a struct value, always emitted. */
export interface LayerData {
  SchemaVersion: SchemaVersion;
  Layers?: Layer[];
}

/** schema2.VirtualPciFunction: keys DeviceInstancePath, VirtualFunction (uint16, omitempty). */
export interface VirtualPciFunction {
  DeviceInstancePath?: string;
  VirtualFunction?: number;
}

/** schema2.VirtualPciDevice: key Functions. */
export interface VirtualPciDevice {
  Functions?: VirtualPciFunction[];
}

/** schema2.HvSocketServiceConfig: keys BindSecurityDescriptor, ConnectSecurityDescriptor, AllowWildcardBinds, Disabled. */
export interface HvSocketServiceConfig {
  BindSecurityDescriptor?: string;
  ConnectSecurityDescriptor?: string;
  AllowWildcardBinds?: boolean;
  Disabled?: boolean;
}

/** schema2.MappedDirectory: keys HostPath, HostPathType, ContainerPath, ReadOnly. */
export interface MappedDirectory {
  HostPath?: string;
  HostPathType?: string;
  ContainerPath?: string;
  ReadOnly?: boolean;
}

/** schema2.MappedPipe: keys ContainerPipeName, HostPath, HostPathType. */
export interface MappedPipe {
  ContainerPipeName?: string;
  HostPath?: string;
  HostPathType?: string;
}

/** schema2.ProcessParameters (the fields this package sends), in key order. */
export interface ProcessParameters {
  ApplicationName?: string;
  CommandLine?: string;
  CommandArgs?: string[];
  User?: string;
  WorkingDirectory?: string;
  Environment?: Record<string, string>;
  RestrictedToken?: boolean;
  EmulateConsole?: boolean;
  CreateStdInPipe?: boolean;
  CreateStdOutPipe?: boolean;
  CreateStdErrPipe?: boolean;
}

/** schema2.ContainerCredentialGuardState: keys Cookie, RpcEndpoint, Transport, CredentialSpec. */
export interface ContainerCredentialGuardState {
  Cookie?: string;
  RpcEndpoint?: string;
  Transport?: 'LRPC' | 'HvSocket' | string;
  CredentialSpec?: string;
}

/** schema2.ContainerCredentialGuardAddInstanceRequest: keys Id, CredentialSpec, Transport. */
export interface ContainerCredentialGuardAddInstanceRequest {
  Id?: string;
  CredentialSpec?: string;
  Transport?: string;
}

/** schema2.ContainerCredentialGuardRemoveInstanceRequest: key Id. */
export interface ContainerCredentialGuardRemoveInstanceRequest {
  Id?: string;
}

/** schema2.ContainerCredentialGuardOperationRequest: keys Operation, OperationDetails. */
export interface ContainerCredentialGuardOperationRequest {
  Operation?: 'AddInstance' | 'RemoveInstance';
  OperationDetails?: ContainerCredentialGuardAddInstanceRequest | ContainerCredentialGuardRemoveInstanceRequest;
}

/** schema2.ModificationRequest for service settings: keys PropertyType, Settings. */
export interface ServiceModificationRequest {
  PropertyType?: 'ContainerCredentialGuard';
  Settings?: ContainerCredentialGuardOperationRequest;
}

/** schema2.PropertyQuery for service properties: key PropertyTypes. */
export interface ServicePropertyQuery {
  PropertyTypes?: string[];
}

/** schema2.ContainerCredentialGuardInstance: keys Id, CredentialGuard, HvSocketConfig. */
export interface ContainerCredentialGuardInstance {
  Id?: string;
  CredentialGuard?: ContainerCredentialGuardState;
  HvSocketConfig?: ContainerCredentialGuardHvSocketServiceConfig;
}

export interface ContainerCredentialGuardHvSocketServiceConfig {
  ServiceId?: string;
  ServiceConfig?: HvSocketServiceConfig;
}

/** schema2.ContainerCredentialGuardSystemInfo: key Instances. */
export interface ContainerCredentialGuardSystemInfo {
  Instances?: ContainerCredentialGuardInstance[];
}

/** schema2.ServiceProperties: key Properties (raw JSON messages). */
export interface ServiceProperties {
  Properties?: unknown[];
}

/** schema2.Device (assigned device in the container document): keys Type, InterfaceClassGuid, LocationPath. */
export interface Device {
  Type?: 'ClassGuid' | 'DeviceInstance' | 'GpuMirror';
  InterfaceClassGuid?: string;
  LocationPath?: string;
}

/** schema2.Storage: keys Layers, Path, QoS. */
export interface Storage {
  Layers?: Layer[];
  Path?: string;
}

/** The v2 Container fields this package produces (schema2.Container subset, key order kept). */
export interface ContainerDocument {
  Storage?: Storage;
  MappedDirectories?: MappedDirectory[];
  MappedPipes?: MappedPipe[];
  ContainerCredentialGuard?: ContainerCredentialGuardState;
  AssignedDevices?: Device[];
}
