import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createVhdx, inspectVhdx } from '../../lib/index';
import { rejectsWith } from './support';
import { GiB, MiB, ok, qemuInfo, qemuIo, tempDir } from './tools';

describe('vhdx: createVhdx', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  const shapes = [
    { sizeBytes: 20 * GiB, blockSizeBytes: undefined, expectBlock: MiB },
    { sizeBytes: 1 * GiB + 512, blockSizeBytes: 2 * MiB, expectBlock: 2 * MiB },
    { sizeBytes: 100 * GiB, blockSizeBytes: 32 * MiB, expectBlock: 32 * MiB },
    { sizeBytes: 3 * MiB, blockSizeBytes: 256 * MiB, expectBlock: 256 * MiB },
    { sizeBytes: 600 * GiB, blockSizeBytes: MiB, expectBlock: MiB }, // BAT larger than 1 MiB
  ];
  for (const s of shapes) {
    it(`a ${s.sizeBytes}-byte disk with ${s.expectBlock}-byte blocks passes qemu-img check and reports its size`, async () => {
      const file = path.join(t.dir, 'd.vhdx');
      await createVhdx(file, { sizeBytes: s.sizeBytes, ...(s.blockSizeBytes ? { blockSizeBytes: s.blockSizeBytes } : {}) });
      ok('qemu-img', ['check', file]);
      const info = qemuInfo(file);
      assert.equal(info.format, 'vhdx');
      assert.equal(info['virtual-size'], s.sizeBytes);
      assert.equal(info['cluster-size'], s.expectBlock);
      const ours = await inspectVhdx(file);
      assert.equal(ours.virtualSize, s.sizeBytes);
      assert.equal(ours.blockSize, s.expectBlock);
      const blocks = Math.ceil(s.sizeBytes / s.expectBlock);
      const chunkRatio = (2 ** 23 * 512) / s.expectBlock;
      assert.equal(ours.bat.entries, blocks + Math.floor((blocks - 1) / chunkRatio));
      assert.equal(ours.bat.byState.notPresent, blocks);
    });
  }

  it('an empty 20 GiB disk is 4 MiB apparent and allocates only its headers and metadata', async () => {
    const file = path.join(t.dir, 'scratch.vhdx');
    await createVhdx(file, { sizeBytes: 20 * GiB });
    const st = fs.statSync(file);
    assert.equal(st.size, 4 * MiB);
    assert.ok(st.blocks * 512 <= 64 * 1024, `allocated ${st.blocks * 512} bytes`);
  });

  it('describes the layout: two valid headers (the second current), region tables, metadata items', async () => {
    const file = path.join(t.dir, 'd.vhdx');
    await createVhdx(file, { sizeBytes: 20 * GiB, logicalSectorBytes: 512, physicalSectorBytes: 512 });
    const info = await inspectVhdx(file);
    assert.equal(info.creator, 'wcow-resources');
    assert.equal(info.hasParent, false);
    assert.equal(info.logicalSectorSize, 512);
    assert.equal(info.physicalSectorSize, 512);
    assert.deepEqual(
      info.headers.map((h) => [h.slot, h.valid, h.sequenceNumber, h.current]),
      [[1, true, 0, false], [2, true, 1, true]],
    );
    assert.equal(info.logGuid, '00000000-0000-0000-0000-000000000000');
    assert.equal(info.headers[1].logOffset, MiB);
    assert.deepEqual(
      info.regionTables[0].entries.map((e) => [e.region, e.fileOffset, e.length, e.required]),
      [['bat', 3 * MiB, MiB, true], ['metadata', 2 * MiB, MiB, true]],
    );
    assert.deepEqual(info.regionTables[1].entries, info.regionTables[0].entries);
    assert.deepEqual(info.metadataItems.map((m) => m.name).sort(), [
      'fileParameters', 'logicalSectorSize', 'page83Data', 'physicalSectorSize', 'virtualDiskSize',
    ]);
    assert.equal(info.bat.entries, 20480 + 4);
    assert.equal(info.bat.chunkRatio, 4096);
    assert.deepEqual(info.bat.sectorBitmapBlocks, { present: 0, notPresent: 4 });
    assert.match(info.dataWriteGuid, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });

  it('4096-byte logical sectors are recorded and change the chunk ratio; 7-Zip reads the disk', async () => {
    const file = path.join(t.dir, 'd.vhdx');
    await createVhdx(file, { sizeBytes: 10 * GiB, logicalSectorBytes: 4096 });
    const info = await inspectVhdx(file);
    assert.equal(info.logicalSectorSize, 4096);
    assert.equal(info.bat.chunkRatio, 32768);
    assert.equal(info.bat.entries, 10240);
    ok('7zz', ['t', file]);
  });

  it('rejects bad shapes with ERR_INVALID_ARGUMENT and creates nothing', async () => {
    const file = path.join(t.dir, 'bad.vhdx');
    const bad: Array<[Parameters<typeof createVhdx>[1], RegExp]> = [
      [{ sizeBytes: GiB, blockSizeBytes: 3 * MiB }, /block size 3145728 is not a power of two/],
      [{ sizeBytes: GiB, blockSizeBytes: 512 * 1024 }, /block size/],
      [{ sizeBytes: GiB, blockSizeBytes: 512 * MiB }, /block size/],
      [{ sizeBytes: GiB, logicalSectorBytes: 1024 }, /logical sector size 1024/],
      [{ sizeBytes: GiB, physicalSectorBytes: 2048 }, /physical sector size 2048/],
      [{ sizeBytes: 0 }, /virtual size is 0/],
      [{ sizeBytes: GiB + 100 }, /not a multiple of the logical sector size 512/],
      [{ sizeBytes: 8192 + 512, logicalSectorBytes: 4096 }, /not a multiple of the logical sector size 4096/],
      [{ sizeBytes: 65 * 1024 * GiB }, /64 TiB/],
      [{ sizeBytes: 1.5 }, /sizeBytes must be a non-negative integer/],
      [{ sizeBytes: GiB, overwrite: 'yes' as unknown as boolean }, /overwrite must be a boolean/],
    ];
    for (const [options, message] of bad) {
      const err = await rejectsWith(createVhdx(file, options), 'ERR_INVALID_ARGUMENT', message);
      assert.equal(err.op, 'vhdx.create');
    }
    assert.deepEqual(fs.readdirSync(t.dir), []);
  });

  it('will not replace an existing file unless told to', async () => {
    const file = path.join(t.dir, 'd.vhdx');
    fs.writeFileSync(file, 'precious');
    const err = await rejectsWith(createVhdx(file, { sizeBytes: GiB }), 'ERR_VHDX_EXISTS');
    assert.equal(err.resource, file);
    assert.equal(fs.readFileSync(file, 'utf8'), 'precious');
    assert.deepEqual(fs.readdirSync(t.dir), ['d.vhdx']);
    await createVhdx(file, { sizeBytes: GiB, overwrite: true });
    assert.equal((await inspectVhdx(file)).virtualSize, GiB);
    assert.deepEqual(fs.readdirSync(t.dir), ['d.vhdx']);
  });

  it('a create into a missing directory fails with ERR_IO ENOENT and leaves nothing behind', async () => {
    const file = path.join(t.dir, 'missing', 'd.vhdx');
    const err = await rejectsWith(createVhdx(file, { sizeBytes: GiB }), 'ERR_IO');
    assert.equal(err.errno, 'ENOENT');
    assert.equal(err.resource, file);
    assert.deepEqual(fs.readdirSync(t.dir), []);
  });

  it('a create that fails after opening its temporary file removes it (target is a directory)', async () => {
    const file = path.join(t.dir, 'taken');
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'x'), '');
    const err = await rejectsWith(createVhdx(file, { sizeBytes: GiB, overwrite: true }), 'ERR_IO');
    assert.match(err.errno ?? '', /^E(ISDIR|NOTEMPTY|EXIST)$/);
    assert.deepEqual(fs.readdirSync(t.dir), ['taken']);
  });

  it('reads images made by qemu-img: sizes, block size, BAT states', async () => {
    const file = path.join(t.dir, 'q.vhdx');
    ok('qemu-img', ['create', '-q', '-f', 'vhdx', '-o', 'block_size=8M', file, '5G']);
    let info = await inspectVhdx(file);
    assert.equal(info.virtualSize, 5 * GiB);
    assert.equal(info.blockSize, 8 * MiB);
    assert.equal(info.logicalSectorSize, 512);
    assert.equal(info.hasParent, false);
    assert.equal(info.bat.entries, 640 + 1); // chunk ratio 512: one sector bitmap entry
    assert.equal(info.bat.byState.fullyPresent, 0);
    assert.equal(qemuIo(file, 'write -P 0x11 0 1M', 'write -P 0x22 20M 9M').status, 0);
    info = await inspectVhdx(file);
    // 0-1M lies in block 0; 20M-29M spans blocks 2 and 3.
    assert.equal(info.bat.byState.fullyPresent, 3);
    assert.equal(info.bat.byState.notPresent + info.bat.byState.zero, 637);
  });
});
