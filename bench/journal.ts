// What the crash journal (docs/differences.md#difference-8) adds to one allocation: the same allocate +
// release with and without `journal`, zero host latency, so the difference is the journal's
// own cost — its file, its writes and its flushes (lib/resources/journal/README.md "Cost") —
// for a hypervisor-isolated container (everything inside the UVM: written, never flushed), a
// process-isolated one (the layer activation and preparation live on the host: flushed before
// each call) and 20 containers at once in one UVM.

import * as fs from 'node:fs';
import nodeFs = require('node:fs');
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { allocateWindowsResources } from '../lib/allocate';
import { setupMachine } from '../lib/cli/machine';
import { SimulatedHost } from '../lib/host/simulated';
import type { UtilityVm } from '../lib/host/types';
import type { OciSpec } from '../lib/oci/types';
import { median, type BenchRow } from './table';

const RUNS = 200;

const LAYERS = [
  'C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e',
  'C:\\layers\\7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62',
  'C:\\layers\\f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e',
];

const SPEC: OciSpec = {
  ociVersion: '1.1.0',
  mounts: [
    { destination: 'C:\\rw', source: 'C:\\data\\rw' },
    { destination: 'C:\\ro', source: 'C:\\data\\ro', options: ['ro'] },
    { destination: 'C:\\app\\app.json', source: 'C:\\data\\cfg\\app.json', options: ['ro'] },
    { destination: '\\\\.\\pipe\\bar', source: '\\\\.\\pipe\\foo' },
    { destination: 'C:\\vd', source: 'C:\\disks\\data.vhdx', type: 'virtual-disk', options: ['ro'] },
  ],
  windows: { layerFolders: [...LAYERS, 'C:\\layers\\scratch-journal'], hyperv: {} },
};

/** Process isolation: ActivateLayer and PrepareLayer of the scratch, host-side acquisitions. */
const ARGON: OciSpec = { ociVersion: '1.1.0', windows: { layerFolders: [...LAYERS, 'C:\\layers\\scratch-argon'] } };

/** One of `n` containers allocated at once into one UVM: its own scratch and pipe, the shares in common. */
function concurrentSpec(i: number): OciSpec {
  const spec = structuredClone(SPEC);
  spec.windows!.layerFolders = [...LAYERS, `C:\\layers\\scratch-many${i}`];
  spec.mounts = spec.mounts!.map((m) => (m.source === '\\\\.\\pipe\\foo' ? { ...m, source: `\\\\.\\pipe\\many${i}` } : m));
  return spec;
}

const CONCURRENT = 20;
const CONCURRENT_RUNS = 30;
const TARGET_ONE = { op: '<=', value: 1 } as const;
const TARGET_EACH = { op: '<=', value: 0.3 } as const;

/**
 * Median times of `run` without and with the journal: warmed up on both paths (scratch
 * creation, JIT), then alternating so drift hits both alike.
 */
async function alternate(run: (withJournal: boolean) => Promise<number>, warmup: number, runs: number): Promise<[number, number]> {
  for (let i = 0; i < warmup; i++) await run(i % 2 === 0);
  const plain: number[] = [];
  const journaled: number[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await run(false));
    journaled.push(await run(true));
  }
  return [median(plain), median(journaled)];
}

type CallbackApi = (...args: unknown[]) => void;

/**
 * How many flushes (fdatasync of a journal, fsync of its directory) `fn` makes: the fs
 * module object's callback API, which the journal flushes with (every `import * as fs`
 * sees the replacement).
 */
async function countFlushes(fn: () => Promise<unknown>): Promise<number> {
  const mutable = nodeFs as unknown as Record<'fdatasync' | 'fsync', CallbackApi>;
  const { fdatasync, fsync } = mutable;
  let n = 0;
  const counting = (api: CallbackApi): CallbackApi =>
    function (this: unknown, ...args: unknown[]) {
      n++;
      api.apply(this, args);
    };
  mutable.fdatasync = counting(fdatasync);
  mutable.fsync = counting(fsync);
  try {
    await fn();
  } finally {
    Object.assign(mutable, { fdatasync, fsync });
  }
  return n;
}

/**
 * What one flush of a journal record costs on this disk: a record written into a
 * preallocated file (as the journal writes it), then fdatasync — the floor under each flushed
 * acquisition of a process-isolated container, which waits for two of them in turn.
 */
async function flushLatency(dir: string, runs: number): Promise<number> {
  const file = path.join(dir, 'flush-probe');
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.writeSync(fd, Buffer.alloc(16 * 1024));
    fs.fdatasyncSync(fd);
    const times: number[] = [];
    const record = Buffer.from('{"t":"acquire","n":1,"at":0,"undo":{"op":"layer.deactivate","path":"C:\\\\layers\\\\scratch"}}\n');
    for (let i = 0; i < runs; i++) {
      fs.writeSync(fd, record, 0, record.length, (i * record.length) % 8192);
      const t = performance.now();
      await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
      times.push(performance.now() - t);
    }
    return median(times);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

export async function benchJournal(): Promise<BenchRow[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-bench-journal-'));
  try {
    const host = new SimulatedHost({ root, stateDir: false });
    await setupMachine(host, SPEC as Record<string, unknown>, {
      directories: ['C:\\data\\rw', 'C:\\data\\ro'],
      files: { 'C:\\data\\cfg\\app.json': '{}' },
      vhdx: { 'C:\\disks\\data.vhdx': 64 * 2 ** 20 },
    });
    const journal = path.join(root, 'journal');
    const cycleOf = (spec: OciSpec, uvm: UtilityVm | undefined) => async (withJournal: boolean): Promise<number> => {
      const t = performance.now();
      const a = await allocateWindowsResources({ id: 'j1', spec, host, ...(uvm !== undefined && { uvm }), ...(withJournal && { journal }) });
      await a.resources.release({ all: true });
      return performance.now() - t;
    };
    const uvm = await host.createUtilityVm({ id: 'journal@vm' });
    const hyperv = cycleOf(SPEC, uvm);
    const [p, j] = await alternate(hyperv, 10, RUNS);
    host.clearCalls();
    const hypervFlushes = await countFlushes(() => hyperv(true));
    const mutating = host.calls.filter((c) => c.mutating).length;

    const argon = cycleOf(ARGON, undefined);
    const [argonPlain, argonJournaled] = await alternate(argon, 10, RUNS);
    const argonFlushes = await countFlushes(() => argon(true));
    const flush = await flushLatency(root, 50);

    // 20 containers allocating and releasing at once in one UVM: what each pays.
    const many = await host.createUtilityVm({ id: 'many@vm' });
    const specs = Array.from({ length: CONCURRENT }, (_, i) => concurrentSpec(i));
    const together = async (withJournal: boolean): Promise<number> => {
      const t = performance.now();
      await Promise.all(
        specs.map(async (spec, i) => {
          const a = await allocateWindowsResources({ id: `m${i}`, spec, host, uvm: many, ...(withJournal && { journal }) });
          await a.resources.release({ all: true });
        }),
      );
      return performance.now() - t;
    };
    const [plainMany, journaledMany] = await alternate(together, 4, CONCURRENT_RUNS);

    const one = j - p;
    const each = (journaledMany - plainMany) / CONCURRENT;
    const note = `median of ${RUNS}, zero latency, journal in ${os.tmpdir()}`;
    return [
      { name: 'journal: hyperv allocate+release without journal', value: p, unit: 'ms', note },
      { name: 'journal: hyperv allocate+release with journal', value: j, unit: 'ms', note },
      {
        name: 'journal: added cost per allocate+release, hyperv',
        value: one,
        unit: 'ms',
        target: TARGET_ONE,
        note: `${mutating} state-changing HCS calls protected; ${hypervFlushes} flushes per cycle`,
      },
      { name: 'journal: added cost per protected call', value: one / mutating, unit: 'ms', note: 'each call 1–120 ms on a real host' },
      {
        name: 'journal: added cost per allocate+release, process-isolated',
        value: argonJournaled - argonPlain,
        unit: 'ms',
        target: TARGET_ONE,
        note: `median of ${RUNS}; ${argonFlushes} flushes per cycle (fdatasync, directory fsync)`,
      },
      { name: 'journal: one flush of a record on this disk', value: flush, unit: 'ms', note: 'median of 50: write(2) into a preallocated file, then fdatasync' },
      {
        name: 'journal: process-isolated cost above its 2 waited flushes',
        value: argonJournaled - argonPlain - 2 * flush,
        unit: 'ms',
        note: 'ActivateLayer, then PrepareLayer, each waits for its record on disk',
      },
      {
        name: `journal: added cost per container, ${CONCURRENT} concurrent`,
        value: each,
        unit: 'ms',
        target: TARGET_EACH,
        note: `median of ${CONCURRENT_RUNS} rounds of ${CONCURRENT} hyperv containers in one UVM`,
      },
      { name: `journal: one container's cost over each of ${CONCURRENT} concurrent`, value: one / each, unit: 'x', note: 'what concurrent containers share' },
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
