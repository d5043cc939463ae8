// What the crash journal (DESIGN difference 8) adds to one allocation: the same
// hypervisor-isolated allocate + release with and without `journal`, zero host latency, so
// the difference is the journal's own cost — its writes and the fsync before each
// acquisition — next to the number of HCS calls it protects (each 1–120 ms on a real host).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { allocateWindowsResources } from '../lib/allocate';
import { setupMachine } from '../lib/cli/machine';
import { SimulatedHost } from '../lib/host/simulated';
import type { OciSpec } from '../lib/spec/types';
import { median, type BenchRow } from './table';

const RUNS = 200;

const SPEC: OciSpec = {
  ociVersion: '1.1.0',
  mounts: [
    { destination: 'C:\\rw', source: 'C:\\data\\rw' },
    { destination: 'C:\\ro', source: 'C:\\data\\ro', options: ['ro'] },
    { destination: 'C:\\app\\app.json', source: 'C:\\data\\cfg\\app.json', options: ['ro'] },
    { destination: '\\\\.\\pipe\\bar', source: '\\\\.\\pipe\\foo' },
    { destination: 'C:\\vd', source: 'C:\\disks\\data.vhdx', type: 'virtual-disk', options: ['ro'] },
  ],
  windows: {
    layerFolders: [
      'C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e',
      'C:\\layers\\7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62',
      'C:\\layers\\f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e',
      'C:\\layers\\scratch-journal',
    ],
    hyperv: {},
  },
};

export async function benchJournal(): Promise<BenchRow[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-bench-journal-'));
  try {
    const host = new SimulatedHost({ root, stateDir: false });
    await setupMachine(host, SPEC as Record<string, unknown>, {
      directories: ['C:\\data\\rw', 'C:\\data\\ro'],
      files: { 'C:\\data\\cfg\\app.json': '{}' },
      vhdx: { 'C:\\disks\\data.vhdx': 64 * 2 ** 20 },
    });
    const uvm = await host.createUtilityVm({ id: 'journal@vm' });
    const journal = path.join(root, 'journal');
    const cycle = async (withJournal: boolean): Promise<number> => {
      const t = performance.now();
      const a = await allocateWindowsResources({ id: 'j1', spec: SPEC, host, uvm, ...(withJournal && { journal }) });
      await a.resources.release({ all: true });
      return performance.now() - t;
    };
    // Warm up both paths (scratch creation, JIT), then alternate so drift hits both alike.
    for (let i = 0; i < 10; i++) await cycle(i % 2 === 0);
    const plain: number[] = [];
    const journaled: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      plain.push(await cycle(false));
      journaled.push(await cycle(true));
    }
    const from = host.calls.length;
    await cycle(false);
    const mutating = host.calls.slice(from).filter((c) => c.mutating).length;
    // Acquisitions are what is flushed: count them from one journal kept on disk.
    const a = await allocateWindowsResources({ id: 'j1', spec: SPEC, host, uvm, journal });
    const [file] = fs.readdirSync(journal);
    const flushes = fs
      .readFileSync(path.join(journal, file as string), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"t":"owner"') || l.startsWith('{"t":"acquire"')).length;
    await a.resources.release({ all: true });

    const p = median(plain);
    const j = median(journaled);
    const note = `median of ${RUNS}, zero latency, journal in ${os.tmpdir()}`;
    return [
      { name: 'journal: hyperv allocate+release without journal', value: p, unit: 'ms', note },
      { name: 'journal: hyperv allocate+release with journal', value: j, unit: 'ms', note },
      { name: 'journal: added cost per allocate+release', value: j - p, unit: 'ms', note: `${flushes} fsyncs (owner + acquisitions)` },
      { name: 'journal: state-changing HCS calls it protects', value: mutating, unit: 'calls', note: 'each 1–120 ms on a real host' },
      { name: 'journal: added cost per protected call', value: (j - p) / mutating, unit: 'ms' },
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
