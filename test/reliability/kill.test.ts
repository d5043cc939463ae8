// Kills: a child process allocating (and releasing) with a journal against a persistent
// SimulatedHost is killed with SIGKILL at a seeded random moment; recover() in a new process
// brings the persisted host back to its baseline every time — and leaves alone what a live
// process's containers hold.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimulatedHost, type HostSnapshot } from '../../lib/host/simulated';
import { recover } from '../../lib/recover';
import { LIVE, SCENARIOS, allocate, prepareMachine, rng, stage } from './scenarios';

const CHILD = path.join(__dirname, 'child.js');
/** Scenarios whose UVM only the killed process uses (lib/uvm's client state is per process). */
const KILLED = [0, 1, 2, 4];
const TRIALS = 52;

interface Paths {
  root: string;
  state: string;
  journal: string;
}

function run(mode: string, p: Paths, ...extra: string[]): ChildProcess {
  return spawn(process.execPath, [CHILD, mode, p.root, p.state, p.journal, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first stdout line equal to `line` (rejects if the child exits first). */
function waitFor(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(line)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before "${line}": ${err}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.on('exit', () => resolve())));
}

interface Outline {
  journals: string[];
  undone: number;
  keptForLive: number;
  errors: string[];
}

async function recoverInChild(p: Paths): Promise<Outline> {
  const child = run('recover', p);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await exited(child);
  assert.equal(child.exitCode, 0, err);
  return JSON.parse(out) as Outline;
}

/** The journals in the directory (a lock left by a killed recover is taken over by the next one). */
function journals(p: Paths): string[] {
  return fs.readdirSync(p.journal).filter((n) => n.endsWith('.journal'));
}

/** What another process finds on the persisted host. */
function persisted(p: Paths): HostSnapshot {
  return new SimulatedHost({ root: p.root, stateDir: p.state }).snapshot();
}

describe('reliability: processes killed with SIGKILL', function () {
  this.timeout(300_000);
  let p: Paths;

  before(async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-kill-'));
    p = { root: path.join(base, 'root'), state: path.join(base, 'state'), journal: path.join(base, 'journal') };
    fs.mkdirSync(p.root);
    const host = new SimulatedHost({ root: p.root, stateDir: p.state });
    prepareMachine(p.root, host);
    for (const i of KILLED) await stage(host, SCENARIOS[i]!, p.journal);
    for (const s of LIVE) await stage(host, s, p.journal);
  });

  after(() => fs.rmSync(path.dirname(p.root), { recursive: true, force: true }));

  it(`${TRIALS} seeded kills mid-allocation or mid-release: recover() in a new process returns the host to its baseline every time`, async () => {
    const baseline = persisted(p);
    const random = rng(0x5eed);
    let holding = 0;
    for (let t = 0; t < TRIALS; t++) {
      const scenario = KILLED[t % KILLED.length]!;
      const delay = Math.floor(random() * 120);
      const child = run('allocate', p, String(scenario));
      await waitFor(child, 'started');
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited(child);
      const report = await recoverInChild(p);
      assert.deepEqual(report.errors, [], `trial ${t} (scenario ${scenario}, ${delay} ms)`);
      if (report.undone > 0) holding++;
      assert.deepEqual(persisted(p), baseline, `trial ${t} (scenario ${scenario}, killed after ${delay} ms): back at the baseline`);
      assert.deepEqual(journals(p), [], `trial ${t}: no journal left`);
    }
    // Most kills must land while something is held, or the test proves little.
    assert.ok(holding >= TRIALS / 2, `${holding} of ${TRIALS} kills left something to recover`);
  });

  it("recover() never releases what a live process's containers hold; once that process is killed too, everything goes", async () => {
    const baseline = persisted(p);
    const live = run('hold', p);
    await waitFor(live, 'ready');
    const withLive = persisted(p);
    assert.notDeepEqual(withLive, baseline, 'the live containers hold something');
    try {
      for (let t = 0; t < 4; t++) {
        const child = run('allocate', p, String(KILLED[t]));
        await waitFor(child, 'started');
        await new Promise((r) => setTimeout(r, 40 + 15 * t));
        child.kill('SIGKILL');
        await exited(child);
        const report = await recoverInChild(p);
        assert.deepEqual(report.errors, []);
        assert.equal(report.journals.filter((j) => j === 'live').length, LIVE.length, 'the live journals are not touched');
        assert.deepEqual(persisted(p), withLive, `kill ${t}: only the live containers' resources remain`);
      }
    } finally {
      live.kill('SIGKILL');
      await exited(live);
    }
    const report = await recoverInChild(p);
    assert.deepEqual(report.errors, []);
    assert.ok(report.undone > 0);
    assert.deepEqual(persisted(p), baseline);
    assert.deepEqual(journals(p), []);
  });

  it("a share and disk the creator released are undone through the reusing container's journal", async () => {
    // In one process: container A creates a share, B reuses it; A is released, then the
    // process "dies" with B's journal only. Recover must remove the share through B's record.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-share-'));
    try {
      const host = new SimulatedHost({ root, stateDir: false });
      prepareMachine(root, host);
      const s = SCENARIOS[3]!;
      const st = await stage(host, { ...s, before: [] }, path.join(root, 'j'));
      await (await allocate(host, st.uvm, s.before[0]!)).resources.release({ all: true });
      const baseline = host.snapshot();
      const journal = path.join(root, 'j');
      const first = await allocate(host, st.uvm, s.before[0]!, { journal });
      const second = await allocate(host, st.uvm, s.container, { journal });
      await first.resources.release({ all: true });
      assert.notDeepEqual(host.snapshot(), baseline, 'the shared share and disk stay for the second container');
      assert.equal(fs.readdirSync(journal).length, 1);
      // The process gives up the second container without releasing it (as a crash would).
      await second.resources.abandon();
      const report = await recover({ dir: journal, host });
      assert.deepEqual(report.errors, []);
      assert.deepEqual(host.snapshot(), baseline, "the reused share and disk went through the second container's journal");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
