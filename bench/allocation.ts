// Allocation benchmarks on the simulated host: what the engine itself costs
// (zero latency), whether that cost grows with a UVM's history, and how much of
// the host's and guest's latency concurrent allocations into one UVM overlap.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { allocateWindowsResources } from '../lib/allocate';
import { SimulatedHost, type LatencyOptions } from '../lib/host/simulated';
import type { UtilityVm } from '../lib/host/types';
import type { OciMount, OciSpec } from '../lib/oci/types';
import { setupMachine, type SetupManifest } from '../lib/cli/machine';
import { median, type BenchRow } from './table';

const LAYERS = [
  'C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e',
  'C:\\layers\\7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62',
  'C:\\layers\\f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e',
];

/** Ten mounts of every kind a hypervisor-isolated container can have (docs/mounts.md#combined-scenario-m1-m8 and more). */
const MIXED_MOUNTS: OciMount[] = [
  { destination: 'C:\\rw', source: 'C:\\data\\rw' },
  { destination: 'C:\\ro', source: 'C:\\data\\ro', options: ['ro'] },
  { destination: 'C:\\logs', source: 'C:\\data\\logs' },
  { destination: 'C:\\app\\app.json', source: 'C:\\data\\cfg\\app.json', options: ['ro'] },
  { destination: 'C:\\app\\secrets.json', source: 'C:\\data\\cfg\\secrets.json', options: ['ro'] },
  { destination: '\\\\.\\pipe\\bar', source: '\\\\.\\pipe\\foo' },
  { destination: 'C:\\sb', source: 'sandbox:///a/b' },
  { destination: 'C:\\pd', source: '\\\\.\\PHYSICALDRIVE2', type: 'physical-disk' },
  { destination: 'C:\\vd', source: 'C:\\disks\\data.vhdx', type: 'virtual-disk', options: ['ro'] },
  { destination: 'C:\\evd', source: 'evd://space/{8d4c6e2a-5b1f-4e3d-9a7c-2f6b1d0e4c3a}{c3b2a190-7e6d-4f5c-8b4a-1d2e3f405162}', type: 'extensible-virtual-disk' },
];

const MANIFEST: SetupManifest = {
  directories: ['C:\\data\\rw', 'C:\\data\\ro', 'C:\\data\\logs'],
  files: { 'C:\\data\\cfg\\app.json': '{}', 'C:\\data\\cfg\\secrets.json': '{}' },
  vhdx: { 'C:\\disks\\data.vhdx': 64 * 2 ** 20 },
  physicalDrives: [2],
};

function spec(scratch: string, mounts: OciMount[], hyperv: boolean): OciSpec {
  return {
    ociVersion: '1.1.0',
    mounts,
    windows: { layerFolders: [...LAYERS, `C:\\layers\\${scratch}`], ...(hyperv ? { hyperv: {} } : {}) },
  };
}

class Bench {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-bench-alloc-'));
  private uvms = 0;

  async host(latency: LatencyOptions = {}): Promise<SimulatedHost> {
    const host = new SimulatedHost({ root: this.root, stateDir: false, latency });
    await setupMachine(host, spec('scratch', [], false) as Record<string, unknown>, MANIFEST);
    return host;
  }

  uvm(host: SimulatedHost): Promise<UtilityVm> {
    return host.createUtilityVm({ id: `bench${++this.uvms}@vm` });
  }

  dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A runtime's machine: every container gets a new scratch folder beside the earlier ones. */
class FreshScratch {
  private containers = 0;
  /** Per container, ms inside MkdirAll and CreateSandboxLayer: the calls that create real files. */
  readonly filesMs: number[] = [];
  private readonly timed: SimulatedHost;

  private constructor(
    private readonly bench: Bench,
    host: SimulatedHost,
    private readonly uvm: UtilityVm,
  ) {
    // The host with just those two calls timed (a proxy around every call would cost more than they do).
    this.timed = Object.create(host) as SimulatedHost;
    this.timed.mkdirAll = (p) => this.time(() => host.mkdirAll(p));
    this.timed.createSandboxLayer = (p, parents) => this.time(() => host.createSandboxLayer(p, parents));
  }

  private async time(call: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    try {
      await call();
    } finally {
      this.filesMs[this.filesMs.length - 1]! += performance.now() - t0;
    }
  }

  static async open(): Promise<FreshScratch> {
    const bench = new Bench();
    const host = await bench.host();
    return new FreshScratch(bench, host, await bench.uvm(host));
  }

  /** The next container's allocate + release, ms. */
  async next(): Promise<number> {
    const id = `fresh${++this.containers}`;
    this.filesMs.push(0);
    return (await cycle(this.timed, this.uvm, id, spec(id, MIXED_MOUNTS, true))).total;
  }

  dispose(): void {
    this.bench.dispose();
  }
}

/**
 * Time spent inside the host's and the UVM's methods, summed: the simulated model's
 * own cost (file-system look-ups, call records), which a real HCS replaces with
 * 1–120 ms per call. A cycle's time minus this is the engine's overhead.
 */
class HostClock {
  ms = 0;

  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const t0 = performance.now();
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          } finally {
            this.ms += performance.now() - t0;
          }
        };
      },
    });
  }
}

interface Cycle {
  /** allocate + release, ms */
  total: number;
  /** of which inside the host model, ms */
  host: number;
}

/** One allocate + release. */
async function cycle(host: SimulatedHost, uvm: UtilityVm | undefined, id: string, s: OciSpec, clock?: HostClock): Promise<Cycle> {
  const before = clock?.ms ?? 0;
  const t0 = performance.now();
  const h = clock ? clock.wrap<SimulatedHost>(host) : host;
  const a = await allocateWindowsResources({ id, spec: s, host: h, ...(uvm === undefined ? {} : { uvm }) });
  await a.resources.release({ all: true });
  return { total: performance.now() - t0, host: (clock?.ms ?? 0) - before };
}

/** Medians over `n` cycles after `warmup` (the first cycle creates sandbox.vhdx). */
async function medianCycle(host: SimulatedHost, uvm: UtilityVm | undefined, s: OciSpec, n: number, warmup = 20): Promise<{ total: number; engine: number }> {
  const clock = new HostClock();
  const u = uvm === undefined ? undefined : clock.wrap(uvm);
  const totals: number[] = [];
  const engine: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const c = await cycle(host, u, `c${i}`, s, clock);
    if (i >= warmup) {
      totals.push(c.total);
      engine.push(c.total - c.host);
    }
  }
  return { total: median(totals), engine: median(engine) };
}

/**
 * Cycles 6-15 of one history and 991-1000 of another, alternating, so that a change in
 * this machine's load (other processes) hits both alike; `late` lists all 1000 of its cycles.
 */
async function tenthAndThousandth(early: () => Promise<number>, late: () => Promise<number>): Promise<{ at10: number; at1000: number; late: number[] }> {
  const lateCycles: number[] = [];
  for (let i = 0; i < 990; i++) lateCycles.push(await late());
  for (let i = 0; i < 5; i++) await early();
  const at10: number[] = [];
  const at1000: number[] = [];
  for (let i = 0; i < 10; i++) {
    at10.push(await early());
    at1000.push(await late());
  }
  lateCycles.push(...at1000);
  return { at10: median(at10), at1000: median(at1000), late: lateCycles };
}

export async function benchAllocation(): Promise<BenchRow[]> {
  const b = new Bench();
  try {
    const rows: BenchRow[] = [];
    const zero = await b.host();

    const processMs = await medianCycle(zero, undefined, spec('scratch-p', [], false), 200);
    rows.push({ name: 'allocate+release, process-isolated, 3 layers', value: processMs.total, unit: 'ms', note: 'median of 200, zero latency, host model included' });
    rows.push({ name: '  of which engine (host model excluded)', value: processMs.engine, unit: 'ms', note: 'median of 200' });

    const hvSpec = spec('scratch-h', MIXED_MOUNTS, true);
    const hyperv = await medianCycle(zero, await b.uvm(zero), hvSpec, 200);
    rows.push({ name: 'allocate+release, hyperv, 3 layers + 10 mounts', value: hyperv.total, unit: 'ms', note: 'median of 200, zero latency, host model included' });
    rows.push({ name: '  of which engine (host model excluded)', value: hyperv.engine, unit: 'ms', note: 'median of 200', target: { op: '<=', value: 1 } });

    // One UVM's history (share-name and mount counters, call log) must not make later containers dearer.
    const shortUvm = await b.uvm(zero);
    const longUvm = await b.uvm(zero);
    let containers = 0;
    const history = await tenthAndThousandth(
      async () => (await cycle(zero, shortUvm, `long${++containers}`, hvSpec)).total,
      async () => (await cycle(zero, longUvm, `long${++containers}`, hvSpec)).total,
    );
    rows.push({ name: 'hyperv cycle near the 10th in one UVM', value: history.at10, unit: 'ms', note: 'median of cycles 6-15' });
    rows.push({ name: 'hyperv cycle near the 1000th in one UVM', value: history.at1000, unit: 'ms', note: 'median of cycles 991-1000' });
    rows.push({ name: '1000th / 10th', value: history.at1000 / history.at10, unit: 'x', note: 'same run, two UVMs alternating', target: { op: '<=', value: 1.5 } });

    // What a runtime does: every container gets a new scratch folder (MkdirAll + a new
    // sandbox.vhdx), and the folders stay side by side in C:\layers. The model's look-ups
    // must not read that growing directory: the 1000th container costs what the 10th does.
    const early = await FreshScratch.open();
    const late = await FreshScratch.open();
    try {
      const fresh = await tenthAndThousandth(() => early.next(), () => late.next());
      rows.push({ name: 'hyperv cycle, fresh scratch per container', value: median(fresh.late.slice(20)), unit: 'ms', note: 'median of cycles 21-1000, zero latency', target: { op: '<=', value: 2 } });
      rows.push({ name: '  fresh scratch: of which MkdirAll + CreateSandboxLayer', value: median(late.filesMs.slice(20)), unit: 'ms', note: 'median of cycles 21-1000: the folder and sandbox.vhdx, real files on this file system' });
      rows.push({ name: '  fresh scratch: cycle near the 10th', value: fresh.at10, unit: 'ms', note: 'median of cycles 6-15' });
      rows.push({ name: '  fresh scratch: cycle near the 1000th', value: fresh.at1000, unit: 'ms', note: 'median of cycles 991-1000, 1000 scratch folders side by side' });
      rows.push({ name: '  fresh scratch: 1000th / 10th', value: fresh.at1000 / fresh.at10, unit: 'x', note: 'same run, two machines alternating', target: { op: '<=', value: 1.2 } });
    } finally {
      early.dispose();
      late.dispose();
    }

    // Latency model: what concurrency buys when every call waits like the real services.
    const slow = await b.host({ hostCallMs: 5, guestRequestMs: 50 });
    const soloUvm = await b.uvm(slow);
    const t0 = performance.now();
    await allocateWindowsResources({ id: 'solo', spec: spec('scratch-solo', [], true), host: slow, uvm: soloUvm });
    const solo = performance.now() - t0;
    const sharedUvm = await b.uvm(slow);
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => allocateWindowsResources({ id: `par${i}`, spec: spec(`scratch-par${i}`, [], true), host: slow, uvm: sharedUvm })),
    );
    const wall = performance.now() - t1;
    rows.push({ name: 'latency model: one hyperv container', value: solo, unit: 'ms', note: '5 ms per host call, 50 ms per guest request' });
    rows.push({ name: 'latency model: 20 concurrent into one UVM', value: wall, unit: 'ms', note: 'wall time' });
    rows.push({ name: 'latency model: overlap (20 x one / wall)', value: (20 * solo) / wall, unit: 'x', note: '1 = fully serial, 20 = fully overlapped' });
    return rows;
  } finally {
    b.dispose();
  }
}
