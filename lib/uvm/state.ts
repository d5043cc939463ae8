// hcsshim's client-side UtilityVM state (internal/uvm/types.go): the counters, the SCSI
// slots, VSMB shares and VPCI devices this process has put into one utility VM, and the
// operations that change them. One UvmState per UtilityVm object, so every container
// allocating into the same UVM shares it (docs/mounts.md#counters: counters are per UVM).

import { GUEST_SYSTEM_USER, GUEST_WORKING_DIRECTORY } from '../hcs/constants';
import { makeCommandLine } from '../hcs/commandline';
import {
  combinedLayersAdd,
  combinedLayersRemove,
  defaultVsmbOptions,
  hvSocketServiceRemove,
  hvSocketServiceUpdate,
  processParameters,
  type LayerSpec,
} from '../hcs/documents';
import type { HvSocketServiceConfig, ModifySettingRequest, VirtualSmbShareOptions } from '../hcs/schema';
import { abortableUtilityVm } from '../host/abort';
import type { ExecResult, Host, UtilityVm } from '../host/types';
import { journalUtilityVm } from '../resources/journal/decorate';
import { traceUtilityVm } from '../trace';
import type { UvmBackend } from './backend';
import { modifyUvm, type ModifyOptions } from './modify';
import { addPipe, type PipeMount } from './pipes';
import { ScsiManager, type ScsiAddOptions, type ScsiMount, type ScsiRefcount } from './scsi';
import { VpciManager, type VpciDevice, type VpciRefcount } from './vpci';
import { VsmbManager, type VsmbRefcount, type VsmbShare } from './vsmb';

export interface ExecOptions {
  /** CreateStdOutPipe / CreateStdErrPipe of the process (hcsshim's CmdProcessRequest Stdout/Stderr). */
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
}

export interface UvmRefcounts {
  scsi: ScsiRefcount[];
  vsmb: VsmbRefcount[];
  vpci: VpciRefcount[];
}

export class UvmState implements UvmBackend {
  readonly id: string;
  readonly uvm: UtilityVm;
  readonly host: Host;
  /**
   * The calls go through a traced, journaled and abortable view of the UVM (lib/trace,
   * lib/resources/journal, lib/host/abort:
   * one per UVM, made here); each call is journaled for the container whose scope it runs in.
   */
  readonly #calls: UtilityVm;
  #containerCounter = 0;
  #mountCounter = 0;
  readonly #scsi: ScsiManager;
  readonly #vsmb: VsmbManager;
  readonly #vpci: VpciManager;

  constructor(host: Host, uvm: UtilityVm) {
    this.id = uvm.id;
    this.uvm = uvm;
    this.host = host;
    this.#calls = abortableUtilityVm(journalUtilityVm(traceUtilityVm(uvm)));
    this.#scsi = new ScsiManager(this);
    this.#vsmb = new VsmbManager(this, () => uvm.noWritableFileShares);
    this.#vpci = new VpciManager(this);
  }

  /** ContainerCounter (counter.go:11-13): ++ then read, first value 1; names `C:\c\<hex>`. */
  containerCounter(): number {
    return ++this.#containerCounter;
  }

  /** UVMMountCounter (counter.go:17-19): ++ then read, first value 1; names `C:\mounts\m<N>`. */
  mountCounter(): number {
    return ++this.#mountCounter;
  }

  /** uvm.modify (modify.go:15-50; docs/behaviour.md#delivering-a-modify, docs/mounts.md#adding-an-attachment). */
  modify(req: ModifySettingRequest, options: ModifyOptions = {}): Promise<void> {
    return modifyUvm(this.#calls, req, options);
  }

  addScsi(o: ScsiAddOptions): Promise<ScsiMount> {
    return this.#scsi.add(o);
  }

  addVsmb(hostPath: string, options: VirtualSmbShareOptions): Promise<VsmbShare> {
    return this.#vsmb.add(hostPath, options);
  }

  /** GetVSMBUvmPath (docs/mounts.md#guest-path-of-a-share): `\\?\VMSMB\VSMB-{…}\s3`, `…\s3\app.json` for a file. */
  vsmbUvmPath(hostPath: string, readOnly: boolean): Promise<string> {
    return this.#vsmb.uvmPath(hostPath, readOnly);
  }

  /** DefaultVSMBOptions (vsmb.go:51-62): NoDirectmap from fullyPhysicallyBacked or vsmbNoDirectMap. */
  defaultVsmbOptions(readOnly: boolean): VirtualSmbShareOptions {
    return defaultVsmbOptions(readOnly, this.uvm.fullyPhysicallyBacked || this.uvm.vsmbNoDirectMap);
  }

  addPipe(hostPath: string): Promise<PipeMount> {
    return addPipe(this, hostPath);
  }

  /** AssignDevice by (device instance path, virtual function); `idType` only words the error (docs/layers.md#devices-in-a-utility-vm). */
  assignDevice(pciId: string, index: number, idType?: string): Promise<VpciDevice> {
    return this.#vpci.assign(pciId, index, idType);
  }

  /** RemoveDevice: what VpciDevice.release does; fails for a device nobody holds. */
  removeDevice(pciId: string, index: number): Promise<void> {
    return this.#vpci.remove(pciId, index);
  }

  /** UpdateHvSocketService (hvsocket.go:30-37; docs/layers.md#hvsocket-service-entry): host-only Update, creates the entry if absent. */
  updateHvSocketService(serviceId: string, config: HvSocketServiceConfig): Promise<void> {
    return this.modify(hvSocketServiceUpdate(serviceId, config));
  }

  /** RemoveHvSocketService (hvsocket.go:41-47): host-only Remove. */
  removeHvSocketService(serviceId: string): Promise<void> {
    return this.modify(hvSocketServiceRemove(serviceId));
  }

  /** CombineLayersWCOW (combine_layers.go): a guest-only request, errors `guest modify: <e>`. */
  combineLayers(layers: readonly LayerSpec[], containerRootPath: string): Promise<void> {
    return this.modify({ GuestRequest: combinedLayersAdd(containerRootPath, layers) });
  }

  /** RemoveCombinedLayersWCOW: guest-only (docs/layers.md#releasing-the-layers-of-a-uvm step 1). */
  removeCombinedLayers(containerRootPath: string): Promise<void> {
    return this.modify({ GuestRequest: combinedLayersRemove(containerRootPath) });
  }

  /**
   * A process of hcsshim's own in the UVM (cmd.ExecInUvm; docs/mounts.md#sandbox-mounts step 3, docs/layers.md#devices-in-a-utility-vm):
   * CommandLine from EscapeArg'd args, as `NT AUTHORITY\SYSTEM` in `C:\`. A non-zero exit
   * code is a result; failing to start it is the host's error, unwrapped (callers add their
   * own context, e.g. `failed to create sandbox mount directory in utility VM …`).
   */
  exec(args: readonly string[], o: ExecOptions = {}): Promise<ExecResult> {
    const params = processParameters({
      commandLine: makeCommandLine(args),
      user: GUEST_SYSTEM_USER,
      workingDirectory: GUEST_WORKING_DIRECTORY,
      createStdOutPipe: o.stdout === true,
      createStdErrPipe: o.stderr === true,
    });
    return this.#calls.exec(params, o.signal === undefined ? {} : { signal: o.signal });
  }

  /**
   * A copy of this state for `uvm`, a rehearsal's handle of the same UVM (lib/plan): the
   * counters, disks, shares and devices as they are now, so that a plan makes the calls the
   * next allocation makes — a disk or share this process holds already is reused, not added.
   * `uvmState(host, uvm)` answers it from then on.
   */
  rehearse(host: Host, uvm: UtilityVm): UvmState {
    const copy = new UvmState(host, uvm);
    copy.#containerCounter = this.#containerCounter;
    copy.#mountCounter = this.#mountCounter;
    copy.#scsi.copyFrom(this.#scsi);
    copy.#vsmb.copyFrom(this.#vsmb);
    copy.#vpci.copyFrom(this.#vpci);
    states.set(uvm, copy);
    return copy;
  }

  /** Live entries with their refcounts, for tests and diagnostics. A fresh UVM has only LUN 0. */
  refcounts(): UvmRefcounts {
    return { scsi: this.#scsi.refcounts(), vsmb: this.#vsmb.refcounts(), vpci: this.#vpci.refcounts() };
  }
}

const states = new WeakMap<UtilityVm, UvmState>();

/** The state of `uvm`: the same object for the same UtilityVm object. */
export function uvmState(host: Host, uvm: UtilityVm): UvmState {
  let state = states.get(uvm);
  if (state === undefined) {
    state = new UvmState(host, uvm);
    states.set(uvm, state);
  }
  return state;
}
