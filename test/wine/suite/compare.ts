// Runs one scenario twice — against an in-process SimulatedHost, and through
// NativeHost → the addon's Win32 code → the stand-in DLLs → the test server's
// SimulatedHost — and returns both sides' outcome, calls and final state.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WcowError } from '../../../lib/errors';
import { NativeHost } from '../../../lib/host/native';
import { SimulatedHost, type FaultSpec } from '../../../lib/host/simulated';
import type { Host, UtilityVmOptions } from '../../../lib/host/types';
import { native as addon } from '../../../lib/native';
import { fromJson, request, toJson } from '../protocol';

const port = Number(process.env.WCOW_HCS_PORT);

/** A control request to the server (control:reset, control:calls, …). */
export async function control<T = void>(op: string, ...args: string[]): Promise<T> {
  const [hr, out = ''] = await request(port, [`control:${op}`, ...args]);
  if (hr !== '0') throw new Error(`control:${op} failed: ${hr} ${out}`);
  return (out === '' ? undefined : fromJson<T>(out)) as T;
}

export interface Setup {
  uvms?: UtilityVmOptions[];
  faults?: FaultSpec[];
  /** Windows folders (`C:\layers\x`) that must exist on both hosts. */
  dirs?: string[];
  /** Windows files (path → content) that must exist on both hosts, in folders of `dirs`. */
  files?: Record<string, string>;
}

export interface Side {
  outcome: unknown;
  calls: unknown[];
  snapshot: unknown;
}

/** An error as the caller sees it (or the value), comparable across hosts. */
function outcomeOf(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    (value) => ({ value: fromJson(toJson(value ?? null)) }),
    (err: unknown) =>
      err instanceof WcowError
        ? { error: { name: err.name, code: err.code, message: err.message, hresult: err.hresult, result: err.result } }
        : { thrown: String(err) },
  );
}

/**
 * Volume GUID paths name each host's own file system (the simulated drive root,
 * wine's C:); everything else in them must be equal.
 */
function sameVolumes<T>(value: T): T {
  return fromJson<T>(toJson(value).replace(/\\\\\\\\\?\\\\Volume\{[0-9a-fA-F-]+\}/g, '\\\\\\\\?\\\\Volume{*}'));
}

/** The host-side file-system calls NativeHost makes itself (Node fs, kernel32), which no HCS DLL sees. */
const LOCAL_APIS = new Set(['MkdirAll', 'ResolvePath']);

let runs = 0;

export async function compare(setup: Setup, scenario: (host: Host) => Promise<unknown>): Promise<{ simulated: Side; native: Side }> {
  const native = new NativeHost();
  // The in-process host: its own drive root under wine's temp folder.
  const rootA = fs.mkdtempSync(path.join(os.tmpdir(), `wcow-ref-${runs++}-`));
  const a = new SimulatedHost({ root: rootA, stateDir: false, build: native.build });
  await control('reset', String(native.build));
  await control('volume', await addon().win.resolvePath('C:\\'));
  // wine's C: is the server's simulated C: and outlives a run: start from empty folders.
  for (const top of new Set((setup.dirs ?? []).map((d) => d.slice(0, d.indexOf('\\', 3))))) {
    fs.rmSync(top, { recursive: true, force: true });
  }
  for (const dir of setup.dirs ?? []) {
    fs.mkdirSync(dir, { recursive: true }); // wine's C: is the server's simulated C:
    fs.mkdirSync(path.join(rootA, dir[0]!, dir.slice(3)), { recursive: true });
  }
  for (const [file, content] of Object.entries(setup.files ?? {})) {
    fs.writeFileSync(file, content);
    fs.writeFileSync(path.join(rootA, file[0]!, file.slice(3)), content);
  }
  for (const u of setup.uvms ?? []) {
    await a.createUtilityVm(u);
    await control('createUtilityVm', toJson(u));
  }
  for (const f of setup.faults ?? []) {
    a.injectFault(f);
    await control('injectFault', toJson(f));
  }
  const simulatedOutcome = await outcomeOf(() => scenario(a));
  const nativeOutcome = await outcomeOf(() => scenario(native));
  const project = (calls: readonly object[]): unknown[] =>
    fromJson<Record<string, unknown>[]>(toJson(calls))
      .filter((c) => !LOCAL_APIS.has(c.api as string))
      .map(({ api, target, document, args, outcome }) => ({ api, target, document, args, outcome }));
  return sameVolumes({
    simulated: { outcome: simulatedOutcome, calls: project(a.calls), snapshot: a.snapshot() },
    native: {
      outcome: nativeOutcome,
      calls: project(await control<object[]>('calls')),
      snapshot: await control('snapshot'),
    },
  });
}
