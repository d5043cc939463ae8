// The credential spec is a secret (issue 15.6): it goes to HCS in the AddInstance request
// and nowhere else. This scans every boundary where data leaves the engine — the trace
// channel (every event, `ctx.result` included), onStep, the logger, errors, the persisted
// simulated state, the crash journals, and the CLI's text and --json output of allocate,
// plan, status and release — for the spec of the container under test and for another
// container's, across the fault sweep: every state-changing call of an allocation and of a
// release failing in turn.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as dc from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { WcowError } from '../../lib/errors';
import { SimulatedHost, type SimulatedCall } from '../../lib/host/simulated';
import { recover } from '../../lib/recover';
import type { OciSpec } from '../../lib/oci/types';
import { onStep, STEP_CHANNEL, type Logger } from '../../lib/trace';
import { SCENARIOS, allocate, prepareMachine, type ContainerPlan } from '../reliability/scenarios';

const SECRET = 'hunter2-gmsa-4f1c9e'; // in the scenarios' CREDENTIAL_SPEC
const OTHER = 'other-container-gmsa-77aa';
const OTHER_SPEC = JSON.stringify({ CmsPlugins: ['ActiveDirectory'], DomainJoinConfig: { MachineAccountName: 'db01', Password: OTHER } });

/** Everything reachable from `v`, as text: own, hidden and inherited-from-class fields, causes, proxies' targets. */
function text(v: unknown): string {
  return inspect(v, { depth: 30, showHidden: true, maxArrayLength: null, maxStringLength: null, breakLength: Infinity });
}

class Scanner {
  points = 0;
  readonly leaks: string[] = [];
  scan(where: string, t: string): void {
    this.points++;
    for (const s of [SECRET, OTHER]) if (t.includes(s) && this.leaks.length < 20) this.leaks.push(`${where}: ${s === SECRET ? 'the spec' : "another container's spec"} in ${t.slice(Math.max(0, t.indexOf(s) - 160), t.indexOf(s) + 40)}`);
  }
  files(where: string, dir: string): void {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) this.scan(`${where} ${path.join(e.parentPath, e.name)}`, fs.readFileSync(path.join(e.parentPath, e.name), 'latin1'));
    }
  }
}

describe('secrets: the credential spec never leaves the engine (issue 15.6)', function () {
  this.timeout(300_000);

  it('scans the trace channel, onStep, the logger, errors, the state file and the journals across the fault sweep', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-secrets-'));
    const stateDir = path.join(root, 'state');
    const journal = path.join(root, 'journal');
    const s = new Scanner();
    // Published payloads are read at publish time, as a subscriber would.
    const raw = {
      start: (m: unknown) => s.scan('trace start', text(m)),
      end: (m: unknown) => s.scan('trace end', text(m)),
      asyncStart: (m: unknown) => s.scan('trace asyncStart', text(m)),
      asyncEnd: (m: unknown) => s.scan('trace asyncEnd', text(m)),
      error: (m: unknown) => s.scan('trace error', text(m)),
    };
    dc.tracingChannel(STEP_CHANNEL).subscribe(raw);
    const off = onStep({ start: (c) => s.scan('onStep start', text(c)), end: (c) => s.scan('onStep end', text(c)), error: (c) => s.scan('onStep error', text(c)) });
    const log = (level: string) => (obj: object, msg?: string) => s.scan(`logger ${level}`, text(obj) + (msg ?? ''));
    const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
    try {
      const host = new SimulatedHost({ root, stateDir });
      prepareMachine(root, host);
      const full = SCENARIOS[1]!;
      const uvm = await host.createUtilityVm(full.uvm!);
      // Another container with its own spec lives in the same UVM throughout: HCS lists its
      // instance, spec included, in every HcsGetServiceProperties answer.
      const otherSpec = structuredClone(full.container.spec) as OciSpec & { windows: Record<string, unknown> };
      otherSpec.windows = { layerFolders: [...(otherSpec.windows.layerFolders as string[]).slice(0, -1), 'C:\\layers\\scratch-other'], hyperv: {}, credentialSpec: OTHER_SPEC };
      delete otherSpec.mounts;
      delete otherSpec.annotations;
      const other: ContainerPlan = { id: 'other', spec: otherSpec };
      const kept = await allocate(host, uvm, other, { journal, logger });
      const me = full.container;
      const mutating = (c: SimulatedCall): boolean => c.mutating;
      const scanErr = (where: string, err: unknown): void => {
        assert.ok(err instanceof WcowError, `${where}: ${String(err)}`);
        s.scan(`${where} error`, text(err) + JSON.stringify(err));
      };

      // The first allocation also creates the scratch; the sweep counts the calls of a later one.
      await (await allocate(host, uvm, me, { journal, logger })).resources.release({ all: true });
      // A successful allocation, the files while it lives, its release.
      let from = host.calls.length;
      const ok = await allocate(host, uvm, me, { journal, logger });
      const k = host.calls.slice(from).filter(mutating).length;
      s.scan('allocation result (spec aside)', text({ ...ok, spec: undefined, containerDocument: undefined, credentialGuard: undefined }));
      s.files('live', stateDir);
      s.files('live', journal);
      from = host.calls.length;
      await ok.resources.release({ all: true });
      const j = host.calls.slice(from).filter(mutating).length;

      for (let nth = 1; nth <= k; nth++) {
        const fault = host.injectFault({ api: '*', nth, match: mutating });
        const err = await allocate(host, uvm, me, { journal, logger }).then(() => undefined, (e: unknown) => e);
        fault.remove();
        scanErr(`allocation call ${nth}`, err);
        s.files(`allocation call ${nth}`, stateDir);
        s.files(`allocation call ${nth}`, journal);
        const r = await recover({ dir: journal, host, logger });
        s.scan('recover report', text(r));
      }
      for (let nth = 1; nth <= j; nth++) {
        const a = await allocate(host, uvm, me, { journal, logger });
        s.files(`release call ${nth}, live`, stateDir);
        const fault = host.injectFault({ api: '*', nth, match: mutating });
        const err = await a.resources.release({ all: true }).then(() => undefined, (e: unknown) => e);
        fault.remove();
        scanErr(`release call ${nth}`, err);
        await a.resources.release({ all: true });
        s.files(`release call ${nth}`, stateDir);
        s.files(`release call ${nth}`, journal);
      }
      await kept.resources.release({ all: true });
      // The scan can see the secret: it did reach HCS, where it belongs (the in-memory call log).
      assert.ok(host.calls.some((c) => text(c.document).includes(SECRET)));
      assert.ok(host.calls.some((c) => text(c.result).includes(OTHER)), "HCS's answers list the other container's instance");
      console.log(`      ${s.points} payloads, lines, errors and files scanned; ${k} allocation and ${j} release faults`);
    } finally {
      off();
      dc.tracingChannel(STEP_CHANNEL).unsubscribe(raw);
      fs.rmSync(root, { recursive: true, force: true });
    }
    assert.deepEqual(s.leaks, []);
  });

  it('scans the CLI: allocate, plan, status and release, text and --json, and the state directory', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-secrets-cli-'));
    const s = new Scanner();
    const MAIN = path.resolve(__dirname, '..', '..', 'lib', 'cli', 'main.js');
    const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'hyperv-mounts');
    const machine = ['--root', path.join(work, 'root'), '--state-dir', path.join(work, 'state')];
    const config = (name: string, scratch: string, secret: string, disks = true): string => {
      const dir = path.join(work, name);
      fs.mkdirSync(dir);
      fs.copyFileSync(path.join(example, 'setup.json'), path.join(dir, 'setup.json'));
      const c = JSON.parse(fs.readFileSync(path.join(example, 'config.json'), 'utf8')) as { mounts: { type?: string }[]; windows: { layerFolders: string[]; credentialSpec?: string } };
      // A disk attaches to one VM at a time: the second container's UVM gets the other mounts.
      if (!disks) c.mounts = c.mounts.filter((m) => (m.type ?? '') === '');
      c.windows.layerFolders[c.windows.layerFolders.length - 1] = `C:\\layers\\${scratch}`;
      c.windows.credentialSpec = JSON.stringify({ CmsPlugins: ['ActiveDirectory'], DomainJoinConfig: { Password: secret } });
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
      return path.join(dir, 'config.json');
    };
    const a = config('a', 'scratch-a', SECRET);
    const b = config('b', 'scratch-b', OTHER, false);
    const run = (...args: string[]): void => {
      const r = spawnSync(process.execPath, [MAIN, ...args, ...machine], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      s.scan(`${args.join(' ')} stdout`, r.stdout);
      s.scan(`${args.join(' ')} stderr`, r.stderr);
    };
    try {
      run('allocate', a, '--hyperv', '--setup', '--id', 'ca', '--json');
      // Its own UVM (a UVM's bookkeeping belongs to one process); CCG instances are host-wide.
      run('allocate', b, '--hyperv', '--setup', '--id', 'cb', '--json');
      s.files('state while allocated', path.join(work, 'state'));
      run('status', '--json');
      run('status');
      run('plan', a, '--hyperv', '--id', 'pa', '--json');
      run('plan', b, '--hyperv', '--id', 'pb');
      run('release', 'cb', '--json');
      run('allocate', b, '--hyperv', '--id', 'cc');
      run('release', 'cc');
      run('release', 'ca', '--json');
      s.files('state after release', path.join(work, 'state'));
      console.log(`      ${s.points} CLI outputs and files scanned`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    assert.deepEqual(s.leaks, []);
  });
});
