// Issue 11 through the command line: the quick start runs twice, reset and uvm rm, plan
// lists every document allocate sends, the timing table, hints that name the fix, what a
// release leaves to other containers, and strict keys / preflight as a user meets them.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../lib/native';

const MAIN = path.join(__dirname, '../../lib/cli/main.js');
const EXAMPLES = path.join(packageRoot(), 'examples');
const example = (name: string): string => path.join(EXAMPLES, name, 'config.json');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T>(r: Run): T {
  return JSON.parse(r.stdout) as T;
}

interface Call {
  api: string;
  target?: string;
  document?: unknown;
  args?: unknown;
  mutating?: boolean;
}

/** `document` as JSON, the VMBus GUIDs of the VPCI devices added in `calls` replaced by a placeholder. */
function masked(document: unknown, calls: readonly Call[]): string {
  const guids = calls.flatMap((c) => /VirtualPci\/([0-9a-f-]{36})/.exec(JSON.stringify(c.document ?? null))?.slice(1) ?? []);
  return guids.reduce((text, g) => text.split(g).join('<vmbus>'), String(JSON.stringify(document)));
}

describe('CLI: a newcomer\'s first hour (issue 11)', function () {
  this.timeout(120_000);
  let top: string;
  let machine: string[];
  let root: string;
  beforeEach(() => {
    top = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-cli-first-'));
    root = path.join(top, 'root');
    machine = ['--root', root];
  });
  afterEach(() => fs.rmSync(top, { recursive: true, force: true }));

  it('point 6: the README quick start runs twice in a row; the second run reuses demo@vm and says so', () => {
    for (const run of [1, 2]) {
      const a = cli(['allocate', example('hyperv-mounts'), '--hyperv', '--setup', '--id', 'demo', '--json', ...machine]);
      assert.equal(a.status, 0, `run ${run}: ${a.stderr}`);
      assert.equal(json<{ uvmReused: boolean }>(a).uvmReused, run === 2);
      const human = cli(['status', ...machine]);
      assert.equal(human.status, 0, human.stderr);
      const r = cli(['release', 'demo', ...machine]);
      assert.equal(r.status, 0, `run ${run}: ${r.stderr}`);
    }
    const again = cli(['allocate', example('hyperv-mounts'), '--hyperv', '--id', 'demo', ...machine]);
    assert.match(again.stderr, /reusing utility VM demo@vm, which exists already \(remove it with: wcow-resources uvm rm demo@vm --root /);
    assert.equal(cli(['release', 'demo', ...machine]).status, 0);
  });

  it('point 6: uvm rm refuses while a container is in the UVM, then terminates it; reset deletes the machine', () => {
    assert.equal(cli(['allocate', example('hyperv-mounts'), '--hyperv', '--setup', '--id', 'u1', ...machine]).status, 0);
    const busy = cli(['uvm', 'rm', 'u1@vm', ...machine]);
    assert.equal(busy.status, 3);
    assert.match(busy.stderr, /utility VM u1@vm holds container 'u1'; release it first: wcow-resources release u1 --root /);
    assert.equal(cli(['release', 'u1', ...machine]).status, 0);
    const rm = cli(['uvm', 'rm', 'u1@vm', '--json', ...machine]);
    assert.equal(rm.status, 0, rm.stderr);
    const status = json<{ snapshot: { uvms: Record<string, unknown> } }>(cli(['status', '--json', ...machine]));
    assert.deepEqual(Object.keys(status.snapshot.uvms), []);
    assert.equal(cli(['uvm', 'rm', 'u1@vm', ...machine]).status, 1);

    const reset = cli(['reset', '--json', ...machine]);
    assert.equal(reset.status, 0, reset.stderr);
    assert.equal(fs.existsSync(root), false);
    assert.equal(fs.existsSync(`${root}.state`), false);
  });

  it('point 6: reset deletes simulated machines only: a --root holding something else is refused', () => {
    fs.mkdirSync(path.join(root, 'C'), { recursive: true });
    fs.writeFileSync(path.join(root, 'notes.txt'), 'mine');
    const r = cli(['reset', ...machine]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /notes\.txt is not part of one/);
    assert.ok(fs.existsSync(path.join(root, 'notes.txt')));
  });

  it('point 6: reset takes the folder of a timestamp probe killed midway as part of the machine', () => {
    fs.mkdirSync(path.join(root, 'C'), { recursive: true });
    fs.mkdirSync(path.join(root, '.wcow-mtime-Ab12Cd', '0'), { recursive: true });
    const r = cli(['reset', ...machine]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.existsSync(root), false);
  });

  for (const name of ['hyperv-mounts', 'gpu-vpci', 'gmsa']) {
    it(`point 8: plan ${name} lists every call allocate sends, with its document, and changes nothing`, () => {
      const hyperv = name === 'gmsa' ? [] : ['--hyperv'];
      assert.equal(cli(['plan', example(name), ...hyperv, '--setup', '--id', 'p', ...machine]).status, 0);
      const before = cli(['status', '--json', ...machine]).stdout;
      const files = fs.readdirSync(path.join(root, 'C', 'layers')).sort();
      const p = cli(['plan', example(name), ...hyperv, '--id', 'p', '--json', ...machine]);
      assert.equal(p.status, 0, p.stderr);
      const planned = json<{ calls: (Call & { withheld?: string; resource?: string; note?: string })[] }>(p).calls;
      assert.equal(cli(['status', '--json', ...machine]).stdout, before, 'plan changed nothing');
      assert.deepEqual(fs.readdirSync(path.join(root, 'C', 'layers')).sort(), files, 'no scratch folder on the real drives');

      const a = cli(['allocate', example(name), ...hyperv, '--id', 'p', '--json', ...machine]);
      assert.equal(a.status, 0, a.stderr);
      const sent = json<{ hostCalls: Call[] }>(a).hostCalls.filter((c) => c.mutating && c.api !== 'HcsCreateComputeSystem');
      assert.deepEqual(planned.map((c) => [c.api, c.target]), sent.map((c) => [c.api, c.target]));
      planned.forEach((c, i) => {
        if (c.withheld !== undefined) {
          assert.equal(c.document, undefined, 'a withheld document is not printed');
          return;
        }
        // A VPCI device's VMBus GUID is random per assignment (the plan says so where it appears).
        if (c.note !== undefined) assert.match(c.note, /VMBus GUID is chosen at random/);
        assert.equal(masked(c.document, planned), masked(sent[i]!.document, sent), `#${i + 1} ${c.api}: the document allocate sent`);
      });
      assert.ok(planned.filter((c) => c.api === 'HcsModifyComputeSystem').every((c) => c.resource !== undefined && c.document !== undefined));
      assert.equal(cli(['release', 'p', ...machine]).status, 0);
    });
  }

  it('point 8: the timing table has a resource column, a release section and totals', () => {
    const r = cli(['allocate', example('hyperv-mounts'), '--hyperv', '--setup', '--id', 't', '--release', ...machine]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^allocate:\n.*\bresource\b.*\bresult$/m);
    assert.match(r.stdout, /→ HcsModifyComputeSystem\s+t@vm\s+VirtualMachine\/Devices\/VirtualSmb\/Shares s1 C:\\layers\\/);
    assert.match(r.stdout, /^release:$/m);
    assert.match(r.stdout, /^release:\n(.*\n)*.*→ HcsModifyComputeSystem\s+t@vm\s+VirtualMachine\/Devices\/VirtualSmb\/Shares s1\s+ok$/m);
    assert.equal(r.stdout.match(/^total: [\d.]+ ms, \d+ host calls taking [\d.]+ ms$/gm)?.length, 2);
  });

  it('point 8: hints point to the fix — a missing mount source, a hyperv spec planned without a UVM', () => {
    const dir = path.join(top, 'cfg');
    fs.mkdirSync(dir);
    const config = JSON.parse(fs.readFileSync(example('hyperv-mounts'), 'utf8')) as { mounts: { source: string }[] };
    config.mounts[0]!.source = 'C:\\data\\missing';
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    fs.copyFileSync(path.join(EXAMPLES, 'hyperv-mounts', 'setup.json'), path.join(dir, 'setup.json'));
    const missing = cli(['plan', path.join(dir, 'config.json'), '--hyperv', '--setup', ...machine]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^error ERR_NOT_FOUND: failed to add VSMB share to utility VM for mount \{Destination:C:\\rw .*GetFileAttributesEx C:\\data\\missing/m);
    assert.match(missing.stderr, /^hint: create it on the host or correct the path in config\.json/m);
    assert.doesNotMatch(missing.stderr, /status` lists what does/);

    const noUvm = cli(['plan', example('hyperv-mounts'), ...machine]);
    assert.equal(noUvm.status, 3);
    assert.match(noUvm.stderr, /^hint: the spec asks for hypervisor isolation \(windows\.hyperv\): add --hyperv/m);
  });

  it('points 1 and 2: a wrong-cased key and a missing layer, as the CLI reports them', () => {
    const dir = path.join(top, 'cfg');
    fs.mkdirSync(dir);
    const config = JSON.parse(fs.readFileSync(example('process-isolated'), 'utf8')) as Record<string, unknown> & { windows: { layerFolders: string[] } };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, Mounts: [] }));
    const key = cli(['plan', path.join(dir, 'config.json'), ...machine]);
    assert.equal(key.status, 3);
    assert.match(key.stderr, /^error ERR_INVALID_SPEC: invalid OCI spec - unknown key 'Mounts': config\.json spells it 'mounts'/m);
    assert.match(key.stderr, /^hint: rename the key as the message says/m);

    const layers = config.windows.layerFolders;
    config.windows.layerFolders = ['C:\\layers\\nope', ...layers.slice(1)];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    const layer = cli(['plan', path.join(dir, 'config.json'), '--json', ...machine]);
    assert.equal(layer.status, 1);
    const err = json<{ error: { code: string; resource: string; op: string } }>(layer).error;
    assert.deepEqual([err.code, err.resource, err.op], ['ERR_NOT_FOUND', 'C:\\layers\\nope', 'preflight']);
  });

  it('point 1: plan warns about a mount option Windows does not read, naming ro', () => {
    const dir = path.join(top, 'cfg');
    fs.mkdirSync(dir);
    const config = JSON.parse(fs.readFileSync(example('hyperv-mounts'), 'utf8')) as { mounts: { options?: string[] }[] };
    config.mounts[1]!.options = ['readonly'];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    fs.copyFileSync(path.join(EXAMPLES, 'hyperv-mounts', 'setup.json'), path.join(dir, 'setup.json'));
    const r = cli(['plan', path.join(dir, 'config.json'), '--hyperv', '--setup', ...machine]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^warning: mounts\[1\]\.options\[0\]: mount option 'readonly' is not read by Windows containers, so this mount is writable: a read-only mount is written 'ro'$/m);
    assert.match(r.stdout, /^warnings:\n {2}mounts\[1\]\.options\[0\]: /m);
  });

  it('point 8: release of a container sharing layer shares with an exited one says what it leaves, and to whom', () => {
    // One process allocates two containers in one UVM, journaled where the CLI looks, and exits.
    const script = `
      const lib = require(${JSON.stringify(path.join(__dirname, '../../lib/index.js'))});
      const fs = require('fs');
      (async () => {
        const host = lib.createHost({ root: ${JSON.stringify(root)} });
        const journal = lib.stateLayout(${JSON.stringify(root)}).journalDir;
        const layers = ['C:\\\\layers\\\\base'];
        fs.mkdirSync(host.hostPath(layers[0]), { recursive: true });
        const uvm = await host.createUtilityVm({ id: 'pod@vm' });
        for (const id of ['c1', 'c2']) {
          const spec = { ociVersion: '1.1.0', windows: { layerFolders: [...layers, 'C:\\\\layers\\\\scratch-' + id], hyperv: {} } };
          await lib.allocateWindowsResources({ id, spec, host, uvm, journal });
        }
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    const r = cli(['release', 'c1', ...machine]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /running processes/);
    assert.match(r.stdout, /^kept, still used by container 'c2' \(exited\); released with the last of them: 1$/m);
    assert.equal(cli(['release', 'c2', ...machine]).status, 0);
  });
});
