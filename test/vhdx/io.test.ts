import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createVhdx, inspectVhdx, readVhdx, writeVhdx } from '../../lib/index';
import { overlay, rejectsWith } from './support';
import { MiB, ok, pattern, qemuIo, tempDir } from './tools';

const SIZE = 64 * MiB;

describe('vhdx: readVhdx / writeVhdx on dynamic disks', () => {
  let t: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(async () => {
    t = tempDir();
    file = path.join(t.dir, 'd.vhdx');
    await createVhdx(file, { sizeBytes: SIZE });
  });
  afterEach(() => t.cleanup());

  it('reads back what qemu-io wrote: block start, across a block boundary, odd sectors, the last sector', async () => {
    const writes: Array<[number, Buffer]> = [
      [0, pattern(0xab, 64 * 1024)],
      [MiB - 4096, pattern(0xcd, 8192)],
      [5 * MiB + 512, pattern(0xef, 3 * 512)],
      [SIZE - 512, pattern(0x5a, 512)],
      [20 * MiB, pattern(0x77, 3 * MiB)],
    ];
    for (const [offset, data] of writes) {
      assert.equal(qemuIo(file, `write -P 0x${data[0]!.toString(16)} ${offset} ${data.length}`).status, 0);
    }
    for (const [offset, data] of writes) {
      assert.ok((await readVhdx(file, offset, data.length)).equals(data), `bytes at ${offset}`);
    }
    const whole = await readVhdx(file, 0, SIZE);
    assert.ok(whole.equals(overlay(Buffer.alloc(SIZE), writes)));
  });

  it('what writeVhdx wrote reads back through qemu-io, which notices a wrong pattern; qemu-img check stays clean', async () => {
    const writes: Array<[number, Buffer]> = [
      [0, pattern(0x31, 4096)],
      [3 * MiB - 100, pattern(0x32, 300)], // unaligned, across a block boundary
      [10 * MiB, pattern(0x33, 2 * MiB + 512)], // several blocks
      [SIZE - MiB, pattern(0x34, MiB)],
      [40 * MiB + 7, pattern(0x35, 1)],
    ];
    for (const [offset, data] of writes) await writeVhdx(file, offset, data);
    ok('qemu-img', ['check', file]);
    for (const [offset, data] of writes) {
      const r = qemuIo(file, `read -P 0x${data[0]!.toString(16)} ${offset} ${data.length}`);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
    assert.equal(qemuIo(file, `read -P 0x99 0 4096`).status, 1, 'qemu-io must fail on a wrong pattern');
    assert.equal(qemuIo(file, `read -P 0 ${3 * MiB + 200} 512`).status, 0, 'neighbouring bytes stay zero');
    const raw = path.join(t.dir, 'd.raw');
    ok('qemu-img', ['convert', '-f', 'vhdx', '-O', 'raw', file, raw]);
    assert.ok(fs.readFileSync(raw).equals(overlay(Buffer.alloc(SIZE), writes)));
  });

  it('unallocated ranges read as zeros and allocate nothing', async () => {
    const before = fs.statSync(file).size;
    assert.ok((await readVhdx(file, 7 * MiB, 2 * MiB)).equals(Buffer.alloc(2 * MiB)));
    assert.equal(fs.statSync(file).size, before);
  });

  it('a write allocates whole blocks at the 1 MiB-aligned end of the file and marks them FULLY_PRESENT', async () => {
    await writeVhdx(file, 2 * MiB + 10, pattern(1, 10));
    await writeVhdx(file, 2 * MiB + 4096, pattern(2, 10)); // same block: no new allocation
    await writeVhdx(file, 9 * MiB - 1, pattern(3, 2)); // blocks 8 and 9
    assert.equal(fs.statSync(file).size, 4 * MiB + 3 * MiB);
    const info = await inspectVhdx(file);
    assert.equal(info.bat.byState.fullyPresent, 3);
    assert.equal(info.bat.byState.notPresent, 61);
  });

  it('each write begins with a new header in the other slot: sequence + 1, new FileWriteGuid and DataWriteGuid', async () => {
    const before = await inspectVhdx(file);
    await writeVhdx(file, 0, pattern(9, 512));
    const after = await inspectVhdx(file);
    assert.deepEqual(after.headers.map((h) => [h.sequenceNumber, h.current]), [[2, true], [1, false]]);
    assert.notEqual(after.dataWriteGuid, before.dataWriteGuid);
    assert.notEqual(after.fileWriteGuid, before.fileWriteGuid);
    assert.equal(after.diskId, before.diskId);
  });

  it('concurrent writes to one file from one process all land', async () => {
    const writes: Array<[number, Buffer]> = Array.from({ length: 8 }, (_, i) => [i * 5 * MiB + 100, pattern(0x40 + i, 4096)]);
    await Promise.all(writes.map(([offset, data]) => writeVhdx(file, offset, data)));
    ok('qemu-img', ['check', file]);
    assert.ok((await readVhdx(file, 0, SIZE)).equals(overlay(Buffer.alloc(SIZE), writes)));
    assert.equal((await inspectVhdx(file)).bat.byState.fullyPresent, 8);
  });

  it('ranges past the end of the disk and bad arguments are ERR_INVALID_ARGUMENT', async () => {
    await rejectsWith(readVhdx(file, SIZE - 512, 1024), 'ERR_INVALID_ARGUMENT', /runs past the end of the virtual disk/);
    await rejectsWith(writeVhdx(file, SIZE, pattern(1, 1)), 'ERR_INVALID_ARGUMENT', /runs past the end/);
    await rejectsWith(readVhdx(file, -1, 1), 'ERR_INVALID_ARGUMENT', /offset must be a non-negative integer/);
    await rejectsWith(writeVhdx(file, 0, 'text' as unknown as Uint8Array), 'ERR_INVALID_ARGUMENT', /Uint8Array/);
    await rejectsWith(readVhdx(path.join(t.dir, 'none.vhdx'), 0, 1), 'ERR_IO', /ENOENT/);
  });
});
