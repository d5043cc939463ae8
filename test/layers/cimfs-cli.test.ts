// examples/cimfs from the command line: `allocate --rootfs … --setup` mounts the CimFS image
// (CIM mount, activation, overlay filter), a second process releases it from the journal,
// and `--release --json` leaves the simulated host as it found it.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimulatedHost } from '../../lib/host/simulated';
import { cimVolumeGuid } from '../../lib/layers';
import { packageRoot } from '../../lib/native';

const MAIN = path.join(__dirname, '../../lib/cli/main.js');
const EXAMPLE = path.join(packageRoot(), 'examples', 'cimfs');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI: examples/cimfs with --rootfs', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-cimfs-cli-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('allocate --setup mounts the CIM and attaches the filter; release in another process takes both away', () => {
    const root = path.join(dir, 'root');
    const config = path.join(EXAMPLE, 'config.json');
    const rootfs = path.join(EXAMPLE, 'rootfs.json');
    const a = cli('allocate', config, '--rootfs', rootfs, '--setup', '--id', 'cim1', '--root', root, '--json');
    assert.equal(a.status, 0, a.stderr);
    const out = JSON.parse(a.stdout) as { hostCalls: { api: string }[]; containerDocument: { Storage: { Layers: { Id: string }[] } } };
    assert.deepEqual(
      out.hostCalls.map((c) => c.api).filter((api) => api !== 'ResolvePath'),
      ['CimMountImage', 'ActivateLayer', 'GetLayerMountPath', 'HcsAttachOverlayFilter'],
    );
    assert.equal(out.containerDocument.Storage.Layers[0]!.Id, cimVolumeGuid('cim1'));
    const held = new SimulatedHost({ root }).snapshot();
    assert.equal(held.cimMounts.length, 1);
    assert.equal(held.overlayFilters.length, 1);

    const r = cli('release', 'cim1', '--root', root);
    assert.equal(r.status, 0, r.stderr);
    const after = new SimulatedHost({ root }).snapshot();
    assert.deepEqual([after.cimMounts, after.overlayFilters, after.layers], [[], [], []]);
  });

  it('status lists the CIM mount and the overlay filter with the container holding them, text and --json, and what recover would undo — which recover then undoes', () => {
    const root = path.join(dir, 'root');
    const a = cli('allocate', path.join(EXAMPLE, 'config.json'), '--rootfs', path.join(EXAMPLE, 'rootfs.json'), '--setup', '--id', 'cim1', '--root', root, '--json');
    assert.equal(a.status, 0, a.stderr);
    const guid = cimVolumeGuid('cim1');
    const held = new SimulatedHost({ root }).snapshot();
    const volume = held.overlayFilters[0]!.volumePath;

    const s = cli('status', '--root', root, '--json');
    assert.equal(s.status, 0, s.stderr);
    type Status = {
      cimMounts: { volumeGuid: string; cimPath: string; container: string }[];
      overlayFilters: { volumePath: string; filterType: string; container: string }[];
      journals: { id: string; holds: { op: string; resource: string }[] }[];
    };
    const out = JSON.parse(s.stdout) as Status;
    assert.deepEqual(out.cimMounts.map((m) => [m.volumeGuid, m.cimPath, m.container]), [[guid, held.cimMounts[0]!.cimPath, 'cim1']]);
    assert.deepEqual(out.overlayFilters.map((f) => [f.volumePath, f.filterType, f.container]), [[volume, 'UnionFS', 'cim1']]);
    const holds = out.journals.find((j) => j.id === 'cim1')!.holds;
    assert.deepEqual(holds.map((h) => h.op).sort(), ['cim.dismount', 'layer.deactivate', 'overlay.detach']);

    const text = cli('status', '--root', root).stdout;
    assert.match(text, /^CIM mounts: 1$/m);
    assert.match(text, new RegExp(`^${guid}\\s+\\S+\\.cim\\s+cim1$`, 'm'));
    assert.match(text, /^overlay filters: 1$/m);
    assert.ok(text.split('\n').some((l) => l.startsWith(volume) && /\sUnionFS\s/.test(l) && l.trimEnd().endsWith('cim1')), text);
    assert.match(text, /^recover would undo: 3$/m);
    for (const h of holds) assert.ok(text.split('\n').some((l) => /^cim1\s/.test(l) && l.includes(h.op) && l.includes(h.resource)), `${h.op} ${h.resource}\n${text}`);

    const r = cli('recover', '--root', root, '--json');
    assert.equal(r.status, 0, r.stderr);
    const undone = (JSON.parse(r.stdout) as { undone: { op: string; resource: string }[] }).undone;
    assert.deepEqual(undone.map((u) => `${u.op} ${u.resource}`).sort(), holds.map((h) => `${h.op} ${h.resource}`).sort());
    const after = JSON.parse(cli('status', '--root', root, '--json').stdout) as Status;
    assert.deepEqual([after.cimMounts, after.overlayFilters, after.journals], [[], [], []]);
  });

  it('a malformed --rootfs file is refused before any call (ERR_INVALID_ARGUMENT, exit status ≠ 0)', () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ rootfs: [{ type: 'CimFS' }] }));
    const r = cli('allocate', path.join(EXAMPLE, 'config.json'), '--rootfs', bad, '--root', path.join(dir, 'root'), '--json');
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /ERR_INVALID_ARGUMENT/);
  });
});
