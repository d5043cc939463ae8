// createVhdx against its physical floor and against qemu-img, side by side in
// one run. The floor is bench/vhdx-floor.c, built here: the same non-zero
// bytes and the same flushes in C with nothing else, timed inside its own
// process. A Node process cannot beat qemu-img as a whole process (node's own
// startup is ~100 ms), so the qemu comparison is our in-process create against
// qemu-img's work above its own startup floor (`qemu-img --version`).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createVhdx } from '../lib/vhdx/index';
import { median, type BenchRow } from './table';

const ITERATIONS = 30;
const SIZE = 20 * 1024 ** 3;
const FLOOR_SOURCE = path.join(__dirname, '..', '..', 'bench', 'vhdx-floor.c');

function spawnTimed(tool: string, args: string[]): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error || r.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} failed: ${r.error?.message ?? `exit ${r.status}: ${r.stderr}`}`);
  }
  return { ms, stdout: r.stdout };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function allocatedBytes(file: string): number {
  return fs.statSync(file).blocks * 512;
}

export async function benchVhdx(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-bench-vhdx-'));
  try {
    const floorBin = path.join(dir, 'vhdx-floor');
    spawnTimed('cc', ['-O2', '-o', floorBin, FLOOR_SOURCE]);
    const template = path.join(dir, 'template.vhdx');
    await createVhdx(template, { sizeBytes: SIZE, flush: false });
    const floorDir = path.join(dir, 'floor');
    fs.mkdirSync(floorDir);
    /** One timed round of the floor program (after its own untimed one). */
    const floor = (flush: boolean): number =>
      Number(spawnTimed(floorBin, [template, floorDir, '1', flush ? '1' : '0']).stdout.trim());

    const ours = path.join(dir, 'ours.vhdx');
    const warm = path.join(dir, 'warm.vhdx');
    const theirs = path.join(dir, 'qemu.vhdx');
    /** One untimed create (and its unlink): what the floor does before its timed round. */
    const untimed = async (flush: boolean): Promise<void> => {
      await createVhdx(warm, { sizeBytes: SIZE, flush });
      fs.rmSync(warm);
    };
    const s = {
      flush: [] as number[],
      cold: [] as number[],
      noFlush: [] as number[],
      floor: [] as number[],
      floorNoFlush: [] as number[],
      qemu: [] as number[],
      qemuStart: [] as number[],
    };
    // One untimed round first: loads the addon, warms the page cache and qemu-img's binary.
    // Each timed create follows the same disk and cache state for both contenders: the
    // floor's timed round follows its own untimed one (one flushed file unlinked), ours
    // follows an untimed create of ours. `cold` is ours straight after the floor's process
    // ran instead: event loop and thread pool idle, caches another process's (README
    // "Benchmarks"). Every create makes a new file: replacing one costs ext4 a forced
    // allocation (auto_da_alloc).
    for (let i = -1; i < ITERATIONS; i++) {
      const floorFlush = floor(true);
      const cold = await timed(() => createVhdx(ours, { sizeBytes: SIZE }));
      fs.rmSync(ours);
      await untimed(true);
      const flush = await timed(() => createVhdx(ours, { sizeBytes: SIZE }));
      fs.rmSync(ours);
      const floorNoFlush = floor(false);
      await untimed(false);
      const noFlush = await timed(() => createVhdx(ours, { sizeBytes: SIZE, flush: false }));
      fs.rmSync(ours);
      const qemu = spawnTimed('qemu-img', ['create', '-q', '-f', 'vhdx', theirs, '20G']).ms;
      if (i < ITERATIONS - 1) fs.rmSync(theirs);
      const qemuStart = spawnTimed('qemu-img', ['--version']).ms;
      if (i < 0) continue;
      s.flush.push(flush);
      s.cold.push(cold);
      s.noFlush.push(noFlush);
      s.floor.push(floorFlush);
      s.floorNoFlush.push(floorNoFlush);
      s.qemu.push(qemu);
      s.qemuStart.push(qemuStart);
    }
    await createVhdx(ours, { sizeBytes: SIZE });
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, median(v)])) as Record<keyof typeof s, number>;
    const above = m.qemu - m.qemuStart;
    const n = `median of ${ITERATIONS}`;
    return [
      { name: 'vhdx: createVhdx 20 GiB, flushed', value: m.flush, unit: 'ms', note: `${n}, in-process, fsync file + directory, after an untimed create` },
      { name: 'vhdx: physical floor, flushed', value: m.floor, unit: 'ms', note: `${n}, C: open, ftruncate, same bytes, fsync, link, fsync dir` },
      { name: 'vhdx: createVhdx ÷ physical floor, flushed', value: m.flush / m.floor, unit: 'x', target: { op: '<=', value: 1.25 }, note: 'same run, each after its own untimed round' },
      { name: 'vhdx: createVhdx ÷ floor, cold', value: m.cold / m.floor, unit: 'x', note: `ours straight after the floor's process (${m.cold.toFixed(3)} ms): one cold thread-pool round trip` },
      { name: 'vhdx: createVhdx 20 GiB, flush: false', value: m.noFlush, unit: 'ms', note: `${n}, in-process` },
      { name: 'vhdx: physical floor, flush: false', value: m.floorNoFlush, unit: 'ms', note: `${n}, C, no fsync` },
      { name: 'vhdx: software overhead above the floor', value: m.noFlush - m.floorNoFlush, unit: 'ms', note: 'flush: false, ours − floor (medians)' },
      { name: 'vhdx: qemu-img create -f vhdx 20G', value: m.qemu, unit: 'ms', note: `${n}, whole process (3 fdatasync)` },
      { name: 'vhdx: qemu-img --version (startup floor)', value: m.qemuStart, unit: 'ms', note: `${n}, whole process` },
      { name: 'vhdx: qemu-img create above its floor', value: above, unit: 'ms', note: 'create − --version (medians)' },
      { name: 'vhdx: qemu work above floor ÷ ours (flushed)', value: above / m.flush, unit: 'x', target: { op: '>=', value: 2.5 } },
      { name: 'vhdx: allocated bytes, ours', value: allocatedBytes(ours), unit: 'B', note: 'st_blocks × 512, empty 20 GiB disk' },
      { name: 'vhdx: allocated bytes, qemu-img', value: allocatedBytes(theirs), unit: 'B', note: 'st_blocks × 512, empty 20 GiB disk' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
