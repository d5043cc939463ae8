import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  createDifferencingVhdx,
  createVhdx,
  expandVhdx,
  inspectVhdx,
  readVhdx,
  writeVhdx,
} from '../../lib/index';
import { overlay, rejectsWith } from './support';
import { MiB, ok, pattern, readFileRange, patchFile, run, tempDir } from './tools';

const SIZE = 32 * MiB;
const parentWrites: Array<[number, Buffer]> = [
  [0, pattern(0x11, 4 * MiB)],
  [6 * MiB, pattern(0x12, MiB + 512)],
];
const parentImage = overlay(Buffer.alloc(SIZE), parentWrites);

/** The merged raw image 7-Zip extracts from a differencing VHDX (it follows the parent itself). */
function extractWith7zip(file: string, dir: string): Buffer {
  const out = path.join(dir, 'extracted');
  ok('7zz', ['x', '-y', `-o${out}`, file]);
  const [name] = fs.readdirSync(out);
  const data = fs.readFileSync(path.join(out, name!));
  fs.rmSync(out, { recursive: true });
  return data;
}

describe('vhdx: differencing disks', () => {
  let t: ReturnType<typeof tempDir>;
  let parent: string;
  let child: string;
  beforeEach(async () => {
    t = tempDir();
    parent = path.join(t.dir, 'parent.vhdx');
    child = path.join(t.dir, 'child.vhdx');
    await createVhdx(parent, { sizeBytes: SIZE, physicalSectorBytes: 512 });
    for (const [offset, data] of parentWrites) await writeVhdx(parent, offset, data);
  });
  afterEach(() => t.cleanup());

  it("a new child links to the parent's DataWriteGuid, takes its geometry, and passes 7zz t", async () => {
    await createDifferencingVhdx(child, { parentPath: parent });
    const p = await inspectVhdx(parent);
    const c = await inspectVhdx(child);
    assert.equal(c.hasParent, true);
    assert.equal(c.virtualSize, SIZE);
    assert.equal(c.blockSize, p.blockSize);
    assert.equal(c.logicalSectorSize, 512);
    assert.equal(c.physicalSectorSize, 512);
    assert.deepEqual(c.parentLocator, {
      locatorType: 'B04AEFB7-D19E-4A81-B789-25B8E9445913',
      entries: { parent_linkage: `{${p.dataWriteGuid}}`, relative_path: '.\\parent.vhdx' },
      parentLinkage: `{${p.dataWriteGuid}}`,
      relativePath: '.\\parent.vhdx',
    });
    assert.ok(c.metadataItems.some((m) => m.name === 'parentLocator' && m.isRequired));
    assert.equal(c.bat.entries, 4097, 'a differencing BAT covers whole chunks (ChunkRatio 4096 + 1)');
    assert.equal(c.bat.byState.notPresent, 32);
    const test = ok('7zz', ['t', child]);
    assert.match(test, /Method = Differencing -> dynamic/);
    assert.ok(extractWith7zip(child, t.dir).equals(parentImage));
    assert.ok((await readVhdx(child, 0, SIZE)).equals(parentImage));
  });

  it("child writes overlay the parent's bytes: readVhdx and 7zz x agree with the computed image", async () => {
    await createDifferencingVhdx(child, { parentPath: parent });
    const parentBefore = await inspectVhdx(parent);
    const writes: Array<[number, Buffer]> = [
      [100, pattern(0x21, 1000)], // part of two sectors inside parent data
      [2 * MiB - 512, pattern(0x22, 1024)], // across a block boundary
      [5 * MiB, pattern(0x23, MiB)], // a whole block where the parent has none
      [6 * MiB + 4096, pattern(0x24, 512)],
      [SIZE - 3, pattern(0x25, 3)], // the last bytes
    ];
    for (const [offset, data] of writes) await writeVhdx(child, offset, data);
    const expected = overlay(parentImage, writes);
    assert.ok((await readVhdx(child, 0, SIZE)).equals(expected), 'readVhdx');
    ok('7zz', ['t', child]);
    assert.ok(extractWith7zip(child, t.dir).equals(expected), '7zz x');
    const c = await inspectVhdx(child);
    assert.equal(c.bat.byState.fullyPresent, 1);
    assert.equal(c.bat.byState.partiallyPresent, 5); // blocks 0, 1, 2, 6, 31
    assert.deepEqual(c.bat.sectorBitmapBlocks, { present: 1, notPresent: 0 });
    // The parent is read, never written.
    assert.ok((await readVhdx(parent, 0, SIZE)).equals(parentImage));
    assert.equal((await inspectVhdx(parent)).dataWriteGuid, parentBefore.dataWriteGuid);
  });

  it('a grandchild reads through the whole chain (7zz agrees)', async () => {
    await createDifferencingVhdx(child, { parentPath: parent });
    await writeVhdx(child, MiB, pattern(0x31, 4096));
    const grandchild = path.join(t.dir, 'grandchild.vhdx');
    await createDifferencingVhdx(grandchild, { parentPath: child });
    await writeVhdx(grandchild, MiB + 2048, pattern(0x32, 4096));
    const expected = overlay(parentImage, [[MiB, pattern(0x31, 4096)], [MiB + 2048, pattern(0x32, 4096)]]);
    assert.ok((await readVhdx(grandchild, 0, SIZE)).equals(expected));
    assert.ok(extractWith7zip(grandchild, t.dir).equals(expected));
  });

  it('records explicit locator strings as given while opening the parent by its real path', async () => {
    fs.mkdirSync(path.join(t.dir, 'scratch'));
    const nested = path.join(t.dir, 'scratch', 'sandbox.vhdx');
    await createDifferencingVhdx(nested, {
      parentPath: parent,
      absoluteWin32Path: 'C:\\layers\\base\\parent.vhdx',
      volumePath: '\\\\?\\Volume{4c1b02c1-d990-11dc-99ae-806e6f6e6963}\\layers\\base\\parent.vhdx',
    });
    const c = await inspectVhdx(nested);
    assert.equal(c.parentLocator?.relativePath, '..\\parent.vhdx');
    assert.equal(c.parentLocator?.absoluteWin32Path, 'C:\\layers\\base\\parent.vhdx');
    assert.equal(c.parentLocator?.volumePath, '\\\\?\\Volume{4c1b02c1-d990-11dc-99ae-806e6f6e6963}\\layers\\base\\parent.vhdx');
    // 7-Zip lists the locator (it looks for parents only beside the child, so it cannot follow ..\).
    assert.match(run('7zz', ['l', '-slt', nested]).stdout, /absolute_win32_path: C:\\layers\\base\\parent\.vhdx/);
    assert.ok((await readVhdx(nested, 0, SIZE)).equals(parentImage), 'the ..\\ relative path resolves');
    await createDifferencingVhdx(child, { parentPath: parent, relativePath: '.\\parent.vhdx', blockSizeBytes: 2 * MiB });
    const d = await inspectVhdx(child);
    assert.equal(d.blockSize, 2 * MiB);
    await writeVhdx(child, 3 * MiB, pattern(0x41, 512));
    assert.ok((await readVhdx(child, 0, SIZE)).equals(overlay(parentImage, [[3 * MiB, pattern(0x41, 512)]])));
    assert.ok(extractWith7zip(child, t.dir).equals(overlay(parentImage, [[3 * MiB, pattern(0x41, 512)]])));
  });

  it('a wrong parent_linkage is caught by 7-Zip (exit 2) and by readVhdx', async () => {
    await createDifferencingVhdx(child, { parentPath: parent });
    ok('7zz', ['t', child]);
    // Change one hex digit of the linkage GUID inside the child's parent locator.
    const c = await inspectVhdx(child);
    const item = c.metadataItems.find((m) => m.name === 'parentLocator')!;
    const start = c.metadataRegion.offset + item.offset;
    const bytes = readFileRange(child, start, item.length);
    const at = bytes.indexOf(Buffer.from(c.parentLocator!.parentLinkage, 'utf16le'));
    assert.ok(at > 0);
    const digit = bytes[at + 2] === 0x30 ? 0x31 : 0x30;
    patchFile(child, start + at + 2, Buffer.from([digit]));
    const r = run('7zz', ['t', child]);
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stdout, /Method = Differencing -> \?/);
    await rejectsWith(readVhdx(child, 0, 512), 'ERR_VHDX_CORRUPT', /parent linkage mismatch/);
  });

  it('writing to the parent after the child was made breaks the link (new DataWriteGuid), for 7-Zip and for us', async () => {
    await createDifferencingVhdx(child, { parentPath: parent });
    await writeVhdx(parent, 0, pattern(0x99, 512));
    assert.equal(run('7zz', ['t', child]).status, 2);
    await rejectsWith(readVhdx(child, 0, 512), 'ERR_VHDX_CORRUPT', /parent linkage mismatch/);
  });

  it('a missing parent is ERR_IO ENOENT naming where it looked', async () => {
    await createDifferencingVhdx(child, { parentPath: parent });
    fs.renameSync(parent, path.join(t.dir, 'moved.vhdx'));
    const err = await rejectsWith(readVhdx(child, 0, 512), 'ERR_IO', /parent of .* not found \(tried '.*parent\.vhdx'\)/);
    assert.equal(err.errno, 'ENOENT');
    assert.equal(run('7zz', ['t', child]).status, 2);
  });

  it('creation needs a readable VHDX parent and a locator path; expand refuses a child', async () => {
    await rejectsWith(createDifferencingVhdx(child, { parentPath: path.join(t.dir, 'none.vhdx') }), 'ERR_IO', /ENOENT/);
    fs.writeFileSync(path.join(t.dir, 'text.vhdx'), 'not a disk');
    await rejectsWith(
      createDifferencingVhdx(child, { parentPath: path.join(t.dir, 'text.vhdx') }),
      'ERR_VHDX_CORRUPT',
      /not a VHDX file/,
    );
    await rejectsWith(createDifferencingVhdx(child, { parentPath: parent, relativePath: '' }), 'ERR_INVALID_ARGUMENT');
    assert.deepEqual(fs.readdirSync(t.dir).sort(), ['parent.vhdx', 'text.vhdx']);
    await createDifferencingVhdx(child, { parentPath: parent });
    await rejectsWith(expandVhdx(child, 2 * SIZE), 'ERR_INVALID_ARGUMENT', /differencing/);
    await rejectsWith(createDifferencingVhdx(child, { parentPath: parent }), 'ERR_VHDX_EXISTS');
  });
});
