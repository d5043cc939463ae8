// A handle to a simulated utility VM (HcsOpenComputeSystem's handle): the
// compute-system modify, guest requests and guest processes of one UVM.

import { AbortedError } from '../../errors';
import type { GuestModificationRequest, ModifySettingRequest, ProcessParameters } from '../../hcs/schema';
import type { ExecOptions, ExecResult, UtilityVm } from '../types';
import type { PendingCall, SimCore } from './core';
import { prepareHostModify, type Undo } from './devices';
import { E_HANDLE } from '../../hcs/errors';
import { Rejection } from './failure';
import { guestCommit, prepareProcess } from './guest';
import type { UvmState } from './state';

async function ready(p: PendingCall, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw new AbortedError();
  await p.ready();
  if (signal?.aborted) throw new AbortedError();
}

export class SimulatedUtilityVm implements UtilityVm {
  readonly os = 'windows' as const;
  private closed = false;

  constructor(
    private readonly core: SimCore,
    readonly id: string,
  ) {}

  private get uvm(): UvmState {
    const u = this.core.state.uvms[this.id];
    if (u === undefined || this.closed) throw new Rejection(E_HANDLE, 'the handle has already been closed');
    return u;
  }

  get noWritableFileShares(): boolean {
    return this.core.state.uvms[this.id]?.noWritableFileShares ?? false;
  }

  get vsmbNoDirectMap(): boolean {
    return this.core.state.uvms[this.id]?.vsmbNoDirectMap ?? false;
  }

  get fullyPhysicallyBacked(): boolean {
    return this.core.state.uvms[this.id]?.fullyPhysicallyBacked ?? false;
  }

  /**
   * HcsModifyComputeSystem. A document with a GuestRequest is the combined form
   * (docs/behaviour.md#without-a-guest-connection): HCS applies the host part, then forwards the
   * guest part over its internal bridge (recorded as a `GuestRequest` call); when
   * the guest part fails the host part is undone and the modify fails with the
   * guest's HRESULT.
   */
  async modify(request: ModifySettingRequest, options: { signal?: AbortSignal } = {}): Promise<void> {
    const p = this.core.start('HcsModifyComputeSystem', this.id, request);
    try {
      await ready(p, options.signal);
      const { GuestRequest: guestPart, ...hostPart } = request;
      // The host part and the forwarded guest part are one change of the state.
      await this.core.transaction(async () => {
        const uvm = this.uvm;
        const commit = await prepareHostModify({ state: this.core.state, uvm, fs: this.core.fs }, hostPart);
        p.throwIfFaulted();
        const undo = commit();
        if (guestPart !== undefined) await this.forward(guestPart, undo, options.signal);
      });
      p.ok(undefined);
    } catch (err) {
      p.fail(err);
    }
  }

  private async forward(request: GuestModificationRequest, undo: Undo, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.guest(request, signal, false);
    } catch (err) {
      undo();
      const hresult = parseInt((err as { hresult?: string }).hresult ?? '0x80004005', 16) | 0;
      throw new Rejection(hresult, (err as Error).message);
    }
  }

  /** A GCS ModifySettings request. */
  guestRequest(request: GuestModificationRequest, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.guest(request, options.signal, true);
  }

  /** A guest request: its own transaction, or (forwarded by modify) part of the modify's. */
  private async guest(request: GuestModificationRequest, signal: AbortSignal | undefined, own: boolean): Promise<void> {
    const p = this.core.start('GuestRequest', this.id, request);
    try {
      await ready(p, signal);
      const change = async (): Promise<void> => {
        const commit = guestCommit(this.uvm, request);
        p.throwIfFaulted();
        commit();
      };
      await (own ? this.core.transaction(change) : change());
      p.ok(undefined);
    } catch (err) {
      p.fail(err);
    }
  }

  /** A process in the guest; a fault with `exitCode` makes it exit with that code instead of running. */
  async exec(params: ProcessParameters, options: ExecOptions = {}): Promise<ExecResult> {
    const p = this.core.start('Exec', this.id, params);
    try {
      await ready(p, options.signal);
      this.core.refresh();
      void this.uvm; // a closed handle fails before a fault's exit code is given
      const f = p.fault;
      if (f?.exitCode !== undefined) return p.ok({ exitCode: f.exitCode, stdout: f.stdout ?? '', stderr: f.stderr ?? '' });
      const result = await this.core.transaction(async () => {
        const run = await prepareProcess(this.core, this.uvm, params.CommandLine ?? '');
        p.throwIfFaulted();
        return run();
      });
      return p.ok(result);
    } catch (err) {
      return p.fail(err);
    }
  }

  /** HcsCloseComputeSystem: drops this handle (closing twice is a no-op, like hcsshim's Close). */
  async close(): Promise<void> {
    await this.core.invoke('HcsCloseComputeSystem', this.id, {}, async () => () => {
      this.closed = true;
    });
  }
}
