import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createVhdx, expandVhdx, inspectVhdx, readVhdx, writeVhdx } from '../../lib/index';
import { rejectsWith } from './support';
import { GiB, MiB, ok, pattern, qemuInfo, qemuIo, tempDir } from './tools';

describe('vhdx: expandVhdx (hcsshim ExpandSandboxSize)', () => {
  let t: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(() => {
    t = tempDir();
    file = path.join(t.dir, 'sandbox.vhdx');
  });
  afterEach(() => t.cleanup());

  const writes = ['write -P 0xa1 0 64k', 'write -P 0xa2 1047552 4096', 'write -P 0xa3 700M 1M'];
  const reads = ['read -P 0xa1 0 64k', 'read -P 0xa2 1047552 4096', 'read -P 0xa3 700M 1M'];

  it('grows a disk in place: qemu-img reports the new size, check is clean, old data is intact', async () => {
    await createVhdx(file, { sizeBytes: GiB });
    assert.equal(qemuIo(file, ...writes).status, 0);
    const before = await inspectVhdx(file);
    await expandVhdx(file, 2 * GiB);
    ok('qemu-img', ['check', file]);
    assert.equal(qemuInfo(file)['virtual-size'], 2 * GiB);
    assert.equal(qemuIo(file, ...reads).status, 0);
    assert.equal(qemuIo(file, 'read -P 0 1536M 1M').status, 0, 'the new space reads zero');
    const after = await inspectVhdx(file);
    assert.equal(after.virtualSize, 2 * GiB);
    assert.equal(after.bat.offset, before.bat.offset);
    assert.equal(after.bat.entries, 2048);
    assert.equal(after.headers.find((h) => h.current)!.sequenceNumber, before.headers.find((h) => h.current)!.sequenceNumber + 1);
    assert.notEqual(after.dataWriteGuid, before.dataWriteGuid);
    assert.equal(after.logGuid, '00000000-0000-0000-0000-000000000000');
    await writeVhdx(file, 2 * GiB - 4096, pattern(0xa4, 4096));
    assert.equal(qemuIo(file, `read -P 0xa4 ${2 * GiB - 4096} 4096`).status, 0);
  });

  it('moves the BAT to the end of the file when it must grow and data follows it', async () => {
    await createVhdx(file, { sizeBytes: 20 * GiB });
    assert.equal(qemuIo(file, ...writes, 'write -P 0xa5 19G 2M').status, 0);
    const before = await inspectVhdx(file);
    assert.equal(before.bat.length, MiB);
    await expandVhdx(file, 200 * GiB); // 204800 + 49 entries: more than 1 MiB of BAT
    ok('qemu-img', ['check', file]);
    assert.equal(qemuInfo(file)['virtual-size'], 200 * GiB);
    assert.equal(qemuIo(file, ...reads, 'read -P 0xa5 19G 2M').status, 0);
    const after = await inspectVhdx(file);
    assert.equal(after.bat.length, 2 * MiB);
    assert.ok(after.bat.offset >= before.fileSize, `BAT moved to ${after.bat.offset}`);
    assert.deepEqual(after.regionTables[1].entries, after.regionTables[0].entries);
    assert.equal(after.bat.byState.fullyPresent, before.bat.byState.fullyPresent);
    await writeVhdx(file, 150 * GiB, pattern(0xa6, MiB));
    assert.equal(qemuIo(file, `read -P 0xa6 150G 1M`, 'read -P 0xa5 19G 2M').status, 0);
    ok('qemu-img', ['check', file]);
  });

  it('grows the BAT where it is when nothing follows it (an empty disk)', async () => {
    await createVhdx(file, { sizeBytes: 20 * GiB });
    await expandVhdx(file, 200 * GiB);
    const info = await inspectVhdx(file);
    assert.deepEqual([info.bat.offset, info.bat.length, info.fileSize], [3 * MiB, 2 * MiB, 5 * MiB]);
    ok('qemu-img', ['check', file]);
    assert.equal(qemuInfo(file)['virtual-size'], 200 * GiB);
  });

  it('shrinking, odd sizes and sizes past 64 TiB are ERR_INVALID_ARGUMENT; the same size changes nothing', async () => {
    await createVhdx(file, { sizeBytes: GiB });
    await rejectsWith(expandVhdx(file, GiB - 512), 'ERR_INVALID_ARGUMENT', /cannot shrink/);
    await rejectsWith(expandVhdx(file, GiB + 100), 'ERR_INVALID_ARGUMENT', /not a multiple of the logical sector size/);
    await rejectsWith(expandVhdx(file, 65 * 1024 * GiB), 'ERR_INVALID_ARGUMENT', /64 TiB/);
    const before = fs.readFileSync(file);
    await expandVhdx(file, GiB);
    assert.ok(fs.readFileSync(file).equals(before));
    assert.ok((await readVhdx(file, 0, 512)).equals(Buffer.alloc(512)));
  });
});
