import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createVhdx, inspectVhdx, readVhdx, writeVhdx } from '../../lib/index';
import { rejectsWith } from './support';
import { GiB, KiB, MiB, ok, pattern, patchFile, run, tempDir } from './tools';

const HEADER_1 = 64 * KiB;
const HEADER_2 = 128 * KiB;
const REGION_TABLE_1 = 192 * KiB;
const METADATA = 2 * MiB;
const BAT = 3 * MiB;

function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

describe('vhdx: corruption is detected and named', () => {
  let t: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(async () => {
    t = tempDir();
    file = path.join(t.dir, 'd.vhdx');
    await createVhdx(file, { sizeBytes: GiB });
    await writeVhdx(file, 0, pattern(0x61, 4096));
    await writeVhdx(file, 10 * MiB, pattern(0x62, 4096));
  });
  afterEach(() => t.cleanup());

  it('one corrupt header: inspect reports it and uses the other; the next write repairs it', async () => {
    // After the two writes above, header 2 (sequence 3) is current; damage it.
    patchFile(file, HEADER_2 + 1000, Buffer.from([0xff]));
    const info = await inspectVhdx(file);
    assert.deepEqual(
      info.headers.map((h) => ({ slot: h.slot, valid: h.valid, checksumValid: h.checksumValid, current: h.current, problem: h.problem })),
      [
        { slot: 1, valid: true, checksumValid: true, current: true, problem: undefined },
        { slot: 2, valid: false, checksumValid: false, current: false, problem: 'CRC mismatch' },
      ],
    );
    assert.equal(info.headers[0].sequenceNumber, 2);
    assert.ok((await readVhdx(file, 0, 4096)).equals(pattern(0x61, 4096)));
    await writeVhdx(file, 20 * MiB, pattern(0x63, 512));
    const repaired = await inspectVhdx(file);
    assert.deepEqual(repaired.headers.map((h) => [h.valid, h.sequenceNumber, h.current]), [[true, 2, false], [true, 3, true]]);
    ok('qemu-img', ['check', file]);
  });

  it('both headers corrupt: ERR_VHDX_CORRUPT naming both (7-Zip refuses the file too)', async () => {
    patchFile(file, HEADER_1 + 1000, Buffer.from([0xff]));
    patchFile(file, HEADER_2 + 8, Buffer.from([0x7f]));
    const err = await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /no valid header: header 1 CRC mismatch; header 2 CRC mismatch/);
    assert.equal(err.op, 'vhdx.inspect');
    assert.equal(err.resource, file);
    await rejectsWith(readVhdx(file, 0, 512), 'ERR_VHDX_CORRUPT', /header 1 CRC mismatch/);
    assert.notEqual(run('7zz', ['t', file]).status, 0);
  });

  it('a corrupt region table: ERR_VHDX_CORRUPT (qemu-img refuses the file too)', async () => {
    patchFile(file, REGION_TABLE_1 + 20, Buffer.from([0x00, 0x01]));
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /region table 1 CRC mismatch/);
    assert.notEqual(run('qemu-img', ['check', file]).status, 0);
  });

  it('a truncated file: a block past the end, the metadata region cut, the header section cut', async () => {
    fs.truncateSync(file, 5 * MiB + 4096); // the second data block (at 5 MiB) loses most of its bytes
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /truncated file: BAT entry 10 \(payload block 10\) at 5242880 \(\+1048576\) lies beyond the end of the file/);
    await rejectsWith(readVhdx(file, 10 * MiB, 512), 'ERR_VHDX_CORRUPT', /truncated file/);
    // The whole BAT is checked on open: a file that lies is not read at all, intact blocks included.
    await rejectsWith(readVhdx(file, 0, 4096), 'ERR_VHDX_CORRUPT', /truncated file/);
    fs.truncateSync(file, 2 * MiB + 100 * KiB);
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /truncated file: region \{2DC27766-F623-4200-9D64-115E9BFD4A08\}/);
    fs.truncateSync(file, 500 * KiB);
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /truncated file: 512000 bytes, shorter than the 1 MiB header section/);
  });

  it('a missing metadata item is named', async () => {
    patchFile(file, METADATA + 10, Buffer.from([4, 0])); // entry count 5 -> 4 drops Physical Sector Size
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /metadata item Physical Sector Size is missing/);
  });

  it('a BAT too small for the virtual size is "BAT out of range"', async () => {
    const info = await inspectVhdx(file);
    const size = info.metadataItems.find((m) => m.name === 'virtualDiskSize')!;
    patchFile(file, METADATA + size.offset, u64(200 * GiB)); // the metadata region has no checksum
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /BAT out of range: the BAT region holds 131072 entries, the disk needs 204849/);
  });

  it('bad BAT entries: an invalid state, a block on top of the metadata region', async () => {
    patchFile(file, BAT + 8 * 3, u64(5)); // payload block 3: reserved state 5
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /BAT entry 3 \(payload block 3\) has invalid state 5/);
    patchFile(file, BAT + 8 * 3, u64(2 * MiB + 6));
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /the metadata region at 2097152 \(\+1048576\) overlaps BAT entry 3/);
    patchFile(file, BAT + 8 * 3, u64(4 * MiB + 6)); // the same space as block 0
    await rejectsWith(inspectVhdx(file), 'ERR_VHDX_CORRUPT', /BAT entry 0 \(payload block 0\) at 4194304 \(\+1048576\) overlaps BAT entry 3/);
  });

  it('a file that is not a VHDX is ERR_VHDX_CORRUPT, not a crash', async () => {
    const other = path.join(t.dir, 'other.vhdx');
    fs.writeFileSync(other, Buffer.alloc(2 * MiB, 1));
    await rejectsWith(inspectVhdx(other), 'ERR_VHDX_CORRUPT', /not a VHDX file/);
    fs.writeFileSync(other, '');
    await rejectsWith(inspectVhdx(other), 'ERR_VHDX_CORRUPT', /not a VHDX file/);
  });
});
