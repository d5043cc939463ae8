// What planWindowsResources (lib/allocate.ts) rehearses the allocation against: a rehearsal
// of the host (its own copy of itself, Host.rehearse, or RecordingHost) and a copy of the
// UVM's client-side state (UvmState.rehearse), so that the allocation itself runs, sends
// nothing, and every call it makes is the plan. README.md in this folder has the rules.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { InStep } from '../allocate';
import { parseResourcePath } from '../hcs/resourcepaths';
import type { Host, HostCall, UtilityVm } from '../host/types';
import { uvmState } from '../uvm';
import { RecordingHost } from './recording';

/**
 * One call allocateWindowsResources would make, in order: what the host will receive
 * (SimulatedHost.calls records the same api, target, document and args).
 */
export interface PlannedCall {
  /** The step of the allocation that makes it (`scratch.create`, `layers.mount`, `mounts`, `ccg.add`, …). */
  op: string;
  api: string;
  /** The compute system or path the call addresses. */
  target?: string;
  /** What the call adds or changes, from its document: the resource path and name, the guest resource, the service operation. */
  resource?: string;
  /** The exact document; absent when the call has none, or when it carries the credential spec (`withheld`). */
  document?: unknown;
  /** The parameters of a Win32 call without a document (CreateSandboxLayer's parents, GrantVmAccess's VM). */
  args?: Record<string, unknown>;
  /** Why the document is not shown. */
  withheld?: string;
  /** What in the call the allocation will see chosen differently (a random VMBus GUID; what HCS picks). */
  note?: string;
}

export interface Rehearsed {
  host: Host;
  uvm: UtilityVm | undefined;
  /** Runs an allocation step, so that the calls inside it are named by it. */
  inStep: InStep;
  /** The calls received since the rehearsal was made, as the plan lists them. */
  calls(): PlannedCall[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function words(...parts: unknown[]): string {
  return parts.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number').join(' ');
}

/** The resource a document names (the target names the compute system or file). */
export function resourceOf(document: unknown): string | undefined {
  if (!isObject(document)) return undefined;
  const settings = isObject(document.Settings) ? document.Settings : {};
  if (typeof document.ResourcePath === 'string') return words(document.ResourcePath, settings.Name, settings.Path);
  if (typeof document.ResourceType === 'string') return words(document.ResourceType, settings.ContainerPath ?? settings.ContainerRootPath, settings.Lun);
  if (typeof document.PropertyType === 'string') {
    const details = isObject(settings.OperationDetails) ? settings.OperationDetails : {};
    return words(document.PropertyType, settings.Operation, details.Id);
  }
  if (typeof document.CommandLine === 'string') return document.CommandLine;
  return undefined;
}

/** An AddInstance request: its document carries the gMSA credential spec, which no plan shows. */
function carriesCredentialSpec(document: unknown): boolean {
  return isObject(document) && isObject(document.Settings) && document.Settings.Operation === 'AddInstance';
}


/**
 * A rehearsal of `host` and of `uvm`'s state in this process. The host's own rehearsal when it
 * has one (the simulated host copies itself); otherwise RecordingHost, whose reads go to the
 * live host and which answers what only HCS chooses with placeholders.
 */
export async function rehearse(host: Host, uvm: UtilityVm | undefined): Promise<Rehearsed> {
  const steps = new AsyncLocalStorage<string>();
  const received: { call: HostCall; op: string }[] = [];
  const chosen = new Map<string, string>();
  let recording = false;
  const onCall = (call: HostCall): void => {
    if (recording) received.push({ call, op: steps.getStore() ?? 'allocate' });
  };
  const rehearsal = host.rehearse?.(onCall) ?? new RecordingHost(host, onCall, (value, why) => chosen.set(value, why)).rehearsal();
  let rehearsedUvm: UtilityVm | undefined;
  if (uvm !== undefined) {
    rehearsedUvm = await rehearsal.utilityVm(uvm);
    uvmState(host, uvm).rehearse(rehearsal.host, rehearsedUvm);
  }
  recording = true;
  return {
    host: rehearsal.host,
    uvm: rehearsedUvm,
    inStep: (op, fn) => steps.run(op, fn),
    calls: () => {
      for (const { call } of received) {
        // A VPCI device's VMBus GUID is new for every assignment (vpci.go: guid.NewV4), so the plan's is an example.
        const path = parseResourcePath(resourceOf(call.document) ?? '');
        if (path?.kind === 'vpci') chosen.set(path.vmBusGuid, 'the VMBus GUID is chosen at random when the device is assigned');
      }
      return received.map(({ call, op }) => {
        const row: PlannedCall = { op, api: call.api };
        if (call.target !== undefined) row.target = call.target;
        const resource = resourceOf(call.document);
        if (resource !== undefined) row.resource = resource;
        if (carriesCredentialSpec(call.document)) row.withheld = 'it carries the credential spec';
        else if (call.document !== undefined) row.document = call.document;
        if (call.args !== undefined) row.args = call.args;
        const text = JSON.stringify([call.target, call.document ?? null]);
        const note = [...chosen].find(([value]) => text.includes(value));
        if (note !== undefined) row.note = note[1];
        return row;
      });
    },
  };
}
