// createVhdx against qemu-img, side by side in one run. A Node process cannot
// beat qemu-img as a whole process (node's own startup is ~100 ms), so the
// comparison is our in-process create against qemu-img's work above its own
// startup floor (`qemu-img --version`); both raw numbers are reported too.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createVhdx } from '../lib/vhdx/index';
import { median, type BenchRow } from './table';

const ITERATIONS = 30;
const SIZE = 20 * 1024 ** 3;

function qemuImg(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('qemu-img', args, { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error || r.status !== 0) throw new Error(`qemu-img ${args.join(' ')} failed: ${r.error?.message ?? `exit ${r.status}`}`);
  return ms;
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
    const ours = path.join(dir, 'ours.vhdx');
    const theirs = path.join(dir, 'qemu.vhdx');
    const samples = { flush: [] as number[], noFlush: [] as number[], qemu: [] as number[], floor: [] as number[] };
    // One untimed round first: loads the addon, warms the page cache and qemu-img's binary.
    for (let i = -1; i < ITERATIONS; i++) {
      // Every create makes a new file: replacing one costs ext4 a forced
      // allocation (auto_da_alloc) that neither tool should be charged for.
      for (const f of [ours, theirs]) fs.rmSync(f, { force: true });
      const flush = await timed(() => createVhdx(ours, { sizeBytes: SIZE }));
      fs.rmSync(ours);
      const noFlush = await timed(() => createVhdx(ours, { sizeBytes: SIZE, flush: false }));
      const qemu = qemuImg(['create', '-q', '-f', 'vhdx', theirs, '20G']);
      const floor = qemuImg(['--version']);
      if (i < 0) continue;
      samples.flush.push(flush);
      samples.noFlush.push(noFlush);
      samples.qemu.push(qemu);
      samples.floor.push(floor);
    }
    const flush = median(samples.flush);
    const qemu = median(samples.qemu);
    const floor = median(samples.floor);
    const above = qemu - floor;
    const n = `median of ${ITERATIONS}`;
    return [
      { name: 'vhdx: createVhdx 20 GiB, flushed', value: flush, unit: 'ms', note: `${n}, in-process, fsync file + directory (qemu-img: 3 fdatasync)` },
      { name: 'vhdx: createVhdx 20 GiB, flush: false', value: median(samples.noFlush), unit: 'ms', note: `${n}, in-process` },
      { name: 'vhdx: qemu-img create -f vhdx 20G', value: qemu, unit: 'ms', note: `${n}, whole process` },
      { name: 'vhdx: qemu-img --version (startup floor)', value: floor, unit: 'ms', note: `${n}, whole process` },
      { name: 'vhdx: qemu-img create above its floor', value: above, unit: 'ms', note: 'create − floor (medians)' },
      {
        name: 'vhdx: qemu work above floor ÷ ours (flushed)',
        value: above / flush,
        unit: '×',
        note: above / flush >= 10 ? 'target ≥ 10×: met' : 'target ≥ 10×: NOT met',
      },
      { name: 'vhdx: allocated bytes, ours', value: allocatedBytes(ours), unit: 'B', note: 'st_blocks × 512, empty 20 GiB disk' },
      { name: 'vhdx: allocated bytes, qemu-img', value: allocatedBytes(theirs), unit: 'B', note: 'st_blocks × 512, empty 20 GiB disk' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
