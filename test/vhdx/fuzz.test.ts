// Mutation fuzz (issue 15): thousands of VHDX files derived from valid ones
// by lies a file can tell (BAT entries aimed anywhere, header, region table
// and metadata fields with or without recomputed checksums, flipped bytes,
// cut or grown files). Each must be refused with ERR_VHDX_CORRUPT, changing
// no byte, or be read and written correctly: what we read back is what we
// wrote over what we read before, and `qemu-img check` finds the written file
// clean (unless qemu already refused the mutated file before our write).
// Never another error, a crash or a hang.
//
// The mutations come from fast-check with a seed printed at the start:
//   WCOW_VHDX_FUZZ_SEED=<seed>   the same files again
//   WCOW_VHDX_FUZZ_RUNS=<n>      how many (default 2000)
//   WCOW_VHDX_FUZZ_CASE=<i>      only case i of that seed
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { createVhdx, inspectVhdx, readVhdx, WcowError, writeVhdx, type VhdxInfo } from '../../lib/index';
import { KiB, MiB, ok, reseal, tempDir } from './tools';

const RUNS = Number(process.env.WCOW_VHDX_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.WCOW_VHDX_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ONLY = process.env.WCOW_VHDX_FUZZ_CASE === undefined ? undefined : Number(process.env.WCOW_VHDX_FUZZ_CASE);
const CALL_LIMIT_MS = 20_000;
const PAGE = 4 * KiB;

/** A valid file to mutate, and where its structures are. */
interface Base {
  name: string;
  bytes: Buffer;
  info: VhdxInfo;
  /** File offsets of its allocated payload blocks. */
  blocks: number[];
}

const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 0xffffffffn, 0x100000000n, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - (1n << 20n)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.integer({ min: 0, max: 64 }).map((m) => BigInt(m) << 20n),
);
const u32 = fc.oneof(
  fc.constantFrom(0, 1, 512, 4096, 65536, MiB, 2 * MiB, 256 * MiB, 0x7fffffff, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
);

type Mutation =
  | { kind: 'bat'; entry: number; mib: number | 'block' | 'end' | 'past' | 'max'; block: number; state: number }
  | { kind: 'header'; slots: number; field: 'sequence' | 'logOffset' | 'logLength' | 'version' | 'logVersion' | 'logGuid'; value: bigint; reseal: boolean }
  | { kind: 'region'; slots: number; entry: number; field: 'count' | 'offset' | 'length' | 'guid' | 'required'; value: bigint; reseal: boolean }
  | { kind: 'metadataEntry'; entry: number; field: 'count' | 'offset' | 'length' | 'flags' | 'guid'; value: number }
  | { kind: 'item'; item: 'fileParameters' | 'virtualDiskSize' | 'logicalSectorSize' | 'physicalSectorSize'; value: bigint }
  | { kind: 'byte'; area: 'identifier' | 'header' | 'region' | 'metadata' | 'bat' | 'data' | 'anywhere'; at: number; xor: number; reseal: boolean }
  | { kind: 'size'; to: 'cut' | 'grow'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('bat' as const),
      entry: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5000 })),
      mib: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom('block' as const, 'end' as const, 'past' as const, 'max' as const)),
      block: fc.nat(),
      state: fc.oneof(fc.constantFrom(6, 7, 2), fc.integer({ min: 0, max: 7 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('header' as const),
      slots: fc.integer({ min: 1, max: 3 }),
      field: fc.constantFrom('sequence' as const, 'logOffset' as const, 'logLength' as const, 'version' as const, 'logVersion' as const, 'logGuid' as const),
      value: u64,
      reseal: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('region' as const),
      slots: fc.integer({ min: 1, max: 3 }),
      entry: fc.integer({ min: 0, max: 2 }),
      field: fc.constantFrom('count' as const, 'offset' as const, 'length' as const, 'guid' as const, 'required' as const),
      value: u64,
      reseal: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('metadataEntry' as const),
      entry: fc.integer({ min: 0, max: 6 }),
      field: fc.constantFrom('count' as const, 'offset' as const, 'length' as const, 'flags' as const, 'guid' as const),
      value: u32,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('item' as const),
      item: fc.constantFrom('fileParameters' as const, 'virtualDiskSize' as const, 'logicalSectorSize' as const, 'physicalSectorSize' as const),
      value: fc.oneof(u64, fc.constantFrom(512n, 4096n, BigInt(MiB), BigInt(2 * MiB), BigInt(MiB) | (2n << 32n), BigInt(MiB) | (1n << 32n), 64n << 40n, 16n << 20n)),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('byte' as const),
      area: fc.constantFrom('identifier' as const, 'header' as const, 'region' as const, 'metadata' as const, 'bat' as const, 'data' as const, 'anywhere' as const),
      at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      xor: fc.integer({ min: 1, max: 255 }),
      reseal: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('size' as const),
      to: fc.constantFrom('cut' as const, 'grow' as const),
      at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    }),
  },
);

const fuzzCase = fc.record({
  base: fc.nat(),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  write: fc.record({
    at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    length: fc.oneof(fc.integer({ min: 1, max: 4 * KiB }), fc.integer({ min: 1, max: 2 * MiB })),
    byte: fc.integer({ min: 1, max: 255 }),
  }),
});
type Case = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never;

const GROW = 3 * MiB;

/**
 * The mutated file's bytes, built in `scratch` (reused: thousands of fresh
 * multi-MiB buffers cost more than the checks). Offsets come from the base's
 * own layout, so lies land on structures.
 */
function mutate(base: Base, mutations: Mutation[], scratch: Buffer): Buffer {
  base.bytes.copy(scratch);
  let length = base.bytes.length;
  const b = scratch;
  const { info } = base;
  const headers = [64 * KiB, 128 * KiB];
  const tables = [192 * KiB, 256 * KiB];
  const slotsOf = (n: number) => [0, 1].filter((s) => n & (1 << s));
  const put64 = (at: number, v: bigint) => b.writeBigUInt64LE(BigInt.asUintN(64, v), at);
  const put32 = (at: number, v: number | bigint) => b.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(v))), at);
  // A field past the end of a file an earlier mutation cut lands beyond `length`: dropped.
  for (const m of mutations) apply(m);
  return b.subarray(0, length);

  function apply(m: Mutation): void {
    switch (m.kind) {
      case 'bat': {
        const fileMiB = Math.ceil(length / MiB);
        const mib =
          m.mib === 'block' ? (base.blocks[m.block % Math.max(1, base.blocks.length)] ?? 4 * MiB) / MiB
          : m.mib === 'end' ? fileMiB - 1
          : m.mib === 'past' ? fileMiB
          : m.mib === 'max' ? 2 ** 44 - 1
          : m.mib;
        const entry = m.entry % (info.bat.length / 8);
        put64(info.bat.offset + 8 * entry, (BigInt(mib) << 20n) | BigInt(m.state));
        break;
      }
      case 'header':
        for (const s of slotsOf(m.slots)) {
          const h = headers[s]!;
          if (m.field === 'sequence') put64(h + 8, m.value);
          else if (m.field === 'logGuid') put64(h + 48, m.value);
          else if (m.field === 'version') b.writeUInt16LE(Number(m.value & 0xffffn), h + 66);
          else if (m.field === 'logVersion') b.writeUInt16LE(Number(m.value & 0xffffn), h + 64);
          else if (m.field === 'logLength') put32(h + 68, m.value);
          else put64(h + 72, m.value);
          if (m.reseal) reseal(b, h, 4 * KiB);
        }
        break;
      case 'region':
        for (const s of slotsOf(m.slots)) {
          const t = tables[s]!;
          const e = t + 16 + 32 * m.entry;
          if (m.field === 'count') put32(t + 8, m.value & 0xffn);
          else if (m.field === 'guid') put64(e, m.value);
          else if (m.field === 'offset') put64(e + 16, m.value);
          else if (m.field === 'length') put32(e + 24, m.value);
          else put32(e + 28, m.value & 3n);
          if (m.reseal) reseal(b, t, 64 * KiB);
        }
        break;
      case 'metadataEntry': {
        const md = info.metadataRegion.offset;
        const e = md + 32 + 32 * m.entry;
        if (m.field === 'count') b.writeUInt16LE(m.value & 0xffff, md + 10);
        else if (m.field === 'guid') b.writeUInt32LE(m.value, e);
        else if (m.field === 'offset') b.writeUInt32LE(m.value, e + 16);
        else if (m.field === 'length') b.writeUInt32LE(m.value, e + 20);
        else b.writeUInt32LE(m.value & 7, e + 24);
        break;
      }
      case 'item': {
        const item = info.metadataItems.find((i) => i.name === m.item);
        if (!item) break;
        const at = info.metadataRegion.offset + item.offset;
        if (item.length >= 8) put64(at, m.value);
        else put32(at, m.value);
        break;
      }
      case 'byte': {
        const areas: Record<typeof m.area, [number, number]> = {
          identifier: [0, 512],
          header: [64 * KiB, 128 * KiB + 80],
          region: [192 * KiB, 256 * KiB + 80],
          metadata: [info.metadataRegion.offset, info.metadataRegion.offset + 64 * KiB + 256],
          bat: [info.bat.offset, info.bat.offset + Math.min(info.bat.length, 4 * KiB)],
          data: [info.bat.offset + info.bat.length, length],
          anywhere: [0, length],
        };
        const [lo, hi] = areas[m.area];
        if (hi <= lo) break;
        const at = lo + Math.floor(m.at * (hi - lo));
        if (at >= length) break;
        b[at] = (b[at] ?? 0) ^ m.xor;
        if (m.reseal) {
          for (const s of [...headers.map((o) => [o, 4 * KiB]), ...tables.map((o) => [o, 64 * KiB])]) {
            if (at >= s[0]! && at < s[0]! + s[1]!) reseal(b, s[0]!, s[1]!);
          }
        }
        break;
      }
      case 'size': {
        const to = m.to === 'cut' ? Math.floor(m.at * length) : length + Math.floor(m.at * GROW);
        if (to > length) b.fill(0, length, to);
        length = to;
        break;
      }
    }
  }
}

const ZERO_PAGE = Buffer.alloc(PAGE);

/** A file as written: its non-zero pages, and what stat says about it. */
interface Written {
  pages: number[];
  size: number;
  blocks: number;
}

/** Writes `bytes` as a sparse file: only its non-zero pages. */
function writeSparse(file: string, bytes: Buffer): Written {
  const fd = fs.openSync(file, 'w');
  try {
    const pages: number[] = [];
    for (let at = 0; at < bytes.length; at += PAGE) {
      const page = bytes.subarray(at, at + PAGE);
      if (!page.equals(ZERO_PAGE.subarray(0, page.length))) {
        fs.writeSync(fd, page, 0, page.length, at);
        pages.push(at);
      }
    }
    fs.ftruncateSync(fd, bytes.length);
    const st = fs.fstatSync(fd);
    return { pages, size: st.size, blocks: st.blocks };
  } finally {
    fs.closeSync(fd);
  }
}

const pageBuffer = Buffer.alloc(PAGE);

/**
 * Whether the file still holds exactly `bytes`, without reading megabytes of
 * holes: a write into a hole allocates it (st_blocks grows), a write past the
 * end grows the size, and any other write lands on a page we wrote, which is
 * compared.
 */
function unchanged(file: string, bytes: Buffer, was: Written): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    if (st.size !== was.size || st.blocks !== was.blocks) return false;
    return was.pages.every((at) => {
      const n = fs.readSync(fd, pageBuffer, 0, PAGE, at);
      return pageBuffer.subarray(0, n).equals(bytes.subarray(at, at + PAGE));
    });
  } finally {
    fs.closeSync(fd);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: WcowError };

/** Runs a call that must settle within the limit and, if it fails, fail with a WcowError. */
async function attempt<T>(what: string, p: Promise<T>): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${CALL_LIMIT_MS} ms (a hang)`)), CALL_LIMIT_MS);
  });
  try {
    return { ok: true, value: await Promise.race([p, hang]) };
  } catch (err) {
    if (!(err instanceof WcowError)) throw err;
    return { ok: false, error: err };
  } finally {
    clearTimeout(timer);
  }
}

const run = promisify(execFile);

/**
 * `qemu-img check` of each file, from one shell per batch (one spawn of this
 * big process per batch instead of per file): the files qemu does not find
 * clean, with its exit status (1 cannot open, 2 corrupt, 3 leaks only).
 */
async function qemuCheck(files: string[]): Promise<Map<string, number>> {
  const script = 'for f; do qemu-img check -q "$f" >/dev/null 2>&1; s=$?; [ $s -eq 0 ] || echo "$s $f"; done';
  const { stdout } = await run('sh', ['-c', script, 'sh', ...files], { maxBuffer: 16 * MiB });
  const bad = new Map<string, number>();
  for (const line of stdout.split('\n').filter(Boolean)) {
    const cut = line.indexOf(' ');
    bad.set(line.slice(cut + 1), Number(line.slice(0, cut)));
  }
  return bad;
}

describe('vhdx: mutation fuzz (issue 15)', function () {
  this.timeout(30 * 60_000);
  let t: ReturnType<typeof tempDir>;
  const bases: Base[] = [];

  before(async () => {
    // On tmpfs when there is one: each write's two fsyncs cost nothing there,
    // which keeps thousands of files to seconds (the bytes are what is judged).
    t = tempDir(fs.existsSync('/dev/shm') ? '/dev/shm' : undefined);
    const make = async (name: string, build: (file: string) => Promise<void>) => {
      const file = path.join(t.dir, `base-${name}.vhdx`);
      await build(file);
      const info = await inspectVhdx(file);
      const bytes = fs.readFileSync(file);
      const blocks: number[] = [];
      for (let i = 0; i < info.bat.entries; i++) {
        const e = bytes.readBigUInt64LE(info.bat.offset + 8 * i);
        if ((e & 7n) === 6n) blocks.push(Number(e >> 20n) * MiB);
      }
      bases.push({ name, bytes, info, blocks });
    };
    await make('ours-1M', async (f) => {
      await createVhdx(f, { sizeBytes: 16 * MiB });
      await writeVhdx(f, 0, Buffer.alloc(4 * KiB, 0x5a));
      await writeVhdx(f, 5 * MiB + 512, Buffer.alloc(1024, 0xa5));
    });
    await make('ours-2M-4k', async (f) => {
      await createVhdx(f, { sizeBytes: 12 * MiB, blockSizeBytes: 2 * MiB, physicalSectorBytes: 512 });
      await writeVhdx(f, 2 * MiB, Buffer.alloc(8 * KiB, 0x3c));
    });
    await make('qemu', async (f) => {
      ok('qemu-img', ['create', '-q', '-f', 'vhdx', f, '16M']);
      ok('qemu-io', ['-f', 'vhdx', '-c', 'write -P 0x7e 1M 64k', '-c', 'write -P 0x7f 9M 4k', f]);
    });
  });
  after(() => t.cleanup());

  it(`${RUNS} mutated files: each refused with ERR_VHDX_CORRUPT (unchanged) or read and written correctly (qemu-img check clean)`, async () => {
    process.stdout.write(`      vhdx fuzz: seed ${SEED} (WCOW_VHDX_FUZZ_SEED=${SEED} reproduces), ${RUNS} files\n`);
    const cases = fc.sample(fuzzCase, { seed: SEED, numRuns: RUNS });
    const room = Math.max(...bases.map((x) => x.bytes.length)) + 2 * GROW;
    const scratch = Buffer.alloc(room);
    const counts = { refused: 0, refusedOnRead: 0, written: 0, qemuRefusedInput: 0 };
    const written: Array<{ index: number; file: string }> = [];
    const where = (index: number, c: Case) =>
      `case ${index} (WCOW_VHDX_FUZZ_SEED=${SEED} WCOW_VHDX_FUZZ_CASE=${index}; base ${bases[c.base % bases.length]!.name}; ${JSON.stringify(c.mutations, (_, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))})`;
    const mustBeCorrupt = (o: Outcome<unknown>, what: string, index: number, c: Case) => {
      assert.ok(!o.ok, `${what} of a refused file succeeded: ${where(index, c)}`);
      assert.equal(o.error.code, 'ERR_VHDX_CORRUPT', `${what}: ${o.error.message}: ${where(index, c)}`);
    };

    for (const [index, c] of cases.entries()) {
      if (ONLY !== undefined && index !== ONLY) continue;
      const base = bases[c.base % bases.length]!;
      const bytes = mutate(base, c.mutations, scratch);
      const file = path.join(t.dir, `case-${index}.vhdx`);
      const was = writeSparse(file, bytes);
      const inspected = await attempt('inspectVhdx', inspectVhdx(file));
      const refuse = async (o: Outcome<unknown>, what: string) => {
        mustBeCorrupt(o, what, index, c);
        mustBeCorrupt(await attempt('writeVhdx', writeVhdx(file, 0, Buffer.alloc(512, 1))), 'writeVhdx', index, c);
        assert.ok(unchanged(file, bytes, was), `a refused file changed: ${where(index, c)}`);
        fs.rmSync(file);
      };
      if (!inspected.ok) {
        counts.refused++;
        await refuse(inspected, 'inspectVhdx');
        continue;
      }
      // Accepted: read around the write and the start of the disk, write, read again.
      const size = inspected.value.virtualSize;
      const length = Math.min(c.write.length, size);
      const offset = Math.floor(c.write.at * (size - length + 1));
      const ranges: Array<[number, number]> = [
        [0, Math.min(size, MiB)],
        [Math.max(0, offset - 4 * KiB), Math.min(size, offset + length + 4 * KiB)],
      ];
      const before: Buffer[] = [];
      let refusedOnRead: Outcome<unknown> | undefined;
      for (const [lo, hi] of ranges) {
        const r = await attempt('readVhdx', readVhdx(file, lo, hi - lo));
        if (!r.ok) {
          refusedOnRead = r;
          break;
        }
        before.push(r.value);
      }
      if (refusedOnRead) {
        counts.refusedOnRead++;
        await refuse(refusedOnRead, 'readVhdx');
        continue;
      }
      const data = Buffer.alloc(length, c.write.byte);
      const w = await attempt('writeVhdx', writeVhdx(file, offset, data));
      assert.ok(w.ok, `write to an accepted file failed: ${w.ok ? '' : w.error.message}: ${where(index, c)}`);
      for (const [k, [lo, hi]] of ranges.entries()) {
        const expected = Buffer.from(before[k]!);
        const from = Math.max(lo, offset), to = Math.min(hi, offset + length);
        if (from < to) data.copy(expected, from - lo, from - offset, to - offset);
        const after = await attempt('readVhdx', readVhdx(file, lo, hi - lo));
        assert.ok(after.ok && after.value.equals(expected), `bytes ${lo}..${hi} wrong after the write: ${where(index, c)}`);
      }
      const again = await attempt('inspectVhdx', inspectVhdx(file));
      assert.ok(again.ok, `the written file no longer opens: ${again.ok ? '' : again.error.message}: ${where(index, c)}`);
      counts.written++;
      written.push({ index, file });
    }

    // qemu-img only for files we accepted and wrote: two batches, one per core.
    const half = Math.ceil(written.length / 2);
    const batches = [written.slice(0, half), written.slice(half)].filter((b) => b.length > 0);
    const bad = new Map([...(await Promise.all(batches.map((b) => qemuCheck(b.map((w) => w.file))))).flatMap((m) => [...m])]);
    const failures: string[] = [];
    for (const { index, file } of written) {
      const status = bad.get(file);
      if (status === undefined) continue;
      // Was the mutated file already one qemu refuses? Then qemu is stricter than we are, not our write at fault.
      const c = cases[index]!;
      const input = path.join(t.dir, `input-${index}.vhdx`);
      writeSparse(input, mutate(bases[c.base % bases.length]!, c.mutations, Buffer.alloc(room)));
      if ((await qemuCheck([input])).size > 0) counts.qemuRefusedInput++;
      else failures.push(`qemu-img check exit ${status} after our write: ${where(index, c)}`);
    }
    const total = ONLY === undefined ? RUNS : 1;
    process.stdout.write(
      `      vhdx fuzz: ${total} files: ${counts.refused} refused on open, ${counts.refusedOnRead} refused on read, ` +
        `${counts.written} read+written (qemu-img check clean: ${counts.written - counts.qemuRefusedInput - failures.length}, ` +
        `already refused by qemu before our write: ${counts.qemuRefusedInput})\n`,
    );
    assert.deepEqual(failures, []);
    assert.equal(counts.refused + counts.refusedOnRead + counts.written, total);
  });
});
