// Many processes on one simulated host state directory (issue 10 point 2): every change is a
// locked read-modify-write, so nothing one process does is lost to another's stale copy;
// a container id is reserved atomically; a lock left by a dead process is taken over.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WcowError } from '../../lib/errors';
import { SimulatedHost, type HostSnapshot } from '../../lib/host/simulated';
import { SCENARIOS, allocate, prepareMachine, stage, type Scenario } from './scenarios';

const MAIN = path.join(__dirname, '../../lib/cli/main.js');
const EXAMPLES = path.join(__dirname, '../../../examples');
/**
 * CLI processes at once, and the rounds each runs: 50 in CI (issue 10), 10 in a local
 * `npm test` (each round is a process start); WCOW_MULTIPROCESS_ROUNDS overrides both.
 */
const WORKERS = 4;
const ROUNDS = Number(process.env.WCOW_MULTIPROCESS_ROUNDS ?? (process.env.CI === undefined ? 10 : 50));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function uvmBaseline(snapshot: HostSnapshot, id: string): void {
  const uvm = snapshot.uvms[id];
  assert.ok(uvm !== undefined, `${id} exists`);
  const fresh = SimulatedHost.baseline({ id });
  for (const k of ['scsi', 'vsmbShares', 'mappedPipes', 'vpciDevices', 'hvSocketServices'] as const) assert.deepEqual(uvm[k], fresh[k], `${id} ${k}`);
  assert.deepEqual(uvm.guest.combinedLayers, [], `${id} combined layers`);
  assert.deepEqual(uvm.guest.mappedVirtualDisks, [], `${id} guest disks`);
}

describe('reliability: several processes on one state directory', function () {
  this.timeout(600_000);
  let base: string;
  beforeEach(() => (base = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-mp-'))));
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('a host whose copy of the state is stale changes the latest state: a release and an allocation at once lose nothing', async () => {
    const root = path.join(base, 'root');
    const stateDir = path.join(base, 'state');
    fs.mkdirSync(root);
    const a = new SimulatedHost({ root, stateDir, latency: { hostCallMs: 2, guestRequestMs: 2 } });
    prepareMachine(root, a);
    const r = SCENARIOS[1] as Scenario;
    const s = SCENARIOS[4] as Scenario;
    const { uvm: rUvm } = await stage(a, r, path.join(base, 'ja'));
    // The second "process": its own host object on the same directory, loaded now.
    const b = new SimulatedHost({ root, stateDir, latency: { hostCallMs: 2, guestRequestMs: 2 } });
    const sUvm = await b.createUtilityVm(s.uvm!);
    const baselineR = a.snapshot().uvms['full@vm'];
    const r1 = await allocate(a, rUvm, r.container, { journal: path.join(base, 'ja') });
    const [s1] = await Promise.all([allocate(b, sUvm, s.container, { journal: path.join(base, 'jb') }), r1.resources.release({ all: true })]);
    // And once more from the first process, whose copy has not seen S1.
    await (await allocate(a, rUvm, r.container, { journal: path.join(base, 'ja') })).resources.release({ all: true });
    const after = new SimulatedHost({ root, stateDir }).snapshot();
    assert.deepEqual(after.uvms['full@vm'], baselineR, "R1's release is not undone by the other process's write");
    const held = after.uvms['many@vm']!;
    assert.ok(held.scsi.length > 1 && held.vsmbShares.length > 1, "S1's resources are all in the state");
    assert.deepEqual(held, b.snapshot().uvms['many@vm'], 'the state on disk is what the allocating process holds');
    await s1.resources.release({ all: true });
    uvmBaseline(new SimulatedHost({ root, stateDir }).snapshot(), 'many@vm');
  });

  it('two allocations of one id into one journal directory at once: exactly one wins, the other is ERR_ALREADY_EXISTS (20 tries)', async () => {
    const root = path.join(base, 'root');
    fs.mkdirSync(root);
    const host = new SimulatedHost({ root });
    prepareMachine(root, host);
    const s = SCENARIOS[0] as Scenario;
    const journal = path.join(base, 'journal');
    for (let t = 0; t < 20; t++) {
      const settled = await Promise.allSettled([0, 1].map((i) => allocate(host, undefined, { ...s.container, spec: { ...s.container.spec, windows: { ...s.container.spec.windows, layerFolders: [...s.container.spec.windows!.layerFolders!.slice(0, -1), `C:\\layers\\dup${t}-${i}`] } } }, { journal })));
      const won = settled.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
      const lost = settled.flatMap((x) => (x.status === 'rejected' ? [x.reason as unknown] : []));
      assert.equal(won.length, 1, `try ${t}: one allocation of '${s.container.id}'`);
      assert.ok(lost[0] instanceof WcowError && lost[0].code === 'ERR_ALREADY_EXISTS', `try ${t}: ${String(lost[0])}`);
      await won[0]!.resources.release({ all: true });
    }
  });

  it("a state lock left by a dead process is taken over; a live holder's lock is waited for", async () => {
    const root = path.join(base, 'root');
    const stateDir = path.join(base, 'state');
    fs.mkdirSync(root);
    const host = new SimulatedHost({ root, stateDir });
    const lockFile = path.join(stateDir, 'host-state.lock');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    fs.writeFileSync(lockFile, JSON.stringify({ pid: dead, nonce: 'x' }));
    await host.createUtilityVm({ id: 'a@vm' });
    assert.equal(fs.existsSync(lockFile), false, 'taken over and released');

    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(lockFile, JSON.stringify({ pid: holder.pid, nonce: 'y' }));
      let done = false;
      const creating = host.createUtilityVm({ id: 'b@vm' }).then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(done, false, 'waits while the holder lives');
      fs.rmSync(lockFile);
      await creating;
      assert.ok(new SimulatedHost({ root, stateDir }).snapshot().uvms['b@vm'] !== undefined);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it(`${WORKERS} CLI processes allocating and releasing at once on one state directory, --latency, ${ROUNDS} rounds: the baseline, no journal, nothing lost or doubled`, async () => {
    const root = path.join(base, 'root');
    const machine = ['--root', root];
    const setup = await cli(['allocate', path.join(EXAMPLES, 'hyperv-mounts', 'config.json'), '--hyperv', '--setup', '--id', 'setup', '--release', ...machine]);
    assert.equal(setup.status, 0, setup.stderr);
    const hyperv = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'hyperv-mounts', 'config.json'), 'utf8')) as { windows: { layerFolders: string[] } };
    const argon = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'process-isolated', 'config.json'), 'utf8')) as { windows: { layerFolders: string[] } };
    // Each worker its own scratch, writable folder and pipe: what two containers never share.
    const configs = Array.from({ length: WORKERS }, (_, i) => {
      fs.mkdirSync(path.join(root, 'C', 'data', `w${i}`), { recursive: true });
      const rw = { destination: 'C:\\rw', type: '', source: `C:\\data\\w${i}`, options: [] };
      const spec =
        i % 2 === 0
          ? {
              ociVersion: '1.1.0',
              mounts: [
                rw,
                { destination: 'C:\\ro', type: '', source: 'C:\\data\\ro', options: ['ro'] },
                { destination: 'C:\\app\\app.json', type: '', source: 'C:\\data\\cfg\\app.json', options: ['ro'] },
                { destination: '\\\\.\\pipe\\c', type: '', source: `\\\\.\\pipe\\w${i}` },
                { destination: 'C:\\vd', type: 'virtual-disk', source: 'C:\\disks\\data.vhdx', options: ['ro'] },
              ],
              windows: { layerFolders: [...hyperv.windows.layerFolders.slice(0, -1), `C:\\layers\\scratch-w${i}`], hyperv: {} },
            }
          : { ociVersion: '1.1.0', mounts: [rw], windows: { layerFolders: [...argon.windows.layerFolders.slice(0, -1), `C:\\layers\\scratch-w${i}`] } };
      const file = path.join(base, `w${i}.json`);
      fs.writeFileSync(file, JSON.stringify(spec));
      return file;
    });
    const failures: string[] = [];
    const worker = async (i: number): Promise<void> => {
      for (let r = 0; r < ROUNDS; r++) {
        const id = `w${i}r${r}`;
        const where = i % 2 === 1 ? [] : r === 0 ? ['--hyperv'] : ['--uvm', `w${i}r0@vm`];
        // Every fifth round releases from another process; the others in the allocating one.
        const apart = r % 5 === 4;
        const a = await cli(['allocate', configs[i]!, ...where, '--id', id, '--latency', '1', ...(apart ? [] : ['--release']), ...machine]);
        if (a.status !== 0) failures.push(`${id} allocate: ${a.stderr}`);
        if (apart) {
          const rel = await cli(['release', id, ...machine]);
          if (rel.status !== 0) failures.push(`${id} release: ${rel.stderr}`);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i)));
    assert.deepEqual(failures, []);
    const status = await cli(['status', '--json', ...machine]);
    assert.equal(status.status, 0, status.stderr);
    const out = JSON.parse(status.stdout) as { snapshot: HostSnapshot; journals: unknown[] };
    for (let i = 0; i < WORKERS; i += 2) uvmBaseline(out.snapshot, `w${i}r0@vm`);
    uvmBaseline(out.snapshot, 'setup@vm');
    assert.deepEqual(Object.keys(out.snapshot.uvms).sort(), ['setup@vm', ...Array.from({ length: WORKERS / 2 }, (_, k) => `w${2 * k}r0@vm`)].sort(), 'no UVM lost or made twice');
    assert.deepEqual(out.snapshot.layers, [], 'no layer left activated');
    assert.deepEqual(out.snapshot.ccgInstances, []);
    assert.deepEqual(out.journals, []);
  });
});
