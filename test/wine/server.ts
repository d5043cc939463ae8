// The HCS the stand-in DLLs talk to: a TCP server on 127.0.0.1 that maps each
// forwarded Win32 call onto a `Host` (a SimulatedHost: the same model the
// TypeScript tests use) and answers with what that host did — HRESULT, result
// document, process output. The wine-side suite drives the model through
// `control:*` requests (reset, create a UVM, inject a fault, read calls and state).
//
// computestorage and most of virtdisk have no counterpart on the Host seam; their
// calls are recorded (with the arguments as the DLL decoded them at the SDK's
// offsets) and answered S_OK, so the suite can check what crossed the boundary.
// OpenVirtualDisk and AttachVirtualDisk are recorded and also applied to the model
// (Host.openVirtualDisk / attachVirtualDisk, what ExpandScratchSize uses); the
// stand-in's CloseHandle is kernel32's, which the server never sees, so a model
// attachment lasts until the next reset.

import * as net from 'node:net';
import { WcowError } from '../../lib/errors';
import { E_FAIL, E_HANDLE } from '../../lib/hcs/errors';
import type {
  GuestModificationRequest,
  ModifySettingRequest,
  ProcessParameters,
  ServiceModificationRequest,
  ServicePropertyQuery,
} from '../../lib/hcs/schema';
import type { FaultSpec } from '../../lib/host/simulated';
import { SimulatedHost } from '../../lib/host/simulated';
import type { LayerDescriptor, UtilityVm, UtilityVmOptions } from '../../lib/host/types';
import { cimfsCall } from './cimfs';
import { decodeFrame, encodeFrame, fromJson, toJson } from './protocol';

export interface StorageCall {
  api: string;
  args: string[];
}

type Reply = string[];

/**
 * Handlers of forwarded calls kept outside this file (the hcsshim oracle's
 * exports in oracle-handlers.ts, …): by function name, consulted before the
 * built-in ones; they get the translated arguments and return the outputs.
 */
export type Handlers = Readonly<Record<string, (server: HcsServer, args: string[]) => Promise<string[]>>>;

/** A step note of the hcsshim oracle (OracleStep) and where it fell in host.calls. */
export interface StepNote {
  note: Record<string, unknown>;
  at: number;
}

const E_NOTIMPL = 0x80004001 | 0;

function invalidHandle(): WcowError {
  return new WcowError('ERR_HCS', 'The handle is invalid.', { hresult: '0x80070006', result: { Error: E_HANDLE } });
}

/** How HCS reports a failed call: the HRESULT and its error document. */
function failure(err: unknown): Reply {
  if (!(err instanceof WcowError)) return [String(E_FAIL), toJson({ Error: E_FAIL, ErrorMessage: String(err) })];
  const hr = err.hresult !== undefined ? parseInt(err.hresult, 16) | 0 : E_FAIL;
  // A guest failure comes back through HCS with the GCS message as ErrorMessage
  // (the simulated host words it as the bridge does: `guest RPC failure: <message>`).
  const doc = err.result ?? { Error: hr, ErrorMessage: err.message.replace(/^guest RPC failure: /, '') };
  return [String(hr), toJson(doc)];
}

export class HcsServer {
  host!: SimulatedHost;
  readonly storageCalls: StorageCall[] = [];
  /** OracleStep notes since the last reset. */
  readonly steps: StepNote[] = [];
  /** Told of each step note as it arrives, before the calls that follow it (a test arms faults per step). */
  onStepNote: ((note: Record<string, unknown>) => void) | undefined;
  private readonly handlers: Map<string, Handlers[string]>;
  private readonly systems = new Map<string, UtilityVm>();
  private readonly mountPaths = new Map<string, string>();
  /** Stand-in virtual disk handle → the model's handle for the same disk. */
  private readonly disks = new Map<string, number>();
  /** wine's volume path of C: and the model's, for translate(). */
  private volumes: { wine: string; model: string } | undefined;
  private nextHandle = 0x1000;
  private nextPid = 100;
  private server: net.Server | undefined;

  constructor(
    private readonly root: string,
    extensions: readonly Handlers[] = [],
  ) {
    this.handlers = new Map(extensions.flatMap((h) => Object.entries(h)));
    this.reset(undefined);
  }

  reset(build: number | undefined): void {
    this.resetWith(new SimulatedHost(build === undefined ? { root: this.root, stateDir: false } : { root: this.root, stateDir: false, build }));
  }

  /** Serve `host` from now on (a test that set its host up itself). */
  resetWith(host: SimulatedHost): void {
    this.host = host;
    this.steps.length = 0;
    this.onStepNote = undefined;
    this.systems.clear();
    this.mountPaths.clear();
    this.disks.clear();
    this.volumes = undefined;
    this.storageCalls.length = 0;
  }

  listen(): Promise<number> {
    this.server = net.createServer((socket) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        const frame = decodeFrame(buf);
        if (frame === undefined) return;
        buf = buf.subarray(frame.size);
        void this.dispatch(frame.fields).then((reply) => socket.end(encodeFrame(reply)));
      });
      socket.on('error', () => undefined);
    });
    return new Promise((resolve) => {
      this.server!.listen(0, '127.0.0.1', () => resolve((this.server!.address() as net.AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private system(handle: string): UtilityVm {
    const uvm = this.systems.get(handle);
    if (uvm === undefined) throw invalidHandle();
    return uvm;
  }

  /** A compute system a client has open, by its id (the oracle's guest calls name the UVM). */
  systemById(id: string): UtilityVm {
    for (const uvm of this.systems.values()) if (uvm.id === id) return uvm;
    throw invalidHandle();
  }

  /** From now on, wine's volume path of C: names the model's C: volume (see translate()). */
  async mapVolume(wine: string): Promise<void> {
    this.volumes = { wine, model: await this.host.resolvePath('C:\\') };
  }

  /**
   * The stand-ins are the HCS of the machine wine plays: a path by wine's volume
   * GUID for C: (what NativeHost.resolvePath returns under wine) names the model's
   * C: volume. Applied to every argument, raw and JSON-escaped.
   */
  private translate(arg: string): string {
    const v = this.volumes;
    if (v === undefined) return arg;
    const escaped = (t: string): string => JSON.stringify(t).slice(1, -1);
    return arg.split(v.wine).join(v.model).split(escaped(v.wine)).join(escaped(v.model));
  }

  async dispatch([fn = '', ...a]: string[]): Promise<Reply> {
    try {
      return ['0', ...(await this.call(fn, a.map((x) => this.translate(x))))];
    } catch (err) {
      return failure(err);
    }
  }

  private async call(fn: string, a: string[]): Promise<string[]> {
    const h = this.host;
    const arg = (i: number): string => a[i] ?? '';
    const cimfs = await cimfsCall(h, fn, a);
    if (cimfs !== undefined) return cimfs;
    const extension = this.handlers.get(fn);
    if (extension !== undefined) return extension(this, a);
    switch (fn) {
      // ---- control (the wine-side suite) ----
      case 'control:reset':
        this.reset(arg(0) === '' ? undefined : Number(arg(0)));
        return [];
      case 'control:volume': {
        // Asked right after a reset: its ResolvePath is not part of any scenario.
        await this.mapVolume(arg(0));
        h.clearCalls();
        return [];
      }
      case 'control:createUtilityVm':
        await h.createUtilityVm(fromJson<UtilityVmOptions>(arg(0)));
        return [];
      case 'control:injectFault':
        h.injectFault(fromJson<FaultSpec>(arg(0)));
        return [];
      case 'control:calls':
        return [toJson(h.calls)];
      case 'control:snapshot':
        return [toJson(h.snapshot())];
      case 'control:storageCalls':
        return [toJson(this.storageCalls)];

      // ---- computecore.dll ----
      case 'HcsOpenComputeSystem': {
        const uvm = await h.openUtilityVm(arg(0));
        const handle = String(this.nextHandle++);
        this.systems.set(handle, uvm);
        return [handle];
      }
      case 'HcsCloseComputeSystem': {
        const uvm = this.system(arg(0));
        this.systems.delete(arg(0));
        await uvm.close();
        return [];
      }
      case 'HcsModifyComputeSystem': {
        const doc = JSON.parse(arg(1)) as ModifySettingRequest;
        // A document that is only a GuestRequest is delivered to the guest (the
        // native host's default guest transport).
        if (doc.GuestRequest !== undefined && doc.ResourcePath === undefined && doc.Settings === undefined) {
          await this.system(arg(0)).guestRequest(doc.GuestRequest as GuestModificationRequest);
        } else {
          await this.system(arg(0)).modify(doc);
        }
        return [''];
      }
      case 'HcsCreateProcess': {
        const r = await this.system(arg(0)).exec(JSON.parse(arg(1)) as ProcessParameters);
        const pid = this.nextPid++;
        return [String(pid), JSON.stringify({ ProcessId: pid, Exited: true, ExitCode: r.exitCode }), r.stdout, r.stderr, ''];
      }
      case 'HcsModifyServiceSettings':
        await h.modifyServiceSettings(JSON.parse(arg(0)) as ServiceModificationRequest);
        return [''];
      case 'HcsGetServiceProperties':
        return [JSON.stringify(await h.getServiceProperties(JSON.parse(arg(0)) as ServicePropertyQuery))];
      case 'HcsGrantVmAccess':
      case 'GrantVmAccess':
        await h.grantVmAccess(arg(0), arg(1));
        return [];

      // ---- vmcompute.dll ----
      case 'NameToGuid':
        return [await h.nameToGuid(arg(0))];
      case 'ActivateLayer':
        await h.activateLayer(arg(0));
        return [];
      case 'DeactivateLayer':
        await h.deactivateLayer(arg(0));
        return [];
      case 'UnprepareLayer':
        await h.unprepareLayer(arg(0));
        return [];
      case 'PrepareLayer':
        await h.prepareLayer(arg(0), JSON.parse(arg(1)) as LayerDescriptor[]);
        return [];
      case 'CreateSandboxLayer':
        await h.createSandboxLayer(arg(0), JSON.parse(arg(1)) as LayerDescriptor[]);
        return [];
      case 'ExpandSandboxSize':
        await h.expandSandboxSize(arg(0), BigInt(arg(1)));
        return [];
      case 'GetLayerMountPath': {
        // vmcompute's length query and fetch are one Host call (see vmcompute.c).
        if (arg(1) === 'fetch' && this.mountPaths.has(arg(0))) return [this.mountPaths.get(arg(0))!];
        const mount = await h.getLayerMountPath(arg(0));
        this.mountPaths.set(arg(0), mount);
        return [mount];
      }

      // ---- computestorage.dll / virtdisk.dll: recorded ----
      case 'HcsInitializeWritableLayer':
      case 'HcsAttachLayerStorageFilter':
      case 'HcsDetachLayerStorageFilter':
      case 'HcsFormatWritableLayerVhd':
      case 'HcsSetupBaseOSLayer':
      case 'CreateVirtualDisk':
      case 'DetachVirtualDisk':
        this.storageCalls.push({ api: fn, args: a });
        return [];
      case 'OpenVirtualDisk':
        // [handle, path, version, getInfoOnly, readOnly, flags, access]
        this.storageCalls.push({ api: fn, args: a });
        this.disks.set(arg(0), await h.openVirtualDisk(arg(1)));
        return [];
      case 'AttachVirtualDisk': {
        // [handle, version, flags]; a disk the model did not open (CreateVirtualDisk) is only recorded.
        this.storageCalls.push({ api: fn, args: a });
        const disk = this.disks.get(arg(0));
        if (disk !== undefined) await h.attachVirtualDisk(disk, Number(arg(2)));
        return [];
      }
      case 'GetVirtualDiskPhysicalPath':
      case 'HcsGetLayerVhdMountPath':
        this.storageCalls.push({ api: fn, args: a });
        return [fn === 'GetVirtualDiskPhysicalPath' ? '\\\\.\\PhysicalDrive3' : '\\\\?\\Volume{4c0e5f3a-0000-0000-0000-000000000001}\\'];
      default:
        // HcsGetComputeSystemProperties, HcsRevokeVmAccess: no counterpart on the Host seam.
        throw new WcowError('ERR_HCS', `${fn} is not modelled`, { hresult: '0x80004001', result: { Error: E_NOTIMPL } });
    }
  }
}
