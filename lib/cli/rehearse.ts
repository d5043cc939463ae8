// `plan` on the simulated host: the allocation rehearsed on a throw-away copy of the machine,
// so that every call allocate would send is listed with its exact document — share names,
// LUNs and VMBus GUIDs included, which planWindowsResources can only name (they are chosen
// from live UVM state). The copy shares the drives read-only through symbolic links; only
// the path to the scratch folder is made of real directories, so the scratch and its
// sandbox.vhdx are created in the copy and the real drives are never written.

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocateWindowsResources } from '../allocate';
import { SimulatedHost } from '../host/simulated';
import type { OciSpec } from '../spec/types';

/** One state-changing call allocate would send, in order. */
export interface RehearsedCall {
  api: string;
  target?: string;
  /** What the call adds or changes: the HCS resource path, the guest resource, the service property. */
  resource?: string;
  /** The exact document; absent when the call has none, or when it carries the credential spec. */
  document?: unknown;
  /** The parameters of a Win32 call without a document (CreateSandboxLayer's parents, GrantVmAccess's VM). */
  args?: Record<string, unknown>;
  /** Why the document is not shown. */
  withheld?: string;
  /** What in the document allocate will choose differently. */
  note?: string;
}

/** A VPCI device's VMBus GUID is new for every assignment (vpci.go: guid.NewV4), so the plan's is an example. */
const VPCI_PATH = /^VirtualMachine\/Devices\/VirtualPci\/([0-9a-f-]{36})/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `real` as a directory of `copy` holding links to its entries, except `keep`; false when
 * `real` does not exist (nor is made: the allocation's MkdirAll creates it in the copy).
 */
async function linkEntries(real: string, copy: string, keep?: string): Promise<boolean> {
  let names: string[];
  try {
    names = await fsp.readdir(real);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await fsp.mkdir(copy, { recursive: true });
  for (const n of names) if (n !== keep) await fsp.symlink(path.join(real, n), path.join(copy, n));
  return true;
}

/** The drives of `sim` under `copyRoot`: links everywhere but along the path to `scratch`. */
async function copyDrives(sim: SimulatedHost, copyRoot: string, scratch: string | undefined): Promise<void> {
  const chain = scratch === undefined ? [] : path.relative(sim.root, sim.hostPath(scratch)).split(path.sep);
  let real = sim.root;
  let copy = copyRoot;
  await fsp.mkdir(copyRoot);
  for (const part of chain) {
    if (!(await linkEntries(real, copy, part))) return;
    real = path.join(real, part);
    copy = path.join(copy, part);
  }
  await linkEntries(real, copy);
}

function lastLayerFolder(spec: OciSpec): string | undefined {
  const folders = spec.windows?.layerFolders;
  const last = Array.isArray(folders) ? folders[folders.length - 1] : undefined;
  return typeof last === 'string' ? last : undefined;
}

function words(...parts: unknown[]): string {
  return parts.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number').join(' ');
}

/** The resource a document names (the target column names the compute system or file). */
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

/** An AddInstance request: its document carries the gMSA credential spec, which no output shows. */
function carriesCredentialSpec(document: unknown): boolean {
  return isObject(document) && isObject(document.Settings) && document.Settings.Operation === 'AddInstance';
}

/**
 * Allocate `spec` on a copy of `sim` (its state, and its drives as above) and return the
 * state-changing calls it received. A failure is the allocation's failure: plan reports it.
 */
export async function rehearse(sim: SimulatedHost, o: { id: string; spec: OciSpec; uvmId?: string }): Promise<RehearsedCall[]> {
  const top = await fsp.mkdtemp(path.join(os.tmpdir(), 'wcow-plan-'));
  try {
    const root = path.join(top, 'root');
    const stateDir = path.join(top, 'state');
    await copyDrives(sim, root, lastLayerFolder(o.spec));
    await fsp.mkdir(stateDir);
    await fsp.writeFile(path.join(stateDir, 'host-state.json'), JSON.stringify(sim.toJSON()));
    const copy = new SimulatedHost({ root, stateDir, build: sim.build, toolsDirectory: sim.toolsDirectory });
    const uvm = o.uvmId === undefined ? undefined : await copy.openUtilityVm(o.uvmId);
    copy.clearCalls();
    await allocateWindowsResources({ id: o.id, spec: o.spec, host: copy, ...(uvm === undefined ? {} : { uvm }) });
    const vmBusGuids: string[] = [];
    return copy.calls
      .filter((c) => c.mutating)
      .map((c) => {
        const row: RehearsedCall = { api: c.api };
        if (c.target !== undefined) row.target = c.target;
        const resource = resourceOf(c.document);
        if (resource !== undefined) row.resource = resource;
        if (carriesCredentialSpec(c.document)) row.withheld = 'it carries the credential spec';
        else if (c.document !== undefined) row.document = c.document;
        if (c.args !== undefined) row.args = c.args;
        const vpci = resource === undefined ? null : VPCI_PATH.exec(resource);
        if (vpci !== null) vmBusGuids.push(vpci[1]!);
        const text = JSON.stringify(c.document ?? null);
        if (vmBusGuids.some((g) => text.includes(g))) row.note = 'the VMBus GUID is chosen at random when the device is assigned';
        return row;
      });
  } finally {
    // fs.rm unlinks the links; it never follows them into the real drives.
    await fsp.rm(top, { recursive: true, force: true });
  }
}
