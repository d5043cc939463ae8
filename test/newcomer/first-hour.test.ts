// Issue 11, a runtime author's first hour: the library's defaults as a newcomer meets
// them — one state layout shared with the CLI, release() releasing everything, a helper
// for the simulated drives' real paths, and a coded error when the native build is missing.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocateWindowsResources } from '../../lib/allocate';
import { createHost, stateLayout } from '../../lib/host/index';
import { SimulatedHost } from '../../lib/host/simulated';
import { loadNative } from '../../lib/native';
import type { OciSpec } from '../../lib/oci/types';
import { rejects } from '../allocate/fixtures';

const MAIN = path.join(__dirname, '../../lib/cli/main.js');

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LAYER = 'C:\\layers\\base';
const SCRATCH = 'C:\\layers\\scratch-c1';

/** A base layer folder and a directory mount source on the simulated drives of `host`. */
function prepare(host: SimulatedHost): OciSpec {
  fs.mkdirSync(host.hostPath(LAYER), { recursive: true });
  fs.mkdirSync(host.hostPath('C:\\data\\rw'), { recursive: true });
  return {
    ociVersion: '1.1.0',
    mounts: [{ destination: 'C:\\rw', type: '', source: 'C:\\data\\rw', options: [] }],
    windows: { layerFolders: [LAYER, SCRATCH], hyperv: {} },
  };
}

/** Run `fn` with a fresh temporary directory, removed afterwards. */
async function inTemp(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-newcomer-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('newcomer: one state layout for the library and the CLI (issue 11 point 3)', () => {
  let top: string;
  let root: string;
  beforeEach(() => {
    top = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-newcomer-'));
    root = path.join(top, 'host');
    fs.mkdirSync(root);
  });
  afterEach(() => fs.rmSync(top, { recursive: true, force: true }));

  it('SimulatedHost({ root }) keeps its state in <root>.state: a second host on the same root opens the UVM', async () => {
    const first = new SimulatedHost({ root });
    assert.equal(first.stateDir, `${root}.state`);
    await first.createUtilityVm({ id: 'demo@vm' });
    assert.ok(fs.existsSync(path.join(`${root}.state`, 'host-state.json')));
    const second = new SimulatedHost({ root });
    const vm = await second.openUtilityVm('demo@vm');
    assert.equal(vm.id, 'demo@vm');
  });

  it('stateDir: false keeps everything in memory', async () => {
    const host = new SimulatedHost({ root, stateDir: false });
    await host.createUtilityVm({ id: 'mem@vm' });
    assert.equal(host.stateDir, undefined);
    assert.equal(fs.existsSync(`${root}.state`), false);
  });

  it('a library allocation on createHost({ root }) journaled in stateLayout(root).journalDir shows in `status` and is released by `release`', async () => {
    const host = createHost({ root }) as SimulatedHost;
    const layout = stateLayout(root);
    assert.deepEqual(layout, { root, stateDir: `${root}.state`, journalDir: path.join(`${root}.state`, 'journal') });
    const spec = prepare(host);
    const uvm = await host.createUtilityVm({ id: 'lib@vm' });
    await allocateWindowsResources({ id: 'lib1', spec, host, uvm, journal: layout.journalDir });

    const status = cli(['status', '--root', root, '--json']);
    assert.equal(status.status, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { snapshot: { uvms: Record<string, { vsmbShares: unknown[] }> }; journals: { id: string }[] };
    assert.ok(s.snapshot.uvms['lib@vm'], 'status shows the library UVM');
    assert.deepEqual(s.journals.map((j) => j.id), ['lib1']);

    // The journal's owner (this process) runs: release refuses until it has "exited",
    // so hand it over as a process that died would (its owner record says so).
    const journal = fs.readdirSync(layout.journalDir).map((f) => path.join(layout.journalDir, f))[0]!;
    const text = fs.readFileSync(journal, 'utf8').replace(/"pid":\d+/, '"pid":999999999');
    fs.writeFileSync(journal, text);

    const r = cli(['release', 'lib1', '--root', root, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { undone: { outcome: string }[] };
    assert.ok(out.undone.length > 0);
    assert.ok(out.undone.every((u) => u.outcome !== 'already-gone'), JSON.stringify(out.undone));
    const after = new SimulatedHost({ root }).snapshot().uvms['lib@vm']!;
    assert.deepEqual(after, SimulatedHost.baseline({ id: 'lib@vm' }));
  });
});

describe('newcomer: release() releases everything (issue 11 point 4)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-newcomer-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('release() with no argument removes the mounts, then the layers; the UVM is back at its baseline', async () => {
    const host = new SimulatedHost({ root, stateDir: false });
    const spec = prepare(host);
    const uvm = await host.createUtilityVm({ id: 'pod@vm' });
    const a = await allocateWindowsResources({ id: 'c1', spec, host, uvm });
    await a.resources.release();
    assert.deepEqual(host.snapshot().uvms['pod@vm'], SimulatedHost.baseline({ id: 'pod@vm' }));
    assert.deepEqual(a.resources.toJSON().closers, []);
  });

  it("release({ all: false }) is hcsshim's partial mode: the mounts stay", async () => {
    const host = new SimulatedHost({ root, stateDir: false });
    const spec = prepare(host);
    const uvm = await host.createUtilityVm({ id: 'pod@vm' });
    const a = await allocateWindowsResources({ id: 'c1', spec, host, uvm });
    await a.resources.release({ all: false });
    assert.equal(a.resources.toJSON().closers.length, 1);
    assert.ok(host.snapshot().uvms['pod@vm']!.vsmbShares.some((s) => s.path === 'C:\\data\\rw'));
  });
});

describe('newcomer: simulated drive paths (issue 11 point 7)', () => {
  it('host.hostPath maps C:\\… to <root>/C/…, existing components in their on-disk spelling, and refuses what is not a drive path', () => {
    return inTemp((root) => {
      const host = new SimulatedHost({ root, stateDir: false });
      assert.equal(host.hostPath('C:\\disks\\a.vhdx'), path.join(root, 'C', 'disks', 'a.vhdx'));
      fs.mkdirSync(path.join(root, 'C', 'Disks'), { recursive: true });
      assert.equal(host.hostPath('c:\\DISKS\\a.vhdx'), path.join(root, 'C', 'Disks', 'a.vhdx'));
      assert.throws(() => host.hostPath('disks\\a.vhdx'), { code: 'ERR_INVALID_ARGUMENT' });
      assert.throws(() => host.hostPath('\\\\.\\pipe\\p'), { code: 'ERR_INVALID_ARGUMENT' });
    });
  });
});

describe('newcomer: a missing native build (issue 11 point 5)', () => {
  it('fails at first use with ERR_NATIVE_MISSING naming the fix, not ERR_INTERNAL', () =>
    inTemp(async (empty) => {
      const err = await rejects(Promise.resolve().then(() => loadNative(empty)));
      assert.equal(err.code, 'ERR_NATIVE_MISSING');
      assert.match(err.message, /npm rebuild wcow-resources/);
      assert.equal(err.resource, empty);
    }));
});

describe('newcomer: the abort message (issue 11 point 8)', () => {
  it("carries the signal's reason, not only in cause", () =>
    inTemp(async (root) => {
      const host = new SimulatedHost({ root, stateDir: false });
      const spec = prepare(host);
      const err = await rejects(allocateWindowsResources({ id: 'c1', spec, host, signal: AbortSignal.abort(new Error('runtime shutting down')) }));
      assert.equal(err.code, 'ERR_ABORTED');
      assert.equal(err.message, 'the operation was aborted: runtime shutting down');
    }));
});
