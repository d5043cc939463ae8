// SimulatedHost: an in-process model of HCS + vmcompute + the utility VMs and
// their guests, enforcing the rules of the real services and recording every call
// (docs/behaviour.md#simulated-host-observables, docs/behaviour.md#rules-the-model-enforces). See
// README.md in this folder for the rules and the decisions where hcsshim is
// silent.

import * as nodePath from 'node:path';
import { ERROR_FILE_NOT_FOUND_HR, ERROR_PATH_NOT_FOUND_HR, ERROR_SHARING_VIOLATION_HR, E_INVALIDARG, HCS_E_SYSTEM_ALREADY_EXISTS, HCS_E_SYSTEM_NOT_FOUND } from '../../hcs/errors';
import type { ServiceModificationRequest, ServiceProperties, ServicePropertyQuery } from '../../hcs/schema';
import { InvalidArgumentError } from '../../errors';
import { makeStateDirectory } from '../directory';
import { createDifferencingVhdxInline, createVhdxInline, expandVhdx } from '../../vhdx';
import type { Host, HostCall, HostHandle, HostStat, LayerDescriptor, OverlayLayerData, Rehearsal, UtilityVm, UtilityVmOptions } from '../types';
import { join } from '../winpath';
import type { FaultHandle, FaultSpec, SimulatedCall } from './calls';
import { prepareAttachOverlay, prepareCimDismount, prepareCimMount, prepareDetachOverlay } from './cimfs';
import { SimCore, type LatencyOptions } from './core';
import { Rejection } from './failure';
import { WindowsFs } from './fs';
import { OverlayFs, resizeRehearsed, virtualSizeOf } from './overlay';
import { StateStore } from './persist';
import { simulatedNameToGuid } from './guid';
import { serviceModifyCommit, serviceProperties } from './service';
import { snapshotHost, snapshotUvm, type HostSnapshot, type UvmSnapshot } from './snapshot';
import { addGrant, addUnique, emptyState, type HostState, type UvmState } from './state';
import { SimulatedUtilityVm } from './uvm';
import { PARTITION_OFFSET, VirtualDisks, fillVolume, partitionBytes, setVolumeBytes, volumeBytes } from './virtdisk';
import {
  DEFAULT_SANDBOX_SIZE,
  SANDBOX_VHDX,
  layerFolder,
  planSandbox,
  prepareActivate,
  prepareDeactivate,
  prepareMountPath,
  preparePrepare,
  prepareUnprepare,
} from './vmcompute';

export interface SimulatedHostOptions {
  /** The real directory holding the simulated drives: `C:\x` is `<root>/C/x`. */
  root: string;
  /**
   * Keep the state in this directory across processes (persist.ts). Default `<root>.state`,
   * the directory the CLI and createHost() use for the same root, so that a library process
   * and `wcow-resources status` see one machine; `false`: in memory only (tests).
   */
  stateDir?: string | false;
  latency?: LatencyOptions;
  /** Windows build the host reports; default 20348 (LTSC 2022). */
  build?: number;
  /** Where the runtime binary (and device-util.exe) lives; default `C:\ContainerPlat`. */
  toolsDirectory?: string;
  /** How many calls `calls` keeps, the newest (default DEFAULT_MAX_CALLS; `Infinity` keeps all). */
  maxCalls?: number;
  /**
   * The BitLocker group policy "Deny write access to fixed drives not protected by BitLocker":
   * a VHD attached without ATTACH_VIRTUAL_DISK_FLAG_BYPASS_DEFAULT_ENCRYPTION_POLICY (0x20) is
   * mounted write-protected (hcsshim issue #2464, fixed in main by that flag). Default off.
   */
  bitlockerDenyWriteAccess?: boolean;
}

/** Folder of the UVMs' own scratch disks (not created on disk: the UVM is simulated). */
const UVM_SCRATCH_ROOT = 'C:\\ProgramData\\wcow-resources\\uvm';
/** The UVM image's Files folder behind the `os` share (create_wcow.go:85-96). */
const UVM_OS_FILES = 'C:\\ProgramData\\wcow-resources\\uvm-image\\UtilityVM\\Files';

/** The state of a UVM as HcsCreateComputeSystem leaves it: scratch at LUN 0, the `os` share. */
function freshUvm(options: UtilityVmOptions): UvmState {
  const noDirectMap = options.fullyPhysicallyBacked === true || options.vsmbNoDirectMap === true;
  return {
    id: options.id,
    noWritableFileShares: options.noWritableFileShares === true,
    vsmbNoDirectMap: options.vsmbNoDirectMap === true,
    fullyPhysicallyBacked: options.fullyPhysicallyBacked === true,
    scsi: { '0': { type: 'VirtualDisk', path: join(UVM_SCRATCH_ROOT, options.id, SANDBOX_VHDX), readOnly: false } },
    vsmbShares: {
      os: {
        name: 'os',
        path: UVM_OS_FILES,
        allowedFiles: [],
        options: {
          ReadOnly: true,
          ShareRead: true,
          CacheIo: true,
          TakeBackupPrivilege: true,
          ...(noDirectMap ? { NoDirectmap: true } : {}),
          PseudoOplocks: true,
        },
      },
    },
    mappedPipes: [],
    vpciDevices: {},
    hvSocketServices: {},
    guest: { mappedVirtualDisks: {}, combinedLayers: {}, directories: [], drivers: [] },
  };
}

function checkMaxCalls(n: number): number {
  if (n === Infinity || (Number.isInteger(n) && n > 0)) return n;
  throw new InvalidArgumentError(`maxCalls must be a positive integer or Infinity, got ${n}`, { op: 'host.create', resource: 'maxCalls' });
}

export class SimulatedHost implements Host {
  readonly kind = 'simulated' as const;
  readonly build: number;
  readonly toolsDirectory: string;
  readonly root: string;
  /** Where the state persists (`<root>.state` by default); undefined when in memory only. */
  readonly stateDir: string | undefined;
  private core: SimCore;
  /** Handles of this process (virtdisk.ts): they die with it, so they are not persisted. */
  private readonly disks: VirtualDisks;
  /** Whether a state change ever reached the state directory (recover: an empty state there is trusted). */
  readonly stateWritten: () => boolean;

  constructor(options: SimulatedHostOptions) {
    this.root = nodePath.resolve(options.root);
    this.build = options.build ?? 20348;
    this.toolsDirectory = options.toolsDirectory ?? 'C:\\ContainerPlat';
    this.stateDir = options.stateDir === false ? undefined : nodePath.resolve(options.stateDir ?? `${this.root}.state`);
    if (this.stateDir !== undefined) makeStateDirectory(this.stateDir);
    const store = this.stateDir === undefined ? undefined : new StateStore(this.stateDir);
    this.stateWritten = () => store?.written() ?? false;
    this.core = new SimCore(store?.changed() ?? emptyState(), new WindowsFs(this.root), options.latency ?? {}, store);
    if (options.maxCalls !== undefined) this.core.log.limit(checkMaxCalls(options.maxCalls));
    this.disks = new VirtualDisks(options.bitlockerDenyWriteAccess === true);
  }

  // ---- observables ----

  /** Every call received, in order (documents deep-copied as sent). */
  get calls(): readonly SimulatedCall[] {
    return this.core.log.calls;
  }

  clearCalls(): void {
    this.core.log.clear();
  }

  /** Make matching calls fail like the real service would; see FaultSpec. */
  injectFault(spec: FaultSpec): FaultHandle {
    return this.core.log.inject(spec);
  }

  /** The live state, deep-copied and JSON-stable. */
  snapshot(): HostSnapshot {
    this.core.refresh();
    return snapshotHost(this.core.state, this.disks.attached());
  }

  /** The state of a UVM right after HcsCreateComputeSystem: the baseline to compare a released UVM with. */
  static baseline(options: UtilityVmOptions): UvmSnapshot {
    return snapshotUvm(freshUvm(options));
  }

  /** The whole state as one plain object (what persistence writes). */
  toJSON(): HostState {
    this.core.refresh();
    return structuredClone(this.core.state);
  }

  /**
   * A rehearsal of this host (planWindowsResources): a copy that answers every call as this
   * host would now — its state copied, its drives read but never written (overlay.ts), no
   * latency, no faults — and tells `onCall` of each call it receives. This host receives none.
   */
  rehearse(onCall: (call: HostCall) => void): Rehearsal {
    const copy = new SimulatedHost({ root: this.root, stateDir: false, build: this.build, toolsDirectory: this.toolsDirectory });
    copy.core = new SimCore(this.toJSON(), new OverlayFs(this.root), {}, undefined);
    copy.core.log.onBegin = onCall;
    return { host: copy, utilityVm: (uvm) => copy.openUtilityVm(uvm.id) };
  }

  // ---- host objects a test sets up ----

  /**
   * The real path behind a Windows path of the simulated drives (`C:\disks\a.vhdx` is
   * `<root>/C/disks/a.vhdx`, existing components in their on-disk spelling): where a test or
   * runtime creates a mount source or VHDX before allocating. Throws for a path this host
   * does not model as a file (a pipe, `\\.\PHYSICALDRIVE<n>`, a relative path).
   */
  hostPath(winPath: string): string {
    const w = this.core.fs.parse(winPath);
    if (w?.kind !== 'file') {
      throw new InvalidArgumentError(`${winPath} is not an absolute drive path of the simulated host (like C:\\x\\y)`, {
        op: 'host.path',
        resource: winPath,
      });
    }
    return this.core.fs.locate(w).real;
  }

  /** Make `\\.\PHYSICALDRIVE<n>` exist. */
  addPhysicalDrive(n: number): void {
    // Host objects are state like any other: a later process must see the drive too.
    this.core.transactionSync(() => {
      if (!this.core.state.physicalDrives.includes(n)) this.core.state.physicalDrives.push(n);
    });
  }

  /**
   * The NTFS volume inside a VHD is `bytes` long (default: it fills the disk's partition,
   * which starts 1 MiB in): a scratch whose disk was grown but not its volume.
   */
  async setVolumeSize(vhdPath: string, bytes: number): Promise<void> {
    const partition = await partitionBytes(this.core.fs, vhdPath).catch(() => {
      throw new InvalidArgumentError(`${vhdPath} is not a VHDX of the simulated host`, { op: 'host.setup', resource: vhdPath });
    });
    const vhd = (await this.core.fs.existing(vhdPath))!.win;
    await this.core.transaction(async () => setVolumeBytes(this.core.state, vhd, bytes, partition));
  }

  /** What device-util reports as the location paths of a device instance (default: one derived path per function). */
  setDeviceLocationPaths(deviceInstancePath: string, locationPaths: readonly string[]): void {
    this.core.transactionSync(() => {
      this.core.state.deviceLocations[deviceInstancePath] = [...locationPaths];
    });
  }

  // ---- compute systems ----

  async createUtilityVm(options: UtilityVmOptions): Promise<UtilityVm> {
    const { id } = options;
    await this.core.invoke('HcsCreateComputeSystem', id, { args: { ...options } }, async () => () => {
      if (this.core.state.uvms[id] !== undefined) {
        throw new Rejection(HCS_E_SYSTEM_ALREADY_EXISTS, `a compute system with id ${id} already exists`);
      }
      this.core.state.uvms[id] = freshUvm(options);
    });
    return new SimulatedUtilityVm(this.core, id);
  }

  async openUtilityVm(id: string): Promise<UtilityVm> {
    await this.core.invoke('HcsOpenComputeSystem', id, {}, async () => () => {
      if (this.core.state.uvms[id] === undefined) throw new Rejection(HCS_E_SYSTEM_NOT_FOUND, `compute system ${id} does not exist`);
    });
    return new SimulatedUtilityVm(this.core, id);
  }

  /**
   * HcsTerminateComputeSystem: the UVM and everything attached to it or running in it go
   * (what `wcow-resources uvm rm` does). Its host-side grants stay, as VM access grants do
   * on Windows until they are revoked.
   */
  async terminateUtilityVm(id: string): Promise<void> {
    await this.core.invoke('HcsTerminateComputeSystem', id, {}, async () => () => {
      if (this.core.state.uvms[id] === undefined) throw new Rejection(HCS_E_SYSTEM_NOT_FOUND, `compute system ${id} does not exist`);
      delete this.core.state.uvms[id];
    });
  }

  // ---- file system ----

  async stat(path: string): Promise<HostStat | undefined> {
    const w = this.core.fs.parse(path);
    if (w?.kind === 'physicalDrive') {
      return this.core.state.physicalDrives.includes(w.number) ? { isDirectory: false, isFile: false, size: 0 } : undefined;
    }
    return (await this.core.fs.existing(path))?.stat;
  }

  /** os.MkdirAll: creates the missing folders (recorded in filesCreated); a file in the way fails. */
  async mkdirAll(path: string): Promise<void> {
    await this.core.invoke('MkdirAll', path, {}, async () => {
      const w = this.core.fs.parse(path);
      if (w?.kind !== 'file') throw new Rejection(E_INVALIDARG, 'The parameter is incorrect.');
      const located = this.core.fs.locate(w);
      const { spelled, found } = located;
      if (!this.core.fs.directories(w, located)) throw new Rejection(ERROR_PATH_NOT_FOUND_HR, 'not a directory');
      return () => {
        this.core.fs.mkdirs(w, located);
        for (let i = found; i < spelled.length; i++) {
          addUnique(this.core.state.filesCreated, `${w.drive}:\\${spelled.slice(0, i + 1).join('\\')}`);
        }
      };
    });
  }

  /** go-winio fs.ResolvePath: the GUID volume path in on-disk spelling. */
  async resolvePath(path: string): Promise<string> {
    return this.core.invoke('ResolvePath', path, {}, async () => {
      const w = this.core.fs.parse(path);
      if (w?.kind === 'physicalDrive' && this.core.state.physicalDrives.includes(w.number)) return () => path;
      const f = await this.core.fs.existing(path);
      if (f === undefined) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, 'The system cannot find the file specified.');
      return () => f.volumePath;
    });
  }

  // ---- vmcompute ----

  async nameToGuid(name: string): Promise<string> {
    return this.core.invoke('NameToGuid', name, {}, async () => () => simulatedNameToGuid(name));
  }

  async createSandboxLayer(path: string, parents: readonly LayerDescriptor[]): Promise<void> {
    await this.core.invoke('CreateSandboxLayer', path, { args: { parents: [...parents] } }, async () => {
      const plan = await planSandbox(this.core.fs, path, parents);
      return async () => {
        // Not flushed: the model does not simulate power loss (its state file is not
        // fsync'ed either), and a killed process loses nothing the kernel has; the two
        // fsyncs were most of a fresh container's cycle. Inline: written on this thread,
        // so the commit is one synchronous step like every other call's.
        const parent = plan.parent;
        await this.core.fs.create(plan.target, (real) =>
          parent === undefined
            ? createVhdxInline(real, { sizeBytes: DEFAULT_SANDBOX_SIZE, flush: false })
            : createDifferencingVhdxInline(real, {
                parentPath: parent.real,
                relativePath: nodePath.win32.relative(plan.folder.win, parent.win),
                absoluteWin32Path: parent.win,
                flush: false,
              }),
        );
        addUnique(this.core.state.filesCreated, plan.target.win);
      };
    });
  }

  /** Grows `<path>\sandbox.vhdx` to `sizeBytes` (the VHDX engine rewrites it); shrinking fails. */
  async expandSandboxSize(path: string, sizeBytes: bigint): Promise<void> {
    await this.core.invoke('ExpandSandboxSize', path, { args: { sizeBytes } }, async () => {
      const folder = await layerFolder(this.core.fs, path);
      const vhdx = await this.core.fs.existing(join(folder.win, SANDBOX_VHDX));
      if (vhdx === undefined) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `'${path}' has no ${SANDBOX_VHDX}`);
      const current = await virtualSizeOf(this.core.fs, vhdx);
      if (sizeBytes < BigInt(current)) throw new Rejection(E_INVALIDARG, `cannot shrink '${path}' to ${sizeBytes} bytes`);
      return async () => {
        // The disk and its partition grow; the NTFS volume keeps its size (virtdisk.ts).
        const partition = current - PARTITION_OFFSET;
        setVolumeBytes(this.core.state, vhdx.win, volumeBytes(this.core.state, vhdx.win) ?? partition, Number(sizeBytes) - PARTITION_OFFSET);
        // A rehearsal's scratch has no bytes to grow (overlay.ts).
        if (vhdx.rehearsed === true) resizeRehearsed(this.core.fs, vhdx, Number(sizeBytes));
        else await expandVhdx(vhdx.real, Number(sizeBytes));
      };
    });
  }

  async activateLayer(path: string): Promise<void> {
    await this.core.invoke('ActivateLayer', path, {}, async () => {
      const commit = await prepareActivate(this.core.state, this.core.fs, path);
      const folder = await layerFolder(this.core.fs, path);
      return () => {
        // vmcompute attaches the sandbox.vhdx, which a virtdisk handle holds already.
        if (this.disks.attachedScratch(folder.key)) throw new Rejection(ERROR_SHARING_VIOLATION_HR, `'${path}\\${SANDBOX_VHDX}' is attached already`);
        commit();
      };
    });
  }

  async deactivateLayer(path: string): Promise<void> {
    await this.core.invoke('DeactivateLayer', path, {}, () => prepareDeactivate(this.core.state, this.core.fs, path));
  }

  async prepareLayer(path: string, parents: readonly LayerDescriptor[]): Promise<void> {
    await this.core.invoke('PrepareLayer', path, { args: { parents: [...parents] } }, async () => {
      const commit = await preparePrepare(this.core.state, this.core.fs, path, parents);
      const folder = await layerFolder(this.core.fs, path);
      return () => {
        commit();
        // PrepareLayer grows the scratch's volume to its partition (hcsshim main
        // internal/wclayer/expandscratchsize.go:29-34).
        fillVolume(this.core.state, join(folder.win, SANDBOX_VHDX));
      };
    });
  }

  async unprepareLayer(path: string): Promise<void> {
    await this.core.invoke('UnprepareLayer', path, {}, () => prepareUnprepare(this.core.state, this.core.fs, path));
  }

  async getLayerMountPath(path: string): Promise<string> {
    return this.core.invoke('GetLayerMountPath', path, {}, () => prepareMountPath(this.core.state, this.core.fs, path, (key) => this.disks.attachedScratch(key)));
  }

  /** Records the grant; the file (or physical drive) must exist (0x80070002 like vmcompute). */
  async grantVmAccess(vmId: string, path: string): Promise<void> {
    await this.core.invoke('GrantVmAccess', path, { args: { vmId } }, async () => {
      const w = this.core.fs.parse(path);
      let identity: string | undefined;
      if (w?.kind === 'physicalDrive') {
        if (this.core.state.physicalDrives.includes(w.number)) identity = `\\\\.\\PHYSICALDRIVE${w.number}`;
      } else {
        identity = (await this.core.fs.existing(path))?.real;
      }
      if (identity === undefined) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `'${path}' was not found`);
      const found = identity;
      return () => addGrant(this.core.state.grants, { vmId, path, identity: found });
    });
  }

  // ---- cimfs.dll, computestorage.dll (cimfs.ts) ----

  async cimMountImage(imagePath: string, fsName: string, flags: number, volumeGuid: string): Promise<void> {
    await this.core.invoke('CimMountImage', join(imagePath, fsName), { args: { imagePath, fsName, flags, volumeGuid } }, () =>
      prepareCimMount(this.core.state, this.core.fs, imagePath, fsName, flags, volumeGuid),
    );
  }

  async cimDismountImage(volumeGuid: string): Promise<void> {
    await this.core.invoke('CimDismountImage', volumeGuid, {}, async () => prepareCimDismount(this.core.state, volumeGuid));
  }

  async attachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void> {
    await this.core.invoke('HcsAttachOverlayFilter', volumePath, { document: layerData }, async () => prepareAttachOverlay(this.core.state, volumePath, layerData));
  }

  async detachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void> {
    await this.core.invoke('HcsDetachOverlayFilter', volumePath, { document: layerData }, async () => prepareDetachOverlay(this.core.state, volumePath, layerData));
  }

  // ---- virtdisk.dll and volumes (virtdisk.ts) ----

  async openVirtualDisk(path: string): Promise<HostHandle> {
    return this.core.invoke('OpenVirtualDisk', path, {}, () => this.disks.prepareOpenDisk(this.core.fs, path));
  }

  async attachVirtualDisk(disk: HostHandle, flags: number): Promise<void> {
    await this.core.invoke('AttachVirtualDisk', this.disks.pathOf(disk), { args: { flags } }, async () => this.disks.prepareAttach(this.core.state, disk, flags));
  }

  async openVolume(path: string): Promise<HostHandle> {
    return this.core.invoke('CreateFile', path, {}, async () => this.disks.prepareOpenVolume(this.core.state, path));
  }

  async diskLength(volume: HostHandle): Promise<bigint> {
    return this.core.invoke('IOCTL_DISK_GET_LENGTH_INFO', this.disks.pathOf(volume), {}, () => this.disks.prepareDiskLength(this.core.state, this.core.fs, volume));
  }

  async diskTotalBytes(path: string): Promise<bigint> {
    return this.core.invoke('GetDiskFreeSpaceEx', path, {}, () => this.disks.prepareTotalBytes(this.core.state, this.core.fs, path));
  }

  async extendVolume(volume: HostHandle, sectors: bigint): Promise<void> {
    await this.core.invoke('FSCTL_EXTEND_VOLUME', this.disks.pathOf(volume), { args: { sectors } }, () =>
      this.disks.prepareExtend(this.core.state, this.core.fs, volume, sectors),
    );
  }

  async closeHandle(handle: HostHandle): Promise<void> {
    await this.core.invoke('CloseHandle', this.disks.pathOf(handle), {}, async () => this.disks.prepareClose(handle));
  }

  // ---- HCS service ----

  async modifyServiceSettings(request: ServiceModificationRequest): Promise<void> {
    await this.core.invoke('HcsModifyServiceSettings', undefined, { document: request }, async () =>
      serviceModifyCommit(this.core.state, request),
    );
  }

  async getServiceProperties(query: ServicePropertyQuery): Promise<ServiceProperties> {
    return this.core.invoke('HcsGetServiceProperties', undefined, { document: query }, async () => () =>
      serviceProperties(this.core.state, query),
    );
  }
}
