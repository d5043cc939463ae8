// Files that lie (issue 15): BAT entries aimed at the file's own structures or
// at each other, offsets that wrap, chains that break mid-write, FIFOs where a
// file should be, sizes declared far beyond what the file holds.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDifferencingVhdx, createVhdx, expandVhdx, inspectVhdx, readVhdx, writeVhdx } from '../../lib/index';
import { overlay, rejectsWith } from './support';
import { bytesReadByProcess, GiB, KiB, MiB, ok, patchFile, pattern, reseal, tempDir } from './tools';

const HEADER_OFFSETS = [64 * KiB, 128 * KiB];
const REGION_TABLE_OFFSETS = [192 * KiB, 256 * KiB];
const LOG = MiB;
const METADATA = 2 * MiB;
const BAT = 3 * MiB;
const FULLY_PRESENT = 6n;
const TiB = 1024 * GiB;

function entry(offset: bigint, state: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(offset | state);
  return b;
}

/** Rewrites the headers or region tables of `file` through `edit`, checksums recomputed. */
function forge(file: string, offsets: number[], size: number, edit: (s: Buffer) => void): void {
  const image = fs.readFileSync(file);
  for (const at of offsets) {
    edit(image.subarray(at, at + size));
    reseal(image, at, size);
    patchFile(file, at, image.subarray(at, at + size));
  }
}

function mkfifo(file: string): void {
  const r = spawnSync('mkfifo', [file]);
  assert.equal(r.status, 0, `mkfifo ${file}: ${r.stderr}`);
}

/** Settles `p` or fails the test after `ms` (a hang must fail, not stall the suite). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens each FIFO's writing end until `pending` settle, so a reader stuck in open() returns. */
async function release(fifos: string[], pending: Array<Promise<unknown>>): Promise<void> {
  let settled = false;
  void Promise.allSettled(pending).then(() => (settled = true));
  for (let i = 0; i < 100 && !settled; i++) {
    for (const f of fifos) {
      try {
        fs.closeSync(fs.openSync(f, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // ENXIO: nobody is reading it right now.
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('vhdx: files that lie (issue 15)', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  describe('1. a BAT entry aimed at a structure or at another block', () => {
    let file: string;
    beforeEach(async () => {
      file = path.join(t.dir, 'd.vhdx');
      await createVhdx(file, { sizeBytes: GiB });
      await writeVhdx(file, 0, pattern(0x61, 4096)); // block 0 at 4 MiB
      await writeVhdx(file, 10 * MiB, pattern(0x62, 4096)); // block 10 at 5 MiB
    });

    const targets: Array<[string, number, RegExp]> = [
      ['the header section', 0, /the header section at 0 \(\+1048576\) overlaps BAT entry 3/],
      ['the log', LOG, /the log at 1048576 \(\+1048576\) overlaps BAT entry 3/],
      ['the metadata region', METADATA, /the metadata region at 2097152 \(\+1048576\) overlaps BAT entry 3/],
      ['the BAT region', BAT, /the BAT region at 3145728 \(\+1048576\) overlaps BAT entry 3/],
      ["block 0's space", 4 * MiB, /BAT entry 0 \(payload block 0\) at 4194304 \(\+1048576\) overlaps BAT entry 3/],
    ];
    for (const [name, target, message] of targets) {
      it(`pointing at ${name}: every write is ERR_VHDX_CORRUPT and no byte of the file changes`, async () => {
        patchFile(file, BAT + 8 * 3, entry(BigInt(target), FULLY_PRESENT));
        const before = fs.readFileSync(file);
        await rejectsWith(writeVhdx(file, 3 * MiB, pattern(0x77, 4096)), 'ERR_VHDX_CORRUPT', message);
        // A write elsewhere must not go ahead either: the file is known to lie.
        await rejectsWith(writeVhdx(file, 20 * MiB, pattern(0x78, 4096)), 'ERR_VHDX_CORRUPT', message);
        await rejectsWith(expandVhdx(file, 2 * GiB), 'ERR_VHDX_CORRUPT', message);
        await rejectsWith(readVhdx(file, 3 * MiB, 512), 'ERR_VHDX_CORRUPT', message);
        await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', message);
        assert.ok(fs.readFileSync(file).equals(before), 'the file is unchanged');
      });
    }

    it("a differencing disk's payload entry on its sector bitmap block: refused, unchanged", async () => {
      const child = path.join(t.dir, 'child.vhdx');
      await createDifferencingVhdx(child, { parentPath: file });
      await writeVhdx(child, 512, pattern(0x63, 512)); // payload at 4 MiB, then the sector bitmap at 5 MiB
      const info = await inspectVhdx(child);
      assert.deepEqual(info.bat.sectorBitmapBlocks, { present: 1, notPresent: 0 });
      patchFile(child, BAT + 8 * 1, entry(BigInt(5 * MiB), FULLY_PRESENT)); // payload block 1
      const before = fs.readFileSync(child);
      const message = /BAT entry 1 \(payload block 1\) at 5242880 \(\+1048576\) overlaps BAT entry 4096 \(sector bitmap block 0\)|BAT entry 4096 \(sector bitmap block 0\) at 5242880 \(\+1048576\) overlaps BAT entry 1/;
      await rejectsWith(writeVhdx(child, MiB, pattern(0x64, MiB)), 'ERR_VHDX_CORRUPT', message);
      await rejectsWith(writeVhdx(child, 8 * MiB, pattern(0x65, 512)), 'ERR_VHDX_CORRUPT', message);
      assert.ok(fs.readFileSync(child).equals(before), 'the file is unchanged');
    });

    it('offsets near 2^64 are refused, not wrapped into range (BAT entry, log, region)', async () => {
      const near = 0xfffffffffff00000n; // FileOffsetMB all ones: offset + 1 MiB wraps to 0
      patchFile(file, BAT + 8 * 3, entry(near, FULLY_PRESENT));
      await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /BAT entry 3 \(payload block 3\) at 18446744073708503040 \(\+1048576\) lies beyond the end of the file/);
      const before = fs.readFileSync(file);
      await rejectsWith(writeVhdx(file, 3 * MiB, pattern(0x79, 512)), 'ERR_VHDX_CORRUPT');
      assert.ok(fs.readFileSync(file).equals(before));
      patchFile(file, BAT + 8 * 3, Buffer.alloc(8));
      await inspectVhdx(file);

      forge(file, HEADER_OFFSETS, 4 * KiB, (h) => h.writeBigUInt64LE(near, 72)); // LogOffset
      await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /log at 18446744073708503040 \(\+1048576\) ends beyond the end of the file/);
      forge(file, HEADER_OFFSETS, 4 * KiB, (h) => h.writeBigUInt64LE(BigInt(LOG), 72));
      await inspectVhdx(file);

      forge(file, REGION_TABLE_OFFSETS, 64 * KiB, (r) => r.writeBigUInt64LE(near, 16 + 16)); // first entry (BAT) FileOffset
      await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /region \{2DC27766-F623-4200-9D64-115E9BFD4A08\} at 18446744073708503040 .* ends beyond the end of the file/);
    });
  });

  describe('2. a write into a chain that cannot finish', () => {
    const SIZE = 32 * MiB;
    let base: string;
    let child: string;
    let grandchild: string;
    let expected: Buffer;
    beforeEach(async () => {
      base = path.join(t.dir, 'base.vhdx');
      child = path.join(t.dir, 'child.vhdx');
      grandchild = path.join(t.dir, 'grandchild.vhdx');
      await createVhdx(base, { sizeBytes: SIZE });
      await writeVhdx(base, 0, pattern(0x11, 2 * MiB));
      await createDifferencingVhdx(child, { parentPath: base });
      await writeVhdx(child, MiB, pattern(0x12, 4096));
      await createDifferencingVhdx(grandchild, { parentPath: child });
      expected = overlay(Buffer.alloc(SIZE), [
        [0, pattern(0x11, 2 * MiB)],
        [MiB, pattern(0x12, 4096)],
      ]);
    });

    it('base moved away: writeVhdx(child) fails with ENOENT before any byte changes; the grandchild stays intact', async () => {
      const moved = path.join(t.dir, 'moved.vhdx');
      fs.renameSync(base, moved);
      const before = fs.readFileSync(child);
      // Unaligned (the edge sectors come from the parent) and aligned alike.
      for (const [offset, length] of [[100, 10], [0, 4096], [5 * MiB, MiB]] as const) {
        const err = await rejectsWith(writeVhdx(child, offset, pattern(0x21, length)), 'ERR_IO', /parent of .*child\.vhdx' not found/);
        assert.equal(err.errno, 'ENOENT');
        assert.ok(fs.readFileSync(child).equals(before), `write at ${offset}: the child is unchanged`);
      }
      fs.renameSync(moved, base);
      assert.ok((await readVhdx(grandchild, 0, SIZE)).equals(expected), 'the grandchild still reads through the chain');
      ok('7zz', ['t', grandchild]);
    });

    it('a broken link further up: writeVhdx(grandchild) is ERR_VHDX_CORRUPT and the grandchild is unchanged', async () => {
      await writeVhdx(base, 0, pattern(0x13, 512)); // base gets a new DataWriteGuid: child's link breaks
      const before = fs.readFileSync(grandchild);
      await rejectsWith(writeVhdx(grandchild, 0, pattern(0x22, MiB)), 'ERR_VHDX_CORRUPT', /parent linkage mismatch/);
      assert.ok(fs.readFileSync(grandchild).equals(before));
    });
  });

  describe('3. files that are not files', () => {
    it('inspect, read, write, expand and create on a FIFO fail at once; so does a child whose parent is a FIFO', async () => {
      const fifo = path.join(t.dir, 'fifo.vhdx');
      mkfifo(fifo);
      const base = path.join(t.dir, 'base.vhdx');
      const child = path.join(t.dir, 'child.vhdx');
      await createVhdx(base, { sizeBytes: 8 * MiB });
      await createDifferencingVhdx(child, { parentPath: base });
      fs.rmSync(base);
      mkfifo(base);
      const calls = [
        inspectVhdx(fifo),
        readVhdx(fifo, 0, 512),
        writeVhdx(fifo, 0, pattern(1, 512)),
        expandVhdx(fifo, 16 * MiB),
        readVhdx(child, 0, 512),
        writeVhdx(child, 0, pattern(2, 512)),
        createDifferencingVhdx(path.join(t.dir, 'other.vhdx'), { parentPath: fifo }),
      ];
      try {
        for (const call of calls) {
          await within(rejectsWith(call, 'ERR_VHDX_CORRUPT', /is a FIFO, not a regular file/), 5000, 'a call on a FIFO');
        }
      } finally {
        await release([fifo, base], calls);
      }
    });

    it('many such calls at once leave the libuv pool free: fs.readFile still completes', async () => {
      // Distinct files: calls on one file queue behind each other (lib/vhdx).
      const fifos = Array.from({ length: 8 }, (_, i) => path.join(t.dir, `fifo${i}.vhdx`));
      fifos.forEach(mkfifo);
      const calls = fifos.map((f) => inspectVhdx(f));
      const outcomes = Promise.allSettled(calls);
      try {
        const text = await within(fs.promises.readFile(__filename, 'utf8'), 5000, 'fs.readFile');
        assert.match(text, /issue 15/);
        for (const o of await within(outcomes, 5000, 'the calls on the FIFO')) {
          assert.equal(o.status, 'rejected');
        }
      } finally {
        await release(fifos, calls);
      }
    });

    it('a directory is ERR_IO EISDIR, as Node reports it', async () => {
      const err = await rejectsWith(inspectVhdx(t.dir), 'ERR_IO');
      assert.equal(err.errno, 'EISDIR');
    });
  });

  describe('4. sizes declared far beyond what the file holds', () => {
    it('a 4095 MiB metadata region in a sparse file: inspect reads its table and items, not 4 GiB', async () => {
      const file = path.join(t.dir, 'd.vhdx');
      await createVhdx(file, { sizeBytes: 20 * GiB });
      await writeVhdx(file, 0, pattern(0x41, 4096)); // block 0 at 4 MiB
      const moved = 8 * MiB;
      const declared = 4095 * MiB;
      const table = fs.readFileSync(file).subarray(METADATA, METADATA + MiB);
      forge(file, REGION_TABLE_OFFSETS, 64 * KiB, (r) => {
        for (let i = 0; i < r.readUInt32LE(8); i++) {
          const e = 16 + 32 * i;
          if (r.readUInt32LE(e) === 0x8b7ca206) {
            r.writeBigUInt64LE(BigInt(moved), e + 16);
            r.writeUInt32LE(declared, e + 24);
          }
        }
      });
      fs.truncateSync(file, moved + declared);
      patchFile(file, moved, table);
      const rss = process.resourceUsage().maxRSS;
      const read = bytesReadByProcess();
      const info = await inspectVhdx(file);
      assert.deepEqual(info.metadataRegion, { offset: moved, length: declared });
      assert.ok((await readVhdx(file, 0, 4096)).equals(pattern(0x41, 4096)));
      await writeVhdx(file, 5 * MiB, pattern(0x42, 4096));
      const readBytes = bytesReadByProcess() - read;
      assert.ok(readBytes < 16 * MiB, `read ${readBytes} bytes`);
      const grown = (process.resourceUsage().maxRSS - rss) * KiB;
      assert.ok(grown < 256 * MiB, `max RSS grew by ${grown} bytes`);
      ok('qemu-img', ['check', file]);
    });

    it('an empty 64 TiB disk: open costs the BAT pages that exist, not its 512 MiB', async () => {
      const file = path.join(t.dir, 'big.vhdx');
      await createVhdx(file, { sizeBytes: 64 * TiB });
      const read = bytesReadByProcess();
      const info = await inspectVhdx(file);
      assert.equal(info.bat.entries, 67_108_864 + 16_383);
      assert.equal(info.bat.byState.notPresent, 67_108_864);
      await writeVhdx(file, 63 * TiB, pattern(0x43, 4096));
      assert.ok((await readVhdx(file, 63 * TiB, 4096)).equals(pattern(0x43, 4096)));
      assert.equal((await inspectVhdx(file)).bat.byState.fullyPresent, 1);
      const readBytes = bytesReadByProcess() - read;
      assert.ok(readBytes < 16 * MiB, `read ${readBytes} bytes`);
    });

    it('a 64 TiB disk whose BAT entries all claim the same block: refused at the second entry', async () => {
      const file = path.join(t.dir, 'big.vhdx');
      await createVhdx(file, { sizeBytes: 64 * TiB });
      const block = BAT + 513 * MiB; // the first MiB after the BAT region
      fs.truncateSync(file, block + MiB);
      const same = entry(BigInt(block), FULLY_PRESENT);
      patchFile(file, BAT, Buffer.concat(Array.from({ length: 128 * 1024 }, () => same))); // the first 1 MiB of entries
      const rss = process.resourceUsage().maxRSS;
      const read = bytesReadByProcess();
      await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /BAT entry 0 \(payload block 0\) at 541065216 \(\+1048576\) overlaps BAT entry 1 /);
      const readBytes = bytesReadByProcess() - read;
      assert.ok(readBytes < 16 * MiB, `read ${readBytes} bytes`);
      const grown = (process.resourceUsage().maxRSS - rss) * KiB;
      assert.ok(grown < 256 * MiB, `max RSS grew by ${grown} bytes`);
    });
  });

  describe('8. arguments of the wrong type', () => {
    it('reject with ERR_INVALID_ARGUMENT instead of throwing a TypeError', async () => {
      // Casts: these are the calls a JavaScript caller can make.
      const bad = (v: unknown) => v as string;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['createVhdx(123)', () => createVhdx(bad(123), { sizeBytes: MiB })],
        ['createVhdx(path, null)', () => createVhdx(path.join(t.dir, 'a.vhdx'), bad(null) as never)],
        ['inspectVhdx(null)', () => inspectVhdx(bad(null))],
        ['expandVhdx(undefined)', () => expandVhdx(bad(undefined), MiB)],
        ['readVhdx({})', () => readVhdx(bad({}), 0, 1)],
        ['writeVhdx(1)', () => writeVhdx(bad(1), 0, Buffer.alloc(1))],
        ['createDifferencingVhdx(null, null)', () => createDifferencingVhdx(bad(null), bad(null) as never)],
        ['createDifferencingVhdx(path, null)', () => createDifferencingVhdx(path.join(t.dir, 'b.vhdx'), bad(null) as never)],
      ];
      for (const [name, call] of calls) {
        let p: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          p = call();
        }, name);
        await rejectsWith(p!, 'ERR_INVALID_ARGUMENT');
      }
      assert.deepEqual(fs.readdirSync(t.dir), []);
    });
  });
});
