// The wcow-resources executable, spawned as a user would run it, on the examples.

import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { uvmOptionsFor } from '../../lib/cli/machine';
import { SimulatedHost, type HostSnapshot } from '../../lib/host/simulated';
import { packageRoot } from '../../lib/native';

// Compiled to <out>/test/cli/: the CLI is <out>/lib/cli/main.js, the examples are in the package root.
const MAIN = path.join(__dirname, '../../lib/cli/main.js');
const EXAMPLES = path.join(packageRoot(), 'examples');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T = Record<string, unknown>>(r: Run): T {
  return JSON.parse(r.stdout) as T;
}

function example(name: string): string {
  return path.join(EXAMPLES, name, 'config.json');
}

interface Call {
  api: string;
  target?: string;
}

interface Step {
  step: string;
  kind: 'step' | 'call';
  target?: string;
}

interface AllocateJson {
  id: string;
  uvm: string | null;
  rootPath: string;
  containerRootInUvm: string | null;
  containerDocument: Record<string, unknown>;
  steps: Step[];
  hostCalls: Call[];
}

interface StatusJson {
  snapshot: HostSnapshot;
  journals: { id: string; path: string; pid: number; alive: boolean; held: number }[];
}

/** Acquisitions journaled so far in `dir` (lines written before their calls). */
function acquisitions(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  // Only journals: a journal being created is a temporary file that is linked, then removed.
  return fs.readdirSync(dir).filter((f) => f.endsWith('.journal')).reduce((n, f) => n + (fs.readFileSync(path.join(dir, f), 'utf8').match(/"t":"acquire"/g)?.length ?? 0), 0);
}

async function until(condition: () => boolean, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const HYPERV = ['hyperv-mounts', 'gpu-vpci', 'guest-drivers'];
const PROCESS = ['process-isolated', 'gmsa'];

describe('wcow-resources CLI', function () {
  let root: string;
  let scratch: string;

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-cli-'));
    root = path.join(scratch, 'root');
  });

  after(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('--help documents the exit codes and exits 0', () => {
    const r = cli(['--help']);
    assert.equal(r.status, 0);
    for (const line of ['0  success', '1  the operation failed', '2  usage error', '3  invalid input']) assert.match(r.stdout, new RegExp(line));
  });

  describe('plan', () => {
    for (const name of [...PROCESS, ...HYPERV]) {
      const hyperv = HYPERV.includes(name);
      it(`plans ${name} (${hyperv ? 'hypervisor' : 'process'}-isolated) and sends nothing to the host`, () => {
        const r = cli(['plan', example(name), '--root', root, '--setup', '--id', `plan-${name}`, '--json', ...(hyperv ? ['--hyperv'] : [])]);
        assert.equal(r.status, 0, r.stderr);
        const out = json<{ plan: { isolation: string; calls: { api: string }[] }; hostCalls: (Call & { mutating: boolean })[]; uvm: string | null }>(r);
        assert.equal(out.plan.isolation, hyperv ? 'hypervisor' : 'process');
        assert.equal(out.uvm, hyperv ? `plan-${name}@vm` : null);
        assert.ok(out.plan.calls.length > 0);
        // Reads (NameToGuid, ResolvePath) are allowed; nothing that changes the host's state.
        assert.deepEqual(out.hostCalls.filter((c) => c.mutating), []);
        assert.ok(out.hostCalls.every((c) => ['NameToGuid', 'ResolvePath'].includes(c.api)));
      });
    }

    it('prints the calls in order as a table, with every document allocate would send', () => {
      const r = cli(['plan', example('hyperv-mounts'), '--root', root, '--setup', '--hyperv', '--id', 'p1']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /plan for container p1: hypervisor-isolated in p1@vm/);
      assert.match(r.stdout, /HcsModifyComputeSystem\s+p1@vm\s+VirtualMachine\/Devices\/MappedPipes\/\\\\\.\\pipe\\foo/);
      assert.match(r.stdout, /"ResourcePath": "VirtualMachine\/Devices\/MappedPipes\/\\\\\\\\.\\\\pipe\\\\foo"/);
      assert.match(r.stdout, /host calls while planning: \d+ \(0 changing state\)/);
    });
  });

  describe('allocate', () => {
    // Allocations outlive their process (the state directory): each test gets a machine
    // state of its own, so that one test's container does not hold what the next attaches.
    let state: string[];
    let n = 0;
    beforeEach(() => {
      state = ['--state-dir', path.join(scratch, `allocate-state-${n++}`)];
    });

    it('hyperv-mounts: root in the UVM, every mount kind in the container document', () => {
      const r = cli(['allocate', example('hyperv-mounts'), '--hyperv', '--setup', '--root', root, '--id', 'm1', '--json', ...state]);
      assert.equal(r.status, 0, r.stderr);
      const out = json<AllocateJson>(r);
      assert.equal(out.uvm, 'm1@vm');
      assert.equal(out.rootPath, 'C:\\c\\1');
      assert.equal(out.containerRootInUvm, 'C:\\c\\1');
      const doc = out.containerDocument as { MappedDirectories: { ContainerPath: string }[]; MappedPipes: { ContainerPipeName: string }[] };
      assert.deepEqual(
        doc.MappedDirectories.map((d) => d.ContainerPath),
        ['C:\\rw', 'C:\\ro', 'C:\\app\\app.json', 'C:\\sb', 'C:\\pd', 'C:\\vd', 'C:\\evd'],
      );
      assert.deepEqual(doc.MappedPipes.map((p) => p.ContainerPipeName), ['bar']);
    });

    it('process-isolated: the root is the activated scratch volume', () => {
      const r = cli(['allocate', example('process-isolated'), '--setup', '--root', root, '--id', 'p1', '--json', ...state]);
      assert.equal(r.status, 0, r.stderr);
      const out = json<AllocateJson>(r);
      assert.equal(out.uvm, null);
      assert.match(out.rootPath, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}\\$/);
      assert.ok(out.hostCalls.some((c) => c.api === 'ActivateLayer'));
    });

    it('gmsa: a Container Credential Guard instance for the credential spec', () => {
      const r = cli(['allocate', example('gmsa'), '--setup', '--root', root, '--id', 'g1', '--json', ...state]);
      assert.equal(r.status, 0, r.stderr);
      const out = json<AllocateJson>(r);
      assert.ok(out.containerDocument.ContainerCredentialGuard !== undefined);
      assert.ok(out.hostCalls.some((c) => c.api === 'HcsModifyServiceSettings'));
    });

    it('gpu-vpci: the vpci instance id becomes a location path in the UVM', () => {
      const r = cli(['allocate', example('gpu-vpci'), '--hyperv', '--setup', '--root', root, '--id', 'gpu1', '--json', ...state]);
      assert.equal(r.status, 0, r.stderr);
      const devices = json<AllocateJson>(r).containerDocument.AssignedDevices as { Type: string; LocationPath: string }[];
      assert.equal(devices.length, 1);
      assert.equal(devices[0]?.Type, 'DeviceInstance');
    });

    it('guest-drivers: each driver directory is shared and installed with pnputil', () => {
      const r = cli(['allocate', example('guest-drivers'), '--hyperv', '--setup', '--root', root, '--id', 'd1', '--json', ...state]);
      assert.equal(r.status, 0, r.stderr);
      const execs = json<AllocateJson>(r).hostCalls.filter((c) => c.api === 'Exec');
      assert.equal(execs.length, 2);
    });

    it('the trace events of an allocation and its release are the calls the host received, in order', () => {
      const r = cli(['allocate', example('hyperv-mounts'), '--hyperv', '--setup', '--release', '--root', root, '--id', 't1', '--json', ...state]);
      assert.equal(r.status, 0, r.stderr);
      const out = json<AllocateJson>(r);
      // APIs, not targets: for GrantVmAccess the trace names the VM, the host log the file.
      const traced = out.steps.filter((s) => s.kind === 'call').map((s) => s.step);
      const received = out.hostCalls.map((c) => c.api);
      assert.ok(received.includes('GrantVmAccess') && received.includes('ResolvePath'), 'host-side calls are included');
      assert.ok(received.length > 20);
      assert.deepEqual(traced, received);
    });

    it('prints the root, the container document and a step timing table', () => {
      const r = cli(['allocate', example('hyperv-mounts'), '--hyperv', '--setup', '--root', root, '--id', 'h1', ...state]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /root path:\s+C:\\c\\1/);
      assert.match(r.stdout, /"MappedDirectories"/);
      assert.match(r.stdout, /at ms\s+ms\s+step \/ host call/);
      assert.match(r.stdout, /layers\.mount/);
      assert.match(r.stdout, /→ GrantVmAccess\s+h1@vm/);
      assert.match(r.stderr, /created utility VM h1@vm/);
    });
  });

  describe('errors and exit codes', () => {
    function writeConfig(name: string, content: string): string {
      const file = path.join(scratch, name);
      fs.writeFileSync(file, content);
      return file;
    }

    it('a spec without layer folders is invalid input: exit 3, ERR_INVALID_SPEC, one JSON error document', () => {
      const bad = writeConfig('no-layers.json', JSON.stringify({ ociVersion: '1.1.0', windows: {} }));
      const r = cli(['allocate', bad, '--root', root, '--json']);
      assert.equal(r.status, 3);
      assert.equal(json<{ error: { code: string; message: string } }>(r).error.code, 'ERR_INVALID_SPEC');
      assert.match(r.stderr, /^error ERR_INVALID_SPEC: field 'Spec.Windows.Layerfolders' is not populated$/m);
      assert.match(r.stderr, /^hint: /m);
    });

    it('a bind mount is rejected by plan with hcsshim wording: exit 3', () => {
      const spec = JSON.parse(fs.readFileSync(example('hyperv-mounts'), 'utf8')) as { mounts: { type: string }[] };
      spec.mounts[0]!.type = 'bind';
      const r = cli(['plan', writeConfig('bind.json', JSON.stringify(spec)), '--root', root, '--hyperv']);
      assert.equal(r.status, 3);
      assert.match(r.stderr, /^error ERR_UNSUPPORTED_MOUNT_TYPE: invalid OCI spec - Type 'bind' not supported/m);
    });

    it('a config that is not JSON: exit 3, ERR_INVALID_SPEC', () => {
      const r = cli(['plan', writeConfig('broken.json', '{ "windows": '), '--root', root]);
      assert.equal(r.status, 3);
      assert.match(r.stderr, /^error ERR_INVALID_SPEC: invalid OCI spec - .*broken\.json is not valid JSON/m);
    });

    it('a missing config file: exit 3, ERR_INVALID_ARGUMENT', () => {
      const r = cli(['allocate', path.join(scratch, 'nope.json'), '--root', root, '--json']);
      assert.equal(r.status, 3);
      assert.equal(json<{ error: { code: string; errno: string } }>(r).error.errno, 'ENOENT');
      assert.match(r.stderr, /^error ERR_INVALID_ARGUMENT: cannot read OCI config .*nope\.json/m);
    });

    it('usage errors: exit 2 with ERR_USAGE', () => {
      for (const args of [['allocate'], ['frobnicate'], ['plan', example('gmsa'), '--no-such-option'], ['vhdx', 'create', 'x.vhdx', '--size', '12XB']]) {
        const r = cli(args);
        assert.equal(r.status, 2, args.join(' '));
        assert.match(r.stderr, /^error ERR_USAGE: /m);
      }
    });

    it('--hyperv and --uvm together are invalid input', () => {
      const r = cli(['allocate', example('gmsa'), '--hyperv', '--uvm', 'x@vm', '--root', root]);
      assert.equal(r.status, 3);
    });

    it('an operation failure exits 1 with the code and its hint', () => {
      const r = cli(['allocate', example('gmsa'), '--uvm', 'missing@vm', '--root', root]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^error ERR_HCS: hcs::OpenComputeSystem missing@vm: /m);
      assert.match(r.stderr, /^hint: the Host Compute Service failed the call/m);
    });
  });

  describe('vhdx', () => {
    it('creates, expands and inspects a VHDX', () => {
      const file = path.join(scratch, 'disk.vhdx');
      const created = cli(['vhdx', 'create', file, '--size', '1GiB', '--block-size', '2MiB', '--json']);
      assert.equal(created.status, 0, created.stderr);
      assert.equal(json<{ virtualSize: number; blockSize: number }>(created).virtualSize, 2 ** 30);
      assert.equal(json<{ virtualSize: number; blockSize: number }>(created).blockSize, 2 * 2 ** 20);
      const expanded = cli(['vhdx', 'expand', file, '--size', '3GiB', '--json']);
      assert.equal(expanded.status, 0, expanded.stderr);
      const inspected = cli(['vhdx', 'inspect', file]);
      assert.equal(inspected.status, 0, inspected.stderr);
      assert.match(inspected.stdout, /^virtual size:\s+3 GiB \(3221225472 bytes\)$/m);
      assert.match(inspected.stdout, /^type:\s+dynamic$/m);
    });

    it('inspecting a file that does not exist fails with exit 1', () => {
      const r = cli(['vhdx', 'inspect', path.join(scratch, 'none.vhdx'), '--json']);
      assert.equal(r.status, 1);
      assert.equal(json<{ error: { code: string } }>(r).error.code, 'ERR_IO');
    });
  });

  describe('state commands', () => {
    it('status --json reports the simulated host snapshot, its state beside the drives by default', () => {
      const r = cli(['status', '--root', root, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const out = json<{ host: { kind: string; root: string; stateDir: string }; snapshot: { uvms: Record<string, unknown> }; journals: unknown[] }>(r);
      assert.equal(out.host.kind, 'simulated');
      assert.equal(out.host.root, root);
      assert.equal(out.host.stateDir, `${root}.state`);
      assert.deepEqual(out.snapshot.uvms, {});
      assert.deepEqual(out.journals, []);
    });

    it('physical drives registered by --setup are host state: a later process sees them', () => {
      const machine = ['--root', path.join(scratch, 'drives', 'root')];
      // plan sends nothing that changes state, so only the registration itself can have saved the drive.
      assert.equal(cli(['plan', example('hyperv-mounts'), '--setup', '--hyperv', ...machine]).status, 0);
      const out = json<StatusJson>(cli(['status', '--json', ...machine]));
      assert.deepEqual(out.snapshot.physicalDrives, [2]);
    });

    it('release of an id nobody allocated: exit 1, ERR_NOT_FOUND with a hint', () => {
      const r = cli(['release', 'nobody', '--root', root, '--json']);
      assert.equal(r.status, 1);
      assert.equal(json<{ error: { code: string } }>(r).error.code, 'ERR_NOT_FOUND');
      assert.match(r.stderr, /^error ERR_NOT_FOUND: no allocated container 'nobody' in /m);
      assert.match(r.stderr, /^hint: .*`wcow-resources status` lists the containers and UVMs there are/m);
    });
  });

  describe('across processes', () => {
    const config = example('hyperv-mounts');
    // What the released UVM must be back to; what hcsshim never releases (guest
    // directories, VM access grants, the scratch folder) is not compared.
    function assertBaseline(out: StatusJson, uvmId: string): void {
      const uvm = out.snapshot.uvms[uvmId];
      assert.ok(uvm !== undefined, `${uvmId} exists`);
      const fresh = SimulatedHost.baseline(uvmOptionsFor(uvmId, JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>));
      for (const k of ['scsi', 'vsmbShares', 'mappedPipes', 'vpciDevices', 'hvSocketServices'] as const) assert.deepEqual(uvm[k], fresh[k], k);
      assert.deepEqual(uvm.guest.combinedLayers, []);
      assert.deepEqual(uvm.guest.mappedVirtualDisks, []);
      assert.deepEqual(out.snapshot.layers, []);
      assert.deepEqual(out.snapshot.ccgInstances, []);
      assert.deepEqual(out.journals, []);
    }

    it('allocate (--hyperv --setup), status, release: three processes, the UVM back at its baseline', () => {
      const machine = ['--root', path.join(scratch, 'xp', 'root')];
      const allocated = cli(['allocate', config, '--hyperv', '--setup', '--id', 'x1', '--json', ...machine]);
      assert.equal(allocated.status, 0, allocated.stderr);
      const a = json<AllocateJson & { journal: string; releaseWith: string }>(allocated);
      assert.equal(a.releaseWith, `wcow-resources release x1 --root ${path.join(scratch, 'xp', 'root')}`);

      const during = cli(['status', '--json', ...machine]);
      assert.equal(during.status, 0, during.stderr);
      const s = json<StatusJson>(during);
      const uvm = s.snapshot.uvms['x1@vm']!;
      // The container's scratch at LUN 1 mounted as its root, the physical disk --setup registered, the rw share.
      assert.ok(uvm.scsi.some((d) => d.lun === 1 && d.guestPath === 'C:\\c\\1'));
      assert.ok(uvm.scsi.some((d) => d.path === '\\\\.\\PHYSICALDRIVE2'));
      assert.ok(uvm.vsmbShares.some((v) => v.path === 'C:\\data\\rw'));
      assert.equal(s.journals.length, 1);
      const j = s.journals[0]!;
      assert.deepEqual([j.id, j.path, j.alive], ['x1', a.journal, false]);
      assert.ok(j.held > 10);
      assert.match(cli(['status', ...machine]).stdout, /^x1\s+\d+\s+exited\s+\d+\s+/m);

      const released = cli(['release', 'x1', '--json', ...machine]);
      assert.equal(released.status, 0, released.stderr);
      const rel = json<{ undone: { op: string }[]; keptForLive: unknown[] }>(released);
      assert.equal(rel.undone.length, j.held);
      assert.deepEqual(rel.keptForLive, []);

      const after = cli(['status', '--json', ...machine]);
      assert.equal(after.status, 0, after.stderr);
      assertBaseline(json<StatusJson>(after), 'x1@vm');
      assert.ok(!fs.existsSync(a.journal));

      // The UVM is left, at its baseline, for the next container; another process can allocate into it.
      const again = cli(['allocate', config, '--uvm', 'x1@vm', '--id', 'x2', '--json', ...machine]);
      assert.equal(again.status, 0, again.stderr);
      assert.equal(cli(['release', 'x2', ...machine]).status, 0);
    });

    it('an allocation that would collide with a pending one is refused before any side effect', () => {
      const machine = ['--root', path.join(scratch, 'collide', 'root')];
      assert.equal(cli(['allocate', config, '--hyperv', '--setup', '--id', 'y1', ...machine]).status, 0);
      const before = json<StatusJson>(cli(['status', '--json', ...machine]));

      const sameId = cli(['allocate', example('gmsa'), '--setup', '--id', 'y1', '--json', ...machine]);
      assert.equal(sameId.status, 1);
      assert.equal(json<{ error: { code: string } }>(sameId).error.code, 'ERR_ALREADY_EXISTS');
      assert.match(sameId.stderr, /release it first: wcow-resources release y1 --root /);

      const busyUvm = cli(['allocate', example('gmsa'), '--setup', '--uvm', 'y1@vm', '--id', 'y2', ...machine]);
      assert.equal(busyUvm.status, 3);
      assert.match(busyUvm.stderr, /^error ERR_INVALID_ARGUMENT: --uvm y1@vm: container 'y1' of process \d+ is allocated in it/m);

      assert.deepEqual(json<StatusJson>(cli(['status', '--json', ...machine])), before);
      assert.equal(cli(['release', 'y1', ...machine]).status, 0);
    });

    it('recover after an allocation SIGKILLed mid-way returns the host to its baseline; release refuses while the owner runs', async () => {
      // An explicit --state-dir, away from the drives.
      const machine = ['--root', path.join(scratch, 'kill', 'root'), '--state-dir', path.join(scratch, 'kill-state')];
      const journals = path.join(scratch, 'kill-state', 'journal');
      const child = spawn(process.execPath, [MAIN, 'allocate', config, '--hyperv', '--setup', '--id', 'k1', '--latency', '40', ...machine], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      // Mid-way: some acquisitions are journaled (and so may have happened), the allocation is not finished.
      await until(() => acquisitions(journals) >= 4);
      assert.equal(child.exitCode, null, 'the allocation is still running');

      const refused = cli(['release', 'k1', '--json', ...machine]);
      assert.equal(refused.status, 1);
      assert.equal(json<{ error: { code: string } }>(refused).error.code, 'ERR_JOURNAL');
      assert.match(refused.stderr, new RegExp(`belongs to process ${child.pid}, which is still running`));

      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      const left = json<StatusJson>(cli(['status', '--json', ...machine]));
      assert.equal(left.journals.length, 1);
      assert.deepEqual([left.journals[0]!.id, left.journals[0]!.alive, left.journals[0]!.pid], ['k1', false, child.pid]);
      assert.ok(left.journals[0]!.held > 0);

      const recovered = cli(['recover', '--json', ...machine]);
      assert.equal(recovered.status, 0, recovered.stderr);
      const report = json<{ journals: { id: string; status: string }[]; undone: unknown[] }>(recovered);
      assert.deepEqual(report.journals.map((r) => [r.id, r.status]), [['k1', 'recovered']]);
      assert.equal(report.undone.length, left.journals[0]!.held);

      assertBaseline(json<StatusJson>(cli(['status', '--json', ...machine])), 'k1@vm');
    });
  });
});
