// The Win32 native surface (native/win/*.cc; native/win/unsupported.cc elsewhere,
// where every function throws ERR_PLATFORM_UNSUPPORTED). The names are
// native/win/surface.h's list. Strings in and out are UTF-8 JSON or paths; the
// addon converts them to and from UTF-16. Failures are Errors with own
// properties `code` (ERR_HCS, ERR_IO, ERR_ABORTED, ERR_PLATFORM_UNSUPPORTED,
// ERR_INVALID_ARGUMENT), `op` (the Win32 function), `hresult` ("0x8007…") and,
// when HCS returned one, `result` (the parsed result document); lib/native.ts
// turns them into WcowError.

/** A call that can be aborted: cancel() makes the worker cancel the HCS operation (HcsCancelOperation). */
export interface NativeOperation<T> {
  promise: Promise<T>;
  cancel(): void;
}

export interface NativeDllStatus {
  available: boolean;
  problem?: string;
}

/** What HcsCreateProcess + HcsWaitForProcessExit produced. */
export interface NativeProcessResult {
  processId: number;
  /** The ProcessStatus document of HcsWaitForProcessExit (`{"ProcessId","Exited","ExitCode",…}`). */
  exitStatus: string;
  stdout: string;
  stderr: string;
}

/** vmcompute WC_LAYER_DESCRIPTOR. */
export interface NativeLayerDescriptor {
  layerId: string;
  flags: number;
  path: string;
}

export interface NativeCreateVirtualDiskOptions {
  /** Bytes; required unless parentPath is given. */
  maximumSize?: bigint | number;
  blockSizeInBytes?: number;
  sectorSizeInBytes?: number;
  physicalSectorSizeInBytes?: number;
  /** A differencing disk's parent. */
  parentPath?: string;
  /** OPEN_VIRTUAL_DISK_FLAG for the parent (CACHED_IO = 8, as go-winio's CreateDiffVhd). */
  openFlags?: number;
  /** CREATE_VIRTUAL_DISK_FLAG. */
  flags?: number;
}

export interface NativeOpenVirtualDiskOptions {
  readOnly?: boolean;
  getInfoOnly?: boolean;
  /** OPEN_VIRTUAL_DISK_FLAG. */
  flags?: number;
}

/** An open virtual disk or volume: a number naming a handle the addon keeps (closeHandle frees it). */
export type NativeDiskHandle = number;

export interface NativeWin {
  /** true only on a Windows build where computecore, computestorage, virtdisk and vmcompute all probed OK. */
  available: boolean;
  probe(): Record<'computecore.dll' | 'computestorage.dll' | 'virtdisk.dll' | 'vmcompute.dll', NativeDllStatus>;

  // ---- computecore.dll ----
  /** HcsOpenComputeSystem; the handle is cached per id (other calls open it on first use too). */
  openComputeSystem(id: string): Promise<void>;
  /** Drops the cached handle (HcsCloseComputeSystem once no call uses it); false if none was open. */
  closeComputeSystem(id: string): boolean;
  /** HcsModifyComputeSystem; resolves with the result document (often empty). timeoutMs 0 = none. */
  modifyComputeSystem(id: string, configuration: string, timeoutMs?: number): NativeOperation<string>;
  getComputeSystemProperties(id: string, query: string, timeoutMs?: number): NativeOperation<string>;
  /** HcsCreateProcess in the compute system; captures stdout/stderr; waits for the exit. */
  createProcess(id: string, parameters: string, timeoutMs?: number): NativeOperation<NativeProcessResult>;
  modifyServiceSettings(settings: string): Promise<string>;
  getServiceProperties(query: string): Promise<string>;
  grantVmAccess(vmId: string, path: string): Promise<void>;
  revokeVmAccess(vmId: string, path: string): Promise<void>;

  // ---- computestorage.dll ----
  initializeWritableLayer(writableLayerPath: string, layerData: string, options?: string): Promise<void>;
  attachLayerStorageFilter(layerPath: string, layerData: string): Promise<void>;
  detachLayerStorageFilter(layerPath: string): Promise<void>;
  formatWritableLayerVhd(disk: NativeDiskHandle): Promise<void>;
  getLayerVhdMountPath(disk: NativeDiskHandle): Promise<string>;
  setupBaseOsLayer(layerPath: string, disk: NativeDiskHandle, options: string): Promise<void>;
  attachOverlayFilter(volumePath: string, layerData: string): Promise<void>;
  detachOverlayFilter(volumePath: string, layerData: string): Promise<void>;

  // ---- cimfs.dll ----
  /** `volumeGuid`: lower-case, no braces. */
  cimMountImage(imagePath: string, fsName: string, flags: number, volumeGuid: string): Promise<void>;
  cimDismountImage(volumeGuid: string): Promise<void>;

  // ---- virtdisk.dll ----
  createVirtualDisk(path: string, options: NativeCreateVirtualDiskOptions): Promise<NativeDiskHandle>;
  openVirtualDisk(path: string, options?: NativeOpenVirtualDiskOptions): Promise<NativeDiskHandle>;
  /** `version` of ATTACH_VIRTUAL_DISK_PARAMETERS: 2 (default), or 0 for none (NULL, as hcsshim's ExpandScratchSize). */
  attachVirtualDisk(disk: NativeDiskHandle, options?: { flags?: number; version?: 0 | 2 }): Promise<void>;
  detachVirtualDisk(disk: NativeDiskHandle): Promise<void>;
  getVirtualDiskPhysicalPath(disk: NativeDiskHandle): Promise<string>;
  /** Frees a handle of this surface (a virtual disk, a volume): false if it was not open. */
  closeHandle(handle: NativeDiskHandle): boolean;

  // ---- vmcompute.dll ----
  nameToGuid(name: string): Promise<string>;
  activateLayer(path: string): Promise<void>;
  deactivateLayer(path: string): Promise<void>;
  prepareLayer(path: string, parents: readonly NativeLayerDescriptor[]): Promise<void>;
  unprepareLayer(path: string): Promise<void>;
  /** '' when vmcompute reports no mount path. */
  getLayerMountPath(path: string): Promise<string>;
  createSandboxLayer(path: string, parents: readonly NativeLayerDescriptor[]): Promise<void>;
  expandSandboxSize(path: string, size: bigint): Promise<void>;
  /** vmcompute's GrantVmAccess (what hcsshim v0.11.4 calls; grantVmAccess is computecore's). */
  vmcomputeGrantVmAccess(vmId: string, path: string): Promise<void>;

  // ---- kernel32 ----
  /** go-winio fs.ResolvePath: the volume-GUID final path of an existing file or directory. */
  resolvePath(path: string): Promise<string>;
  /** CreateFileW(path, GENERIC_READ|GENERIC_WRITE, FILE_SHARE_READ|FILE_SHARE_WRITE, OPEN_EXISTING): a volume device. */
  openVolume(path: string): Promise<NativeDiskHandle>;
  /** DeviceIoControl(IOCTL_DISK_GET_LENGTH_INFO). */
  diskLengthInfo(volume: NativeDiskHandle): Promise<bigint>;
  /** DeviceIoControl(FSCTL_EXTEND_VOLUME, sectors). */
  extendVolume(volume: NativeDiskHandle, sectors: bigint): Promise<void>;
  /** GetDiskFreeSpaceExW(path, NULL, &total, NULL): total. */
  getDiskFreeSpaceEx(path: string): Promise<bigint>;
}
