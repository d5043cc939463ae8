// A small recording Host/UtilityVm for the lib/uvm and lib/resources tests: every call in
// order (`calls`, shaped like SimulatedHost.calls), a minimal model of what HCS and the
// guest hold (so that removing something absent, or adding something twice, fails as on
// Windows), injected faults, and a scheduler that lets concurrent calls interleave.

import { GuestError } from '../../lib/errors';
import { E_FAIL, hcsOperationError, vmcomputeError } from '../../lib/hcs/errors';
import type {
  GuestModificationRequest,
  ModifySettingRequest,
  ProcessParameters,
  VirtualSmbShare,
  WcowMappedVirtualDisk,
} from '../../lib/hcs/schema';
import type { ExecResult, Host, HostCall, HostStat, UtilityVm } from '../../lib/host/types';
import * as winpath from '../../lib/host/winpath';

export interface Fault {
  api: 'HcsModifyComputeSystem' | 'GuestRequest' | 'GrantVmAccess' | 'Exec';
  /** Fail the nth matching call (1-based, counted from injection); default 1. */
  nth?: number;
  match?: (call: HostCall) => boolean;
  /** Fail every matching call from the nth on until removed. */
  sticky?: boolean;
}

export class Recorder {
  readonly calls: HostCall[] = [];
  #faults: { fault: Fault; seen: number }[] = [];
  /** Interleave concurrent calls: each call yields to the event loop a varying number of times. */
  interleave = false;
  #tick = 0;

  inject(fault: Fault): () => void {
    const entry = { fault, seen: 0 };
    this.#faults.push(entry);
    return () => {
      this.#faults = this.#faults.filter((f) => f !== entry);
    };
  }

  /** Records the call and says whether an injected fault fails it. */
  async record(call: HostCall): Promise<boolean> {
    this.calls.push(call);
    if (this.interleave) {
      const turns = this.#tick++ % 4;
      for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const f of this.#faults) {
      if (f.fault.api !== call.api || (f.fault.match !== undefined && !f.fault.match(call))) continue;
      f.seen++;
      const nth = f.fault.nth ?? 1;
      if (f.seen === nth || (f.fault.sticky === true && f.seen > nth)) {
        call.outcome = 'ERR_HCS';
        return true;
      }
    }
    call.outcome = 'ok';
    return false;
  }

  /** The documents sent to one API, in order. */
  documents(api: string): unknown[] {
    return this.calls.filter((c) => c.api === api).map((c) => c.document);
  }

  /** `<api> <JSON document>` per call, for comparing whole sequences with key order. */
  trace(): string[] {
    return this.calls.map((c) => `${c.api} ${c.document === undefined ? JSON.stringify(c.args) : JSON.stringify(c.document)}`);
  }

  clear(): void {
    this.calls.length = 0;
  }
}

export class FakeUvm implements UtilityVm {
  readonly os = 'windows' as const;
  noWritableFileShares = false;
  vsmbNoDirectMap = false;
  fullyPhysicallyBacked = false;
  /** What HCS holds: resource path (SCSI, pipe, VPCI, hvsocket) or `share:<name>` → Settings. */
  readonly hcs = new Map<string, unknown>();
  /** What the guest holds: `disk:<ContainerPath>` → Lun, `layers:<root>`. */
  readonly guest = new Map<string, unknown>();
  readonly processes: ProcessParameters[] = [];
  execResult: ExecResult = { exitCode: 0, stdout: '', stderr: '' };

  constructor(
    readonly id: string,
    readonly rec: Recorder,
  ) {}

  async modify(request: ModifySettingRequest): Promise<void> {
    const call: HostCall = { api: 'HcsModifyComputeSystem', target: this.id, document: request };
    if (await this.rec.record(call)) throw hcsOperationError('hcs::System::Modify', this.id, E_FAIL);
    if (request.GuestRequest !== undefined) throw new Error('the split is lib/uvm\'s job: no GuestRequest reaches HCS');
    const isShare = request.ResourcePath === 'VirtualMachine/Devices/VirtualSmb/Shares';
    const key = isShare ? `share:${(request.Settings as VirtualSmbShare).Name}` : (request.ResourcePath as string);
    const present = this.hcs.has(key);
    const hvSocket = key.includes('/HvSocket/');
    if ((request.RequestType === 'Add' && present) || (request.RequestType !== 'Add' && !present && !hvSocket)) {
      call.outcome = 'ERR_HCS';
      throw hcsOperationError('hcs::System::Modify', this.id, 0x80070490 | 0, { Error: 0x80070490 | 0, ErrorMessage: 'Element not found.' });
    }
    if (request.RequestType === 'Remove') this.hcs.delete(key);
    else this.hcs.set(key, request.Settings);
  }

  async guestRequest(request: GuestModificationRequest): Promise<void> {
    const call: HostCall = { api: 'GuestRequest', target: this.id, document: request };
    if (await this.rec.record(call)) throw new GuestError('guest RPC failure: injected');
    if (request.ResourceType === 'MappedVirtualDisk') {
      const s = request.Settings as WcowMappedVirtualDisk;
      const attached = [...this.hcs.keys()].some((k) => k.endsWith(`/Attachments/${s.Lun}`));
      if (request.RequestType === 'Add' && !attached) throw new GuestError(`guest RPC failure: no disk at LUN ${s.Lun}`);
      if (request.RequestType === 'Add') this.guest.set(`disk:${s.ContainerPath}`, s.Lun);
      else this.guest.delete(`disk:${s.ContainerPath}`);
    } else {
      const root = (request.Settings as { ContainerRootPath: string }).ContainerRootPath;
      if (request.RequestType === 'Add') this.guest.set(`layers:${root}`, request.Settings);
      else this.guest.delete(`layers:${root}`);
    }
  }

  async exec(params: ProcessParameters): Promise<ExecResult> {
    if (await this.rec.record({ api: 'Exec', target: this.id, document: params })) throw new GuestError('guest RPC failure: injected');
    this.processes.push(params);
    return this.execResult;
  }

  async close(): Promise<void> {}
}

export class FakeHost implements Host {
  readonly kind = 'simulated' as const;
  readonly build = 20348;
  readonly toolsDirectory = 'C:\\ContainerPlat';
  readonly rec = new Recorder();
  /** Windows path → directory or file. */
  readonly files = new Map<string, 'dir' | 'file'>();

  uvm(id = 'pod1@vm'): FakeUvm {
    return new FakeUvm(id, this.rec);
  }

  async createUtilityVm(): Promise<UtilityVm> {
    return this.uvm();
  }
  async openUtilityVm(id: string): Promise<UtilityVm> {
    return this.uvm(id);
  }

  async stat(path: string): Promise<HostStat | undefined> {
    // Windows resolves `C:\data\rw\` and `C:/data/rw` to the same directory.
    const kind = this.files.get(winpath.clean(path));
    return kind === undefined ? undefined : { isDirectory: kind === 'dir', isFile: kind === 'file', size: 0 };
  }

  async grantVmAccess(vmId: string, path: string): Promise<void> {
    if (await this.rec.record({ api: 'GrantVmAccess', target: path, args: { vmId, path } })) {
      throw vmcomputeError('hcsshim::GrantVmAccess', 0x80070002 | 0);
    }
  }

  // Not used by lib/uvm: each one fails loudly if a test reaches it.
  mkdirAll(): Promise<void> {
    return unused('mkdirAll');
  }
  resolvePath(): Promise<string> {
    return unused('resolvePath');
  }
  nameToGuid(): Promise<string> {
    return unused('nameToGuid');
  }
  cimMountImage(): Promise<void> {
    return unused('cimMountImage');
  }
  cimDismountImage(): Promise<void> {
    return unused('cimDismountImage');
  }
  attachOverlayFilter(): Promise<void> {
    return unused('attachOverlayFilter');
  }
  detachOverlayFilter(): Promise<void> {
    return unused('detachOverlayFilter');
  }
  createSandboxLayer(): Promise<void> {
    return unused('createSandboxLayer');
  }
  expandSandboxSize(): Promise<void> {
    return unused('expandSandboxSize');
  }
  activateLayer(): Promise<void> {
    return unused('activateLayer');
  }
  deactivateLayer(): Promise<void> {
    return unused('deactivateLayer');
  }
  prepareLayer(): Promise<void> {
    return unused('prepareLayer');
  }
  unprepareLayer(): Promise<void> {
    return unused('unprepareLayer');
  }
  getLayerMountPath(): Promise<string> {
    return unused('getLayerMountPath');
  }
  openVirtualDisk(): Promise<number> {
    return unused('openVirtualDisk');
  }
  attachVirtualDisk(): Promise<void> {
    return unused('attachVirtualDisk');
  }
  openVolume(): Promise<number> {
    return unused('openVolume');
  }
  diskLength(): Promise<bigint> {
    return unused('diskLength');
  }
  diskTotalBytes(): Promise<bigint> {
    return unused('diskTotalBytes');
  }
  extendVolume(): Promise<void> {
    return unused('extendVolume');
  }
  closeHandle(): Promise<void> {
    return unused('closeHandle');
  }
  modifyServiceSettings(): Promise<void> {
    return unused('modifyServiceSettings');
  }
  getServiceProperties(): Promise<never> {
    return unused('getServiceProperties');
  }
}

function unused(name: string): Promise<never> {
  return Promise.reject(new Error(`FakeHost.${name} is not part of what lib/uvm uses`));
}
