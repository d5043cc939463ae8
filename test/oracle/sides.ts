// The two sides of a differential run, each on a fresh SimulatedHost with the
// scenario's files, UVM and faults: hcsshim v0.11.4 (oracle.exe under wine,
// through the stand-in vmcompute.dll and HcsServer) and the package
// (allocateWindowsResources + release, in this process). Both come back as a
// `Run`: the calls of each step, the per-container results, the final snapshot.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocateWindowsResources, type Allocation } from '../../lib/allocate';
import { asWcowError } from '../../lib/errors';
import { SimulatedHost } from '../../lib/host/simulated';
import type { FaultHandle, SimulatedCall } from '../../lib/host/simulated/calls';
import type { HostSnapshot } from '../../lib/host/simulated/snapshot';
import { clean } from '../../lib/host/winpath';
import type { OciSpec } from '../../lib/oci/types';
import { onStep } from '../../lib/trace';
import type { HcsServer } from '../wine/server';
import { materialise, oracleScenario, realPath, SCENARIO_TOPS, stepsOf, type Scenario } from './scenario';

/** One call as compared: the document as JSON text (key order is part of the contract). */
export interface Call {
  api: string;
  target?: string;
  document?: string;
  args?: string;
  outcome?: string;
}

export interface StepRun {
  op: 'allocate' | 'release';
  container: string;
  calls: Call[];
  /** hcsshim: where CreateContainer's release after a failed allocation began in `calls`. */
  rollbackAt?: number;
}

export interface ContainerResult {
  allocated: boolean;
  allocateError: string | null;
  /** Ours only, never compared: the failed allocation's error `op` (`preflight` for docs/differences.md#difference-9). */
  allocateOp?: string;
  containerRootInUvm: string;
  specRootPath: string;
  mappedDirectories: unknown[];
  ccgState: unknown;
  devices: unknown[];
  releaseError: string | null;
}

export interface Run {
  steps: StepRun[];
  containers: Record<string, ContainerResult>;
  snapshot: HostSnapshot;
}

/** Host-side file-system calls the package makes through the Host seam; hcsshim makes them with Go's os package (wine). */
const LOCAL_APIS = new Set(['MkdirAll', 'ResolvePath']);

function project(calls: readonly { api: string; target?: string; document?: unknown; args?: unknown; outcome?: string }[]): Call[] {
  return calls
    .filter((c) => !LOCAL_APIS.has(c.api))
    .map((c) => ({
      api: c.api,
      ...(c.target !== undefined && { target: c.target }),
      ...(c.document !== undefined && { document: JSON.stringify(c.document) }),
      ...(c.args !== undefined && { args: JSON.stringify(c.args, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) }),
      ...(c.outcome !== undefined && { outcome: c.outcome }),
    }));
}

async function prepareHost(s: Scenario, root: string): Promise<SimulatedHost> {
  const host = new SimulatedHost({ root, stateDir: false });
  await materialise(s, root, host);
  if (s.uvm !== null) await host.createUtilityVm(s.uvm);
  for (const f of s.faults ?? []) if (f.atStep === undefined) host.injectFault(f);
  return host;
}

const armed = new WeakMap<SimulatedHost, FaultHandle[]>();

/**
 * Arm the faults of step `index` (see Fault.atStep) and disarm the previous step's: a
 * fault that did not fire in its own step (ours refused that allocation before any call,
 * say) must not fail a call of a later one.
 */
function armStep(s: Scenario, host: SimulatedHost, index: number, skip?: (c: SimulatedCall) => boolean): void {
  for (const h of armed.get(host) ?? []) h.remove();
  armed.set(
    host,
    (s.faults ?? []).filter((f) => f.atStep === index).map((f) => host.injectFault(skip === undefined ? f : { ...f, match: (c) => !skip(c) })),
  );
}

/**
 * The one call of ours that hcsshim never makes before a failure: the CCG instance's hvsocket
 * entry removed with it (docs/differences.md#difference-5). A fault on the k-th call of an API must hit the same
 * operation in both runs, so it does not count this one.
 */
function oursOnly(c: SimulatedCall): boolean {
  const d = c.document as { ResourcePath?: string; RequestType?: string } | undefined;
  return c.api === 'HcsModifyComputeSystem' && d?.RequestType === 'Remove' && d.ResourcePath?.startsWith('VirtualMachine/Devices/HvSocket/') === true;
}

// ---------------------------------------------------------------------------
// hcsshim

export interface OracleEnv {
  wine: string;
  exe: string;
  prefix: string;
  /** The simulated root whose C is the prefix's drive_c. */
  simroot: string;
  server: HcsServer;
  port: number;
  work: string;
}

interface OracleResult {
  completed: boolean;
  error: string | null;
  containers: {
    id: string;
    allocated: boolean;
    allocateError: string | null;
    containerRootInUvm: string;
    specRootPath: string;
    windowsAdditionalMounts: unknown[] | null;
    ccgState: unknown;
    specWindowsDevices: unknown[] | null;
    releaseError: string | null;
  }[];
}

const winPath = (p: string): string => `Z:${p.split('/').join('\\')}`;

function runExe(env: OracleEnv, scenarioFile: string, resultFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(env.wine, [env.exe, '-test.run', '^TestOracle$', '-test.timeout', '120s'], {
      env: {
        ...process.env,
        WINEPREFIX: env.prefix,
        WINEDEBUG: '-all',
        WINEARCH: 'win64',
        WINEDLLOVERRIDES: 'mscoree,mshtml=',
        WCOW_HCS_PORT: String(env.port),
        ORACLE_SCENARIO: winPath(scenarioFile),
        ORACLE_RESULT: winPath(resultFile),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Split the server's call log at the oracle's step notes. */
function stepsFromNotes(env: OracleEnv): StepRun[] {
  const calls = env.server.host.calls;
  const notes = env.server.steps;
  const steps: StepRun[] = [];
  notes.forEach(({ note, at }, i) => {
    const end = notes[i + 1]?.at ?? calls.length;
    const slice = project(calls.slice(at, end));
    const container = String(note.container ?? '');
    if (note.op === 'allocate') steps.push({ op: 'allocate', container, calls: slice });
    else if (note.op === 'release') steps.push({ op: 'release', container, calls: slice });
    else if (note.op === 'releaseOnFailure') {
      // CreateContainer's release of a failed allocation: the package does it inside allocate.
      const last = steps[steps.length - 1]!;
      last.rollbackAt = last.calls.length;
      last.calls.push(...slice);
    }
  });
  return steps;
}

export async function runHcsshim(env: OracleEnv, s: Scenario, guestConnection: boolean, index: number): Promise<Run> {
  for (const top of SCENARIO_TOPS) fs.rmSync(realPath(env.simroot, `C:\\${top}`), { recursive: true, force: true });
  const host = await prepareHost(s, env.simroot);
  env.server.resetWith(host);
  env.server.onStepNote = (note) => {
    if ((note.op === 'allocate' || note.op === 'release') && typeof note.step === 'number') armStep(s, host, note.step);
  };
  const scenarioFile = path.join(env.work, `scenario-${index}.json`);
  const resultFile = path.join(env.work, `result-${index}.json`);
  fs.writeFileSync(scenarioFile, JSON.stringify(oracleScenario(s, guestConnection)));
  fs.rmSync(resultFile, { force: true });
  const { code, output } = await runExe(env, scenarioFile, resultFile);
  const result = fs.existsSync(resultFile) ? (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as OracleResult) : undefined;
  if (code !== 0 || result === undefined || !result.completed) {
    const log = path.join(env.work, `failed-${index}.txt`);
    fs.writeFileSync(log, output);
    throw new Error(`oracle.exe exited ${code}: ${result?.error ?? 'no result'} (scenario ${scenarioFile}, output ${log})\n${output.split('\n').slice(-20).join('\n')}`);
  }
  if (process.env.ORACLE_KEEP !== undefined) fs.writeFileSync(path.join(env.work, `output-${index}.txt`), output);
  else {
    fs.rmSync(scenarioFile);
    fs.rmSync(resultFile);
  }
  const containers: Record<string, ContainerResult> = {};
  for (const c of result.containers) {
    containers[c.id] = {
      allocated: c.allocated,
      allocateError: c.allocateError,
      // CreateContainer's `C:\c/%s`, as the layer code cleans it: the package returns it clean (docs/behaviour.md#public-api).
      containerRootInUvm: c.containerRootInUvm === '' ? '' : clean(c.containerRootInUvm),
      specRootPath: c.specRootPath,
      mappedDirectories: c.windowsAdditionalMounts ?? [],
      ccgState: c.ccgState,
      devices: c.specWindowsDevices ?? [],
      releaseError: c.releaseError,
    };
  }
  return { steps: stepsFromNotes(env), containers, snapshot: host.snapshot() };
}

// ---------------------------------------------------------------------------
// the package

/**
 * The snapshot without the folders the package's MkdirAll made: hcsshim makes them
 * with os.MkdirAll on wine's C:, which the model does not see.
 */
function withoutMkdirs(host: SimulatedHost): HostSnapshot {
  const made = host.calls.filter((c) => c.api === 'MkdirAll' && c.target !== undefined).map((c) => c.target!.toLowerCase());
  const snap = host.snapshot();
  snap.filesCreated = snap.filesCreated.filter((f) => !made.some((m) => m === f.toLowerCase() || m.startsWith(`${f.toLowerCase()}\\`)));
  return snap;
}

function emptyResult(): ContainerResult {
  return {
    allocated: false,
    allocateError: null,
    containerRootInUvm: '',
    specRootPath: '',
    mappedDirectories: [],
    ccgState: null,
    devices: [],
    releaseError: null,
  };
}

function resultOf(a: Allocation, spec: OciSpec): Partial<ContainerResult> {
  return {
    containerRootInUvm: a.containerRootInUvm ?? '',
    specRootPath: a.spec.root?.path ?? '',
    mappedDirectories: JSON.parse(JSON.stringify(a.mappedDirectories)) as unknown[],
    ccgState: a.credentialGuard === undefined ? null : (JSON.parse(JSON.stringify(a.credentialGuard)) as unknown),
    devices: JSON.parse(JSON.stringify(a.spec.windows?.devices ?? spec.windows?.devices ?? [])) as unknown[],
  };
}

/**
 * The package, as a runtime drives it: allocateWindowsResources per allocate step
 * (a failure is rolled back inside it, as CreateContainer's deferred release is), then
 * `release({ all })` per release step. Its guest side is the model's UVM in both guest
 * modes: GuestTransport.guestRequest and a `{GuestRequest}`-only HcsModifyComputeSystem
 * (NativeHost without a transport) reach the model as the same GuestRequest call
 * (HcsServer maps the second onto the first).
 */
export async function runOurs(s: Scenario): Promise<Run> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-oracle-ours-'));
  // The container document's own calls (hcsdoc_wcow: NameToGuid per layer) come after
  // allocateWindowsResources in hcsshim, which the oracle does not run.
  let documentAt: number | undefined;
  let host: SimulatedHost | undefined;
  const unsubscribe = onStep({
    start: (ctx) => {
      if (ctx.kind === 'step' && ctx.step === 'document' && host !== undefined) documentAt = host.calls.length;
    },
  });
  try {
    host = await prepareHost(s, root);
    const uvm = s.uvm === null ? undefined : await host.openUtilityVm(s.uvm.id);
    const allocations = new Map<string, Allocation>();
    const containers: Record<string, ContainerResult> = {};
    for (const c of s.containers) containers[c.id] = emptyResult();
    const steps: StepRun[] = [];
    for (const [index, st] of stepsOf(s).entries()) {
      const at = host.calls.length;
      documentAt = undefined;
      armStep(s, host, index, oursOnly);
      if ('allocate' in st) {
        const c = s.containers.find((x) => x.id === st.allocate)!;
        const r = containers[c.id]!;
        r.allocated = true;
        try {
          const a = await allocateWindowsResources({
            id: c.id,
            spec: c.spec,
            host,
            ...(uvm !== undefined && { uvm }),
            ...(c.isSandbox !== undefined && { isSandbox: c.isSandbox }),
            ...(c.schemaVersion !== undefined && { schemaVersion: c.schemaVersion }),
          });
          allocations.set(c.id, a);
          Object.assign(r, resultOf(a, c.spec));
        } catch (err) {
          const e = asWcowError(err);
          r.allocateError = e.message;
          if (e.op !== undefined) r.allocateOp = e.op;
        }
        steps.push({ op: 'allocate', container: c.id, calls: project(host.calls.slice(at, r.allocateError === null ? documentAt : undefined)) });
      } else {
        const c = s.containers.find((x) => x.id === st.release)!;
        const a = allocations.get(c.id);
        if (a === undefined) continue; // failed allocations were released by allocate itself
        try {
          await a.resources.release({ all: (c.release ?? 'all') === 'all' });
        } catch (err) {
          containers[c.id]!.releaseError = asWcowError(err).message;
        }
        steps.push({ op: 'release', container: c.id, calls: project(host.calls.slice(at)) });
      }
    }
    if (uvm !== undefined) await uvm.close();
    return { steps, containers, snapshot: withoutMkdirs(host) };
  } finally {
    unsubscribe();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
