// The machines and containers of the reliability tests: a simulated host with the files the
// scenarios need, and five scenarios — process-isolated; hypervisor-isolated with layers, a
// mount of every kind, CCG, a device and a guest driver; a pod sandbox; a second container
// sharing the first one's layers and mounts; a spec with many mounts. Used in-process and by
// the child processes of the kill tests (child.ts), so it depends on nothing of mocha.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocateWindowsResources, type AllocateOptions, type Allocation } from '../../lib/allocate';
import { SimulatedHost } from '../../lib/host/simulated';
import type { Host, UtilityVm, UtilityVmOptions } from '../../lib/host/types';
import { recover } from '../../lib/recover';
import type { OciMount, OciSpec } from '../../lib/oci/types';

export const L3 = 'C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e';
export const L2 = 'C:\\layers\\7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62';
export const L1 = 'C:\\layers\\f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e';
export const GPU = 'PCIP\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\6&2A0A8D3B&0&0000';
/** The secret the CCG scenarios carry: it must never reach an error, a log line or a journal. */
export const SECRET = 'hunter2-gmsa-4f1c9e';
export const CREDENTIAL_SPEC = JSON.stringify({ CmsPlugins: ['ActiveDirectory'], DomainJoinConfig: { MachineAccountName: 'web01', Password: SECRET } });

/** The real path of a `C:\…` path under the simulated drives. */
export function real(root: string, win: string): string {
  return path.join(root, win[0]!.toUpperCase(), ...win.slice(3).split('\\').filter((p) => p !== ''));
}

/** Everything the scenarios mount, written straight into the drives (as a machine has them before any HCS call). */
export function prepareMachine(root: string, host: SimulatedHost): void {
  const dirs = [L3, L2, L1, 'C:\\data\\rw', 'C:\\data\\ro', 'C:\\data\\cfg', 'C:\\drivers\\gpu', 'C:\\ContainerPlat'];
  for (let i = 0; i < 16; i++) dirs.push(`C:\\many\\d${i}`);
  for (const d of dirs) fs.mkdirSync(real(root, d), { recursive: true });
  const files: Record<string, string> = {
    'C:\\data\\cfg\\app.json': '{}',
    'C:\\data\\cfg\\other.json': '{}',
    'C:\\disks\\data.vhdx': 'vhdx',
    'C:\\drivers\\gpu\\gpu.inf': '[Version]',
    'C:\\ContainerPlat\\device-util.exe': 'MZ',
  };
  for (let i = 0; i < 8; i++) {
    files[`C:\\many\\files\\f${i}.txt`] = 'x';
    files[`C:\\many\\disks\\v${i}.vhdx`] = 'vhdx';
  }
  for (const [win, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(real(root, win)), { recursive: true });
    fs.writeFileSync(real(root, win), content);
  }
  host.addPhysicalDrive(2);
}

export interface ContainerPlan {
  id: string;
  spec: OciSpec;
  isSandbox?: boolean;
}

export interface Scenario {
  name: string;
  /** The UVM the containers go into; none for process isolation. */
  uvm?: UtilityVmOptions;
  /** Allocated before the baseline and kept: what the container under test shares. */
  before: ContainerPlan[];
  container: ContainerPlan;
}

export const mount = (source: string, destination: string, extra: Partial<OciMount> = {}): OciMount => ({ source, destination, type: '', options: [], ...extra });

export const everyKind: OciMount[] = [
  mount('C:\\data\\rw', 'C:\\rw'),
  mount('C:\\data\\ro', 'C:\\ro', { options: ['ro'] }),
  mount('C:\\data\\cfg\\app.json', 'C:\\app\\app.json', { options: ['ro'] }),
  mount('\\\\.\\pipe\\foo', '\\\\.\\pipe\\bar'),
  mount('sandbox:///a/b', 'C:\\sb'),
  mount('\\\\.\\PHYSICALDRIVE2', 'C:\\pd', { type: 'physical-disk' }),
  mount('C:\\disks\\data.vhdx', 'C:\\vd', { type: 'virtual-disk', options: ['ro'] }),
  mount('evd://space/{8d4c6e2a-5b1f-4e3d-9a7c-2f6b1d0e4c3a}{c3b2a190-7e6d-4f5c-8b4a-1d2e3f405162}', 'C:\\evd', { type: 'extensible-virtual-disk' }),
];

function manyMounts(): OciMount[] {
  const m: OciMount[] = [];
  for (let i = 0; i < 16; i++) m.push(mount(`C:\\many\\d${i}`, `C:\\d${i}`, { options: i % 2 === 0 ? ['ro'] : [] }));
  for (let i = 0; i < 8; i++) m.push(mount(`C:\\many\\files\\f${i}.txt`, `C:\\f\\f${i}.txt`, { options: ['ro'] }));
  for (let i = 0; i < 8; i++) m.push(mount(`C:\\many\\disks\\v${i}.vhdx`, `C:\\v${i}`, { type: 'virtual-disk', options: ['ro'] }));
  for (let i = 0; i < 4; i++) m.push(mount(`\\\\.\\pipe\\p${i}`, `\\\\.\\pipe\\c${i}`));
  // The same directory twice: the second is a reference to the first one's share.
  m.push(mount('C:\\many\\d1', 'C:\\again'));
  return m;
}

function spec(scratch: string, windows: Record<string, unknown>, extra: Partial<OciSpec> = {}): OciSpec {
  return { ...extra, windows: { layerFolders: [L3, L2, L1, `C:\\layers\\${scratch}`], ...windows } } as OciSpec;
}

const hyperv = { hyperv: {} };

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'process-isolated with a mount and CCG',
    before: [],
    container: { id: 'argon1', spec: spec('scratch-argon1', { credentialSpec: CREDENTIAL_SPEC }, { mounts: [mount('C:\\data\\rw', 'C:\\rw')] }) },
  },
  {
    name: 'hypervisor-isolated: layers, a mount of every kind, CCG, a device and a guest driver',
    uvm: { id: 'full@vm' },
    before: [],
    container: {
      id: 'full1',
      spec: spec(
        'scratch-full1',
        { ...hyperv, credentialSpec: CREDENTIAL_SPEC, devices: [{ id: GPU, idType: 'vpci' }] },
        { mounts: everyKind, annotations: { 'io.microsoft.virtualmachine.kerneldrivers': 'C:\\drivers\\gpu' } },
      ),
    },
  },
  {
    name: 'a pod sandbox',
    uvm: { id: 'pod@vm' },
    before: [],
    container: {
      id: 'pause1',
      isSandbox: true,
      spec: spec('scratch-pause1', hyperv, { mounts: [mount('C:\\data\\ro', 'C:\\ro', { options: ['ro'] })] }),
    },
  },
  {
    name: "a second container sharing the first one's layers and mounts",
    uvm: { id: 'shared@vm' },
    before: [
      {
        id: 'first',
        spec: spec('scratch-first', hyperv, {
          mounts: [everyKind[0]!, everyKind[1]!, everyKind[2]!, everyKind[6]!],
        }),
      },
    ],
    container: {
      id: 'second',
      // Not the file mount: a single-file share's AllowedFiles only grows while the share
      // lives (hcsshim's AddVSMB, docs/mounts.md#adding-a-share step 9), so a reuse is never undone exactly.
      spec: spec('scratch-second', hyperv, { mounts: [everyKind[0]!, everyKind[1]!, everyKind[6]!] }),
    },
  },
  {
    name: 'a spec with many mounts',
    uvm: { id: 'many@vm' },
    before: [],
    container: { id: 'many1', spec: spec('scratch-many1', hyperv, { mounts: manyMounts() }) },
  },
];

export function allocate(host: Host, uvm: UtilityVm | undefined, c: ContainerPlan, extra: Partial<AllocateOptions> = {}): Promise<Allocation> {
  return allocateWindowsResources({
    id: c.id,
    spec: structuredClone(c.spec),
    host,
    ...(uvm !== undefined && { uvm }),
    ...(c.isSandbox !== undefined && { isSandbox: c.isSandbox }),
    ...extra,
  });
}

export interface Stage {
  /** A handle of the scenario's UVM (a new one after `finish` tore down a sandbox's layers). */
  uvm: UtilityVm | undefined;
  /** The containers of `before`, allocated and kept. */
  kept: Allocation[];
}

/**
 * The scenario's machine up to its baseline: the UVM, the `before` containers, and one
 * allocate + release of the container under test. That cycle leaves what hcsshim never
 * releases (scratch folder and sandbox.vhdx, VM access grants, sandbox mount directories in
 * the guest, installed drivers); the baseline includes them, so a failed or killed
 * allocation must end exactly there.
 */
export async function stage(host: SimulatedHost, s: Scenario, journal: string): Promise<Stage> {
  const uvm = s.uvm === undefined ? undefined : await host.createUtilityVm(s.uvm);
  const kept: Allocation[] = [];
  for (const c of s.before) kept.push(await allocate(host, uvm, c));
  const st: Stage = { uvm, kept };
  await finish(host, s, st, await allocate(host, uvm, s.container, { journal }), journal);
  return st;
}

/**
 * Release a successful allocation of the container under test. A pod sandbox's layers
 * belong to its UVM and go when the pod's UVM does; here the UVM stays, so they are taken
 * back as the pod's owner would after tearing the pod down: the journal handed to recover(),
 * and a new UVM handle, whose client state (lib/uvm) starts empty like a new shim's.
 */
export async function finish(host: SimulatedHost, s: Scenario, st: Stage, a: Allocation, journal: string): Promise<void> {
  if (s.container.isSandbox !== true || s.uvm === undefined) {
    await a.resources.release({ all: true });
    return;
  }
  await a.resources.abandon();
  const report = await recover({ dir: journal, host });
  if (report.errors.length > 0) throw report.errors[0];
  st.uvm = await host.openUtilityVm(s.uvm.id);
}

/**
 * The containers of a process that stays alive while others are killed (kill.test.ts): one
 * process-isolated, one in a UVM of its own — lib/uvm's client state is per process, so two
 * processes never share a UVM here.
 */
export const LIVE: readonly Scenario[] = [
  {
    name: 'live process-isolated',
    before: [],
    container: { id: 'live-argon', spec: spec('scratch-live-argon', { credentialSpec: CREDENTIAL_SPEC }) },
  },
  {
    name: 'live hypervisor-isolated',
    uvm: { id: 'live@vm' },
    before: [],
    container: { id: 'live-xenon', spec: spec('scratch-live-xenon', hyperv, { mounts: [everyKind[0]!, everyKind[6]!] }) },
  },
];

/** mulberry32: a small seeded generator, so a failing trial can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An in-memory simulated host on a fresh temporary root prepared for the scenarios, and a journal directory beside it. */
export interface Machine {
  root: string;
  journal: string;
  host: SimulatedHost;
}

export function machine(prefix: string): Machine {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const host = new SimulatedHost({ root, stateDir: false });
  prepareMachine(root, host);
  return { root, journal: path.join(root, 'journal'), host };
}

/** The journals in `dir` (none when it does not exist). */
export function journalFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.journal')) : [];
}
