// The simulated drives' case-insensitive look-ups go through an index of the
// directories (lib/host/simulated/dirindex.ts): a runtime's scratch folders pile up
// in C:\layers, and a look-up must not read that directory once per container —
// while files created, renamed or removed outside the model (by hand, by --setup,
// by node.exe under wine through the C: symlink) are still seen at once.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import nodeFs = require('node:fs');
import { SimulatedHost } from '../../lib/host/simulated';
import { makeDir, makeFile, newHost, real, tempRoot } from './support';

/** The directories `fs.readdirSync` read while `body` ran. */
async function readsDuring(body: () => Promise<void>): Promise<string[]> {
  const original = nodeFs.readdirSync;
  const reads: string[] = [];
  nodeFs.readdirSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    reads.push(String(p));
    return (original as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof nodeFs.readdirSync;
  try {
    await body();
  } finally {
    nodeFs.readdirSync = original;
  }
  return reads;
}

describe('simulated host: the file system index', () => {
  let host: SimulatedHost;
  beforeEach(() => {
    host = newHost();
    makeDir(host.root, 'C:\\layers\\base');
  });

  it('a new scratch folder per container does not read C:\\layers once per container', async () => {
    const layers = real(host.root, 'C:\\layers');
    const reads = await readsDuring(async () => {
      for (let i = 0; i < 50; i++) {
        const scratch = `C:\\layers\\scratch${i}`;
        assert.equal(await host.stat(scratch), undefined);
        await host.mkdirAll(scratch);
        assert.equal(await host.stat(`${scratch}\\sandbox.vhdx`), undefined);
        assert.equal((await host.stat(`c:\\LAYERS\\Scratch${i}`))?.isDirectory, true);
      }
    });
    assert.ok(reads.filter((r) => r === layers).length <= 1, `C:\\layers read ${reads.filter((r) => r === layers).length} times`);
    assert.equal(host.snapshot().filesCreated.length, 50);
  });

  it('a root on another file system than the temp directory keeps its index too (the probe runs in the root)', async function () {
    // tmpfs in /dev/shm: another device than os.tmpdir() on most Linux machines.
    if (!fs.existsSync('/dev/shm') || fs.statSync('/dev/shm').dev === fs.statSync(os.tmpdir()).dev) this.skip();
    const root = fs.mkdtempSync(path.join('/dev/shm', 'wcow-sim-'));
    try {
      const other = new SimulatedHost({ root, stateDir: false });
      makeDir(other.root, 'C:\\layers\\base');
      const layers = real(other.root, 'C:\\layers');
      const reads = await readsDuring(async () => {
        for (let i = 0; i < 50; i++) {
          await other.mkdirAll(`C:\\layers\\scratch${i}`);
          assert.equal(await other.stat(`C:\\layers\\scratch${i}\\sandbox.vhdx`), undefined);
        }
      });
      assert.ok(reads.filter((r) => r === layers).length <= 1, `C:\\layers read ${reads.filter((r) => r === layers).length} times`);
      assert.deepEqual(fs.readdirSync(root).sort(), ['C'], 'the probe leaves nothing in the root');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('folders and files created by hand after a look-up are found in any spelling', async () => {
    assert.equal(await host.stat('C:\\layers\\mylayer'), undefined);
    await host.mkdirAll('C:\\layers\\own');
    makeDir(host.root, 'C:\\layers\\MyLayer');
    makeFile(host.root, 'C:\\layers\\own\\Blank-Base.vhdx');
    assert.equal((await host.stat('C:\\layers\\mylayer'))?.isDirectory, true);
    assert.equal((await host.stat('C:\\LAYERS\\OWN\\blank-base.VHDX'))?.isFile, true);
    assert.equal(await host.resolvePath('c:\\layers\\mylayer'), (await host.resolvePath('C:\\layers\\MyLayer')));
  });

  it('a folder renamed or removed by hand after the model created it is gone in every spelling', async () => {
    await host.mkdirAll('C:\\layers\\Scratch\\Deep');
    assert.equal((await host.stat('c:\\layers\\scratch\\deep'))?.isDirectory, true);
    fs.renameSync(real(host.root, 'C:\\layers\\Scratch'), real(host.root, 'C:\\layers\\Moved'));
    assert.equal(await host.stat('c:\\layers\\scratch'), undefined);
    assert.equal((await host.stat('c:\\layers\\MOVED\\deep'))?.isDirectory, true);
    fs.rmSync(real(host.root, 'C:\\layers\\Moved'), { recursive: true });
    assert.equal(await host.stat('c:\\layers\\moved'), undefined);
    // MkdirAll after the removal creates the folder again, in the caller's spelling.
    await host.mkdirAll('C:\\layers\\moved');
    assert.equal(fs.statSync(real(host.root, 'C:\\layers\\moved')).isDirectory(), true);
  });

  it('a case variant written by hand right after the model’s own mkdir is seen, not hidden by the index', async () => {
    for (let i = 0; i < 20; i++) {
      await host.mkdirAll(`C:\\layers\\s${i}`);
      makeDir(host.root, `C:\\layers\\Hand${i}`);
      assert.equal((await host.stat(`C:\\layers\\hand${i}`))?.isDirectory, true, `hand${i}`);
    }
  });

  it('under wine, files node.exe creates through the C: symlink’s target are seen', async () => {
    const root = tempRoot();
    const driveC = path.join(root, 'prefix', 'drive_c');
    fs.mkdirSync(path.join(driveC, 'layers'), { recursive: true });
    fs.symlinkSync(driveC, path.join(root, 'C'));
    const wine = new SimulatedHost({ root });
    assert.equal(await wine.stat('C:\\layers\\l1'), undefined);
    await wine.mkdirAll('C:\\layers\\Own');
    fs.mkdirSync(path.join(driveC, 'layers', 'L1'));
    fs.writeFileSync(path.join(driveC, 'layers', 'Own', 'Sandbox.vhdx'), 'x');
    assert.equal((await wine.stat('C:\\layers\\l1'))?.isDirectory, true);
    assert.equal((await wine.stat('C:\\layers\\own\\sandbox.vhdx'))?.isFile, true);
    assert.match(await wine.resolvePath('c:\\LAYERS\\l1'), /\\layers\\L1$/);
    fs.rmSync(path.join(driveC, 'layers', 'L1'), { recursive: true });
    assert.equal(await wine.stat('C:\\layers\\l1'), undefined);
  });
});
