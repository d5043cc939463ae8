// NativeHost: the Host / UtilityVm seam on the real Host Compute Service, through
// the addon's Win32 surface (native/win). Off Windows, or on a Windows without
// the Containers feature, every call rejects with ERR_PLATFORM_UNSUPPORTED and
// the rest of the package stays usable.
//
// Guest requests and guest processes: a runtime that owns its GCS connection
// passes a GuestTransport; by default a GuestRequest travels inside
// HcsModifyComputeSystem (the `GuestRequest` field of the ModifySettingRequest,
// delivered by HCS to its own guest connection) and processes are started with
// HcsCreateProcess.

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { AbortedError, OperationDeniedError, PlatformUnsupportedError, asWcowError } from '../../errors';
import type {
  GuestModificationRequest,
  ModifySettingRequest,
  ProcessParameters,
  ServiceModificationRequest,
  ServiceProperties,
  ServicePropertyQuery,
} from '../../hcs/schema';
import { apiFailure, E_HANDLE } from '../../hcs/errors';
import { native } from '../../native';
import type { ExecOptions, ExecResult, Host, HostHandle, HostStat, LayerDescriptor, OverlayLayerData, UtilityVm, UtilityVmOptions } from '../types';
import { join } from '../winpath';
import { nativeFailure } from './errors';
import type { NativeOperation, NativeWin } from './native-types';

/** The guest side of a UVM, for runtimes that own their GCS connection. */
export interface GuestTransport {
  guestRequest(uvmId: string, request: GuestModificationRequest, options?: { signal?: AbortSignal }): Promise<void>;
  exec(uvmId: string, params: ProcessParameters, options?: ExecOptions): Promise<ExecResult>;
}

export interface NativeHostOptions {
  guest?: GuestTransport;
  /** Bound on each HCS operation (modify, process), ms; 0 or absent: none (an AbortSignal still cancels). */
  operationTimeoutMs?: number;
  /** Where device-util.exe lives; default the directory of the running executable. */
  toolsDirectory?: string;
}

/** The UVM properties a runtime knows from its own annotations (HCS does not report them). */
export type OpenUtilityVmOptions = Omit<UtilityVmOptions, 'id'>;

/** Windows build number from os.release() (`10.0.20348` → 20348); 0 elsewhere. */
function windowsBuild(): number {
  if (process.platform !== 'win32') return 0;
  const build = Number(os.release().split('.')[2]);
  return Number.isInteger(build) ? build : 0;
}

/** The addon's Win32 surface; the load itself failing reads as ERR_PLATFORM_UNSUPPORTED too. */
function win(): NativeWin {
  try {
    return native().win;
  } catch (err) {
    throw new PlatformUnsupportedError(`the wcow-resources addon could not be loaded: ${(err as Error).message}`, { cause: err });
  }
}

/** Await a native call, turning its failure into the error `api` reports. */
async function call<T>(api: string, target: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw nativeFailure(err, api, target);
  }
}

/** An HCS operation that an AbortSignal cancels (HcsCancelOperation, on the worker thread). */
async function operation<T>(api: string, target: string, signal: AbortSignal | undefined, start: () => NativeOperation<T>): Promise<T> {
  if (signal?.aborted) throw new AbortedError(`${api} was aborted`, { op: api, resource: target, cause: signal.reason });
  return call(api, target, async () => {
    const op = start();
    const onAbort = (): void => op.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await op.promise;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  });
}

function requireWindows(api: string, target: string): void {
  if (process.platform !== 'win32') {
    throw new PlatformUnsupportedError(undefined, { op: api, resource: target });
  }
}

class NativeUtilityVm implements UtilityVm {
  readonly os = 'windows' as const;
  readonly noWritableFileShares: boolean;
  readonly vsmbNoDirectMap: boolean;
  readonly fullyPhysicallyBacked: boolean;

  constructor(
    readonly id: string,
    options: OpenUtilityVmOptions,
    private readonly host: NativeHost,
  ) {
    this.noWritableFileShares = options.noWritableFileShares ?? false;
    this.vsmbNoDirectMap = options.vsmbNoDirectMap ?? false;
    this.fullyPhysicallyBacked = options.fullyPhysicallyBacked ?? false;
  }

  async modify(request: ModifySettingRequest, options: { signal?: AbortSignal } = {}): Promise<void> {
    await operation('HcsModifyComputeSystem', this.id, options.signal, () =>
      win().modifyComputeSystem(this.id, JSON.stringify(request), this.host.operationTimeoutMs),
    );
  }

  async guestRequest(request: GuestModificationRequest, options: { signal?: AbortSignal } = {}): Promise<void> {
    const transport = this.host.guest;
    if (transport !== undefined) return transport.guestRequest(this.id, request, options);
    const document: ModifySettingRequest = { GuestRequest: request };
    await operation('GuestRequest', this.id, options.signal, () =>
      win().modifyComputeSystem(this.id, JSON.stringify(document), this.host.operationTimeoutMs),
    );
  }

  async exec(params: ProcessParameters, options: ExecOptions = {}): Promise<ExecResult> {
    const transport = this.host.guest;
    if (transport !== undefined) return transport.exec(this.id, params, options);
    const r = await operation('Exec', this.id, options.signal, () =>
      win().createProcess(this.id, JSON.stringify(params), this.host.operationTimeoutMs),
    );
    // HcsWaitForProcessExit's ProcessStatus document carries the exit code.
    const status = JSON.parse(r.exitStatus) as { ExitCode?: number };
    return { exitCode: status.ExitCode ?? 0, stdout: r.stdout, stderr: r.stderr };
  }

  async close(): Promise<void> {
    try {
      win().closeComputeSystem(this.id);
    } catch (err) {
      throw nativeFailure(err, 'HcsCloseComputeSystem', this.id);
    }
  }
}

export class NativeHost implements Host {
  readonly kind = 'native' as const;
  readonly build: number;
  readonly toolsDirectory: string;
  readonly guest: GuestTransport | undefined;
  readonly operationTimeoutMs: number;

  constructor(options: NativeHostOptions = {}) {
    this.guest = options.guest;
    this.operationTimeoutMs = options.operationTimeoutMs ?? 0;
    this.toolsDirectory = options.toolsDirectory ?? path.dirname(process.execPath);
    this.build = windowsBuild();
  }

  /** Whether this machine has the Host Compute Service DLLs (false off Windows). */
  get available(): boolean {
    try {
      return win().available;
    } catch {
      return false;
    }
  }

  /**
   * Creating a utility VM takes the runtime's whole VM document (hcsshim's
   * uvm.CreateWCOW), which is not this package's job: create it, then openUtilityVm(id).
   */
  async createUtilityVm(options: UtilityVmOptions): Promise<UtilityVm> {
    throw new OperationDeniedError(
      `NativeHost does not create utility VMs: create ${options.id} with the runtime, then call openUtilityVm('${options.id}')`,
      { op: 'HcsCreateComputeSystem', resource: options.id },
    );
  }

  /** HcsOpenComputeSystem; `options` are the VM's annotations, which HCS does not report back. */
  async openUtilityVm(id: string, options: OpenUtilityVmOptions = {}): Promise<UtilityVm> {
    await call('HcsOpenComputeSystem', id, () => win().openComputeSystem(id));
    return new NativeUtilityVm(id, options, this);
  }

  // ---- host file system: Node's own Windows file system calls ----

  async stat(p: string): Promise<HostStat | undefined> {
    requireWindows('Stat', p);
    try {
      const s = await fs.stat(p);
      return { isDirectory: s.isDirectory(), isFile: s.isFile(), size: s.size };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw asWcowError(err, { op: 'Stat', resource: p });
    }
  }

  async mkdirAll(p: string): Promise<void> {
    requireWindows('MkdirAll', p);
    try {
      await fs.mkdir(p, { recursive: true });
    } catch (err) {
      throw asWcowError(err, { op: 'MkdirAll', resource: p });
    }
  }

  resolvePath(p: string): Promise<string> {
    return call('ResolvePath', p, () => win().resolvePath(p));
  }

  // ---- vmcompute.dll ----

  nameToGuid(name: string): Promise<string> {
    return call('NameToGuid', name, () => win().nameToGuid(name));
  }

  createSandboxLayer(p: string, parents: readonly LayerDescriptor[]): Promise<void> {
    return call('CreateSandboxLayer', p, () => win().createSandboxLayer(p, parents));
  }

  expandSandboxSize(p: string, sizeBytes: bigint): Promise<void> {
    return call('ExpandSandboxSize', p, () => win().expandSandboxSize(p, sizeBytes));
  }

  activateLayer(p: string): Promise<void> {
    return call('ActivateLayer', p, () => win().activateLayer(p));
  }

  deactivateLayer(p: string): Promise<void> {
    return call('DeactivateLayer', p, () => win().deactivateLayer(p));
  }

  prepareLayer(p: string, parents: readonly LayerDescriptor[]): Promise<void> {
    return call('PrepareLayer', p, () => win().prepareLayer(p, parents));
  }

  unprepareLayer(p: string): Promise<void> {
    return call('UnprepareLayer', p, () => win().unprepareLayer(p));
  }

  getLayerMountPath(p: string): Promise<string> {
    return call('GetLayerMountPath', p, () => win().getLayerMountPath(p));
  }

  /** vmcompute's GrantVmAccess, as hcsshim v0.11.4 calls it (computecore's is win.grantVmAccess). */
  grantVmAccess(vmId: string, p: string): Promise<void> {
    return call('GrantVmAccess', p, () => win().vmcomputeGrantVmAccess(vmId, p));
  }

  // ---- cimfs.dll, computestorage.dll (process-isolated CimFS) ----

  cimMountImage(imagePath: string, fsName: string, flags: number, volumeGuid: string): Promise<void> {
    return call('CimMountImage', join(imagePath, fsName), () => win().cimMountImage(imagePath, fsName, flags, volumeGuid));
  }

  cimDismountImage(volumeGuid: string): Promise<void> {
    return call('CimDismountImage', volumeGuid, () => win().cimDismountImage(volumeGuid));
  }

  attachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void> {
    return call('HcsAttachOverlayFilter', volumePath, () => win().attachOverlayFilter(volumePath, JSON.stringify(layerData)));
  }

  detachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void> {
    return call('HcsDetachOverlayFilter', volumePath, () => win().detachOverlayFilter(volumePath, JSON.stringify(layerData)));
  }

  // ---- virtdisk.dll and the volume (kernel32) ----

  openVirtualDisk(p: string): Promise<HostHandle> {
    return call('OpenVirtualDisk', p, () => win().openVirtualDisk(p));
  }

  /** No parameters block, as hcsshim's ExpandScratchSize attaches (internal/wclayer/expandscratchsize.go). */
  attachVirtualDisk(disk: HostHandle, flags: number): Promise<void> {
    return call('AttachVirtualDisk', undefined, () => win().attachVirtualDisk(disk, { flags, version: 0 }));
  }

  openVolume(p: string): Promise<HostHandle> {
    return call('CreateFile', p, () => win().openVolume(p));
  }

  diskLength(volume: HostHandle): Promise<bigint> {
    return call('IOCTL_DISK_GET_LENGTH_INFO', undefined, () => win().diskLengthInfo(volume));
  }

  diskTotalBytes(p: string): Promise<bigint> {
    return call('GetDiskFreeSpaceEx', p, () => win().getDiskFreeSpaceEx(p));
  }

  extendVolume(volume: HostHandle, sectors: bigint): Promise<void> {
    return call('FSCTL_EXTEND_VOLUME', undefined, () => win().extendVolume(volume, sectors));
  }

  async closeHandle(handle: HostHandle): Promise<void> {
    const closed = await call('CloseHandle', undefined, async () => win().closeHandle(handle));
    if (!closed) throw apiFailure('CloseHandle', undefined, E_HANDLE, `handle ${handle} is not open`);
  }

  // ---- HCS service ----

  async modifyServiceSettings(request: ServiceModificationRequest): Promise<void> {
    await call('HcsModifyServiceSettings', undefined, () => win().modifyServiceSettings(JSON.stringify(request)));
  }

  async getServiceProperties(query: ServicePropertyQuery): Promise<ServiceProperties> {
    const text = await call('HcsGetServiceProperties', undefined, () => win().getServiceProperties(JSON.stringify(query)));
    return (text === '' ? {} : JSON.parse(text)) as ServiceProperties;
  }
}
