// The seam that makes everything testable: the allocation code talks only to a
// `Host` (host-side operations: file system, vmcompute layer calls, VM access,
// HCS service calls) and a `UtilityVm` (HcsModifyComputeSystem, guest requests
// over the GCS bridge, processes in the guest). NativeHost implements them with
// the addon on Windows; SimulatedHost implements them in TypeScript everywhere.
//
// Every path here is a Windows path (`C:\layers\x`), exactly as on Windows.
// Failures are WcowError subclasses built with lib/hcs/errors.ts, so they read
// the same from either host. Host methods carry hcsshim's error text for the
// call itself (`hcsshim::PrepareLayer failed in Win32: … (0x15)`,
// `hcs::System::Modify pod1@vm: …`); the allocation code adds hcsshim's
// wrapping (`failed to mount container storage: …`).

import type {
  ContainerCredentialGuardState,
  GuestModificationRequest,
  ModifySettingRequest,
  ProcessParameters,
  ServiceModificationRequest,
  ServicePropertyQuery,
  ServiceProperties,
} from '../hcs/schema';

/** vmcompute's WC_LAYER_DESCRIPTOR: LayerId = NameToGuid(basename(Path)), Flags = 0. */
export interface LayerDescriptor {
  /** Lower-case GUID without braces. */
  layerId: string;
  flags: number;
  path: string;
}

/**
 * computestorage's LayerData (hcsshim main computestorage/storage.go:29-33), the document
 * HcsAttachOverlayFilter / HcsDetachOverlayFilter take. `SchemaVersion` is always sent as
 * `{}` (Go never omits a struct value).
 */
export interface OverlayLayerData {
  SchemaVersion: Record<string, never>;
  Layers?: { Id: string; Path: string }[];
  FilterType: 'UnionFS' | 'WCIFS';
}

/** A kernel handle a host keeps open for its caller (a virtual disk, a volume); `closeHandle` frees it. */
export type HostHandle = number;

export interface HostStat {
  isDirectory: boolean;
  isFile: boolean;
  size: number;
}

export interface UtilityVmOptions {
  /** HCS compute-system id, e.g. `pod1@vm`. */
  id: string;
  /** annotation io.microsoft.virtualmachine.fileshares.disablewritable */
  noWritableFileShares?: boolean;
  /** annotation io.microsoft.virtualmachine.wcow.virtualSMB.nodirectmap */
  vsmbNoDirectMap?: boolean;
  /** annotation io.microsoft.virtualmachine.fullyphysicallybacked */
  fullyPhysicallyBacked?: boolean;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  signal?: AbortSignal;
}

/**
 * A utility VM as HCS and its guest see it. Methods are the primitive calls; the
 * split of a ModifySettingRequest into host and guest parts (hcsshim's
 * uvm.modify) is done by lib/uvm, not here.
 */
export interface UtilityVm {
  readonly id: string;
  readonly os: 'windows';
  readonly noWritableFileShares: boolean;
  readonly vsmbNoDirectMap: boolean;
  readonly fullyPhysicallyBacked: boolean;

  /** HcsModifyComputeSystem with a document without GuestRequest (calls api `HcsModifyComputeSystem`). */
  modify(request: ModifySettingRequest, options?: { signal?: AbortSignal }): Promise<void>;
  /** A GCS ModifySettings request (calls api `GuestRequest`). */
  guestRequest(request: GuestModificationRequest, options?: { signal?: AbortSignal }): Promise<void>;
  /** Run a process in the guest and wait for it (calls api `Exec`). Non-zero exit is a result, not an error. */
  exec(params: ProcessParameters, options?: ExecOptions): Promise<ExecResult>;
  /** Drop this handle (HcsCloseComputeSystem); does not stop the VM. */
  close(): Promise<void>;
}

/** A host that answers like another one from a copy of its state and sends it nothing (Host.rehearse). */
export interface Rehearsal {
  readonly host: Host;
  /** The rehearsal's handle of `uvm`, a utility VM of the host rehearsed. */
  utilityVm(uvm: UtilityVm): Promise<UtilityVm>;
}

export interface Host {
  readonly kind: 'simulated' | 'native';
  /** Windows build number of the host (osversion.Build()). */
  readonly build: number;
  /** Directory of the runtime binary, where hcsshim looks for device-util.exe. */
  readonly toolsDirectory: string;

  createUtilityVm(options: UtilityVmOptions): Promise<UtilityVm>;
  openUtilityVm(id: string): Promise<UtilityVm>;

  // ---- host file system (os.Stat, os.MkdirAll, fs.ResolvePath) ----
  /** undefined when the path does not exist. */
  stat(path: string): Promise<HostStat | undefined>;
  mkdirAll(path: string): Promise<void>;
  /** go-winio fs.ResolvePath: the final path, e.g. `\\?\Volume{…}\layers\scratch1\sandbox.vhdx`. */
  resolvePath(path: string): Promise<string>;

  // ---- vmcompute.dll (hcsshim wclayer) ----
  nameToGuid(name: string): Promise<string>;
  createSandboxLayer(path: string, parents: readonly LayerDescriptor[]): Promise<void>;
  expandSandboxSize(path: string, sizeBytes: bigint): Promise<void>;
  activateLayer(path: string): Promise<void>;
  deactivateLayer(path: string): Promise<void>;
  prepareLayer(path: string, parents: readonly LayerDescriptor[]): Promise<void>;
  unprepareLayer(path: string): Promise<void>;
  /** `\\?\Volume{…}\`, or '' when vmcompute reports no mount path. */
  getLayerMountPath(path: string): Promise<string>;
  grantVmAccess(vmId: string, path: string): Promise<void>;

  // ---- cimfs.dll and computestorage.dll (process-isolated CimFS, hcsshim main) ----
  /** CimMountImage(imagePath, fsName, flags, &volumeGuid) (calls api `CimMountImage`, target `<imagePath>\<fsName>`). */
  cimMountImage(imagePath: string, fsName: string, flags: number, volumeGuid: string): Promise<void>;
  /** CimDismountImage(&volumeGuid) (calls api `CimDismountImage`, target the GUID). */
  cimDismountImage(volumeGuid: string): Promise<void>;
  /** HcsAttachOverlayFilter(volumePath, layerData) (calls api `HcsAttachOverlayFilter`). */
  attachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void>;
  /** HcsDetachOverlayFilter(volumePath, layerData) (calls api `HcsDetachOverlayFilter`). */
  detachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void>;

  // ---- virtdisk.dll and the scratch volume (hcsshim main ExpandScratchSize) ----
  /** OpenVirtualDisk(zeroed type, path, VIRTUAL_DISK_ACCESS_NONE, flags 0, {Version 2}) (calls api `OpenVirtualDisk`). */
  openVirtualDisk(path: string): Promise<HostHandle>;
  /** AttachVirtualDisk(disk, NULL, flags, 0, NULL, NULL): attached until the handle is closed (calls api `AttachVirtualDisk`). */
  attachVirtualDisk(disk: HostHandle, flags: number): Promise<void>;
  /** CreateFile(volume, GENERIC_READ|GENERIC_WRITE, FILE_SHARE_READ|FILE_SHARE_WRITE, OPEN_EXISTING) (calls api `CreateFile`). */
  openVolume(path: string): Promise<HostHandle>;
  /** DeviceIoControl(IOCTL_DISK_GET_LENGTH_INFO): the partition's length, bytes (calls api `IOCTL_DISK_GET_LENGTH_INFO`). */
  diskLength(volume: HostHandle): Promise<bigint>;
  /** GetDiskFreeSpaceExW(path, NULL, &total, NULL): the volume's size, bytes (calls api `GetDiskFreeSpaceEx`). */
  diskTotalBytes(path: string): Promise<bigint>;
  /** DeviceIoControl(FSCTL_EXTEND_VOLUME, sectors): grow the file system to `sectors` × 512 bytes (calls api `FSCTL_EXTEND_VOLUME`). */
  extendVolume(volume: HostHandle, sectors: bigint): Promise<void>;
  /** CloseHandle; a disk attached through it (not PERMANENT_LIFETIME) is detached (calls api `CloseHandle`). */
  closeHandle(handle: HostHandle): Promise<void>;

  // ---- HCS service (HcsModifyServiceSettings / HcsGetServiceProperties) ----
  modifyServiceSettings(request: ServiceModificationRequest): Promise<void>;
  getServiceProperties(query: ServicePropertyQuery): Promise<ServiceProperties>;

  /**
   * Optional: a rehearsal of this host — a copy that answers every call as this host would
   * now and sends nothing to it — telling `onCall` of each call it receives, as it receives
   * it (planWindowsResources allocates against it). Without one, lib/plan records the calls
   * and answers them itself.
   */
  rehearse?(onCall: (call: HostCall) => void): Rehearsal;
}

/** The CCG state type re-exported for hosts that answer credential-guard queries. */
export type { ContainerCredentialGuardState };

/** One operation a host received (SimulatedHost.calls; the wine harness records the same). */
export interface HostCall {
  /** HCS / Win32 function or guest operation: `HcsModifyComputeSystem`, `GuestRequest`, `Exec`, `ActivateLayer`, … */
  api: string;
  /** The compute system (UVM id) or path the call addressed. */
  target?: string;
  /** The exact JSON document sent, when there is one. */
  document?: unknown;
  /** Other arguments (descriptors, sizes, vm ids). */
  args?: Record<string, unknown>;
  /** Outcome: undefined while in flight, then 'ok' or the error code. */
  outcome?: 'ok' | string;
}
