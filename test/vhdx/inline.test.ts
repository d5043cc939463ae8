// createVhdxInline / createDifferencingVhdxInline (the simulated host's CreateSandboxLayer): an
// unflushed create with no other call on the file in flight runs on the calling thread, writes
// what createVhdx writes, and fails the same way; anything else takes createVhdx's path.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDifferencingVhdx, createVhdx, inspectVhdx, type VhdxInfo } from '../../lib/index';
import { createDifferencingVhdxInline, createVhdxInline } from '../../lib/vhdx';
import { rejectsWith } from './support';
import { GiB, ok, tempDir } from './tools';

/** What two creates with the same options share: everything but the GUIDs each file gets. */
function shape(info: VhdxInfo): unknown {
  const { path: _path, diskId: _diskId, dataWriteGuid: _d, fileWriteGuid: _f, headers, ...rest } = info;
  return { ...rest, headers: headers.map(({ fileWriteGuid: _hf, dataWriteGuid: _hd, ...h }) => h) };
}

describe('vhdx: inline creates (the simulated host)', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('an unflushed create is done when the call returns, and is the disk createVhdx makes', async () => {
    const inline = path.join(t.dir, 'inline.vhdx');
    const queued = path.join(t.dir, 'queued.vhdx');
    const p = createVhdxInline(inline, { sizeBytes: 20 * GiB, flush: false });
    assert.ok(fs.existsSync(inline), 'written on the calling thread');
    await p;
    await createVhdx(queued, { sizeBytes: 20 * GiB, flush: false });
    ok('qemu-img', ['check', inline]);
    assert.deepEqual(shape(await inspectVhdx(inline)), shape(await inspectVhdx(queued)));
    assert.deepEqual(fs.readdirSync(t.dir).sort(), ['inline.vhdx', 'queued.vhdx']);
  });

  it('a differencing child likewise, its locator defaulted as createDifferencingVhdx does', async () => {
    const parent = path.join(t.dir, 'base.vhdx');
    await createVhdx(parent, { sizeBytes: GiB });
    // The parent's queue entry goes a few microtasks after its create settles.
    await new Promise(setImmediate);
    const inline = path.join(t.dir, 'inline.vhdx');
    const queued = path.join(t.dir, 'queued.vhdx');
    const p = createDifferencingVhdxInline(inline, { parentPath: parent, flush: false });
    assert.ok(fs.existsSync(inline), 'written on the calling thread');
    await p;
    await createDifferencingVhdx(queued, { parentPath: parent, flush: false });
    const a = await inspectVhdx(inline);
    assert.equal(a.parentLocator?.relativePath, '.\\base.vhdx');
    assert.deepEqual(shape(a), shape(await inspectVhdx(queued)));
  });

  it('fails as a rejection, never a throw, with the codes createVhdx gives, and leaves nothing', async () => {
    const file = path.join(t.dir, 'd.vhdx');
    fs.writeFileSync(file, 'precious');
    const exists = await rejectsWith(createVhdxInline(file, { sizeBytes: GiB, flush: false }), 'ERR_VHDX_EXISTS');
    assert.equal(exists.op, 'vhdx.create');
    assert.equal(exists.resource, file);
    await rejectsWith(createVhdxInline(file, { sizeBytes: 0, flush: false }), 'ERR_INVALID_ARGUMENT');
    const missing = await rejectsWith(createVhdxInline(path.join(t.dir, 'no', 'd.vhdx'), { sizeBytes: GiB, flush: false }), 'ERR_IO');
    assert.equal(missing.errno, 'ENOENT');
    await rejectsWith(createDifferencingVhdxInline(path.join(t.dir, 'c.vhdx'), { parentPath: path.join(t.dir, 'none.vhdx'), flush: false }), 'ERR_IO');
    assert.equal(fs.readFileSync(file, 'utf8'), 'precious');
    assert.deepEqual(fs.readdirSync(t.dir), ['d.vhdx']);
  });

  it('a flushed create, or one on a file another call is using, takes the pool like createVhdx', async () => {
    const flushed = path.join(t.dir, 'flushed.vhdx');
    const p = createVhdxInline(flushed, { sizeBytes: GiB });
    assert.ok(!fs.existsSync(flushed), 'a flushed create does not block this thread');
    await p;
    // An inspect in flight on the file: the overwrite waits for it (calls on a file stay serialized).
    const before = fs.statSync(flushed).ino;
    const inspected = inspectVhdx(flushed);
    const replaced = createVhdxInline(flushed, { sizeBytes: 2 * GiB, overwrite: true, flush: false });
    assert.equal(fs.statSync(flushed).ino, before, 'queued behind the inspect');
    assert.equal((await inspected).virtualSize, GiB);
    await replaced;
    assert.equal((await inspectVhdx(flushed)).virtualSize, 2 * GiB);
  });
});
