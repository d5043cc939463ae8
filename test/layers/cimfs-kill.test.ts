// SIGKILL at seeded random points of a CimFS allocate/release loop (cimfs-child.ts):
// recover() in the next process dismounts the CIM, detaches the overlay filter and
// deactivates the scratch, whatever the killed process held — hcsshim has no such cleanup
// (its delete path has a TODO). Same pattern as test/reliability/kill.test.ts.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimulatedHost, type HostSnapshot } from '../../lib/host/simulated';
import { recover } from '../../lib/recover';
import { rng } from '../reliability/scenarios';
import { bench, type Bench } from '../allocate/fixtures';
import { layOut } from './cimfs-fixtures';

const CHILD = path.join(__dirname, 'cimfs-child.js');
const KILLS = 24;

/** The child's first output is its "started" line; failing to start is an exit before it. */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before starting`)));
  });
}

describe('CimFS: processes killed with SIGKILL mid-allocation or mid-release', function () {
  this.timeout(300_000);
  let b: Bench;
  let state: string;
  let journal: string;

  before(async () => {
    b = await bench();
    await layOut(b);
    state = path.join(b.root, '..', `${path.basename(b.root)}.state`);
    journal = path.join(b.root, 'journal');
  });
  after(async () => {
    await b.done();
    fs.rmSync(state, { recursive: true, force: true });
  });

  const persisted = (): HostSnapshot => new SimulatedHost({ root: b.root, stateDir: state }).snapshot();

  it(`${KILLS} or more seeded kills: recover() in a new process brings the host back to its baseline every time`, async () => {
    const baseline = persisted();
    const random = rng(0xc1f5);
    let holding = 0;
    const held = new Set<string>();
    const kinds = ['cim.dismount', 'layer.deactivate', 'overlay.detach'];
    // At least KILLS kills; more (up to three times as many) until one has landed while each
    // kind of resource was held: where a kill lands depends on how fast the loop runs.
    let t = 0;
    for (; t < KILLS || (t < 3 * KILLS && held.size < kinds.length); t++) {
      const delay = Math.floor(random() * 400);
      const child = spawn(process.execPath, [CHILD, b.root, state, journal], { stdio: ['ignore', 'pipe', 'pipe'] });
      await started(child);
      await new Promise((r) => setTimeout(r, delay));
      const exit = once(child, 'exit');
      child.kill('SIGKILL');
      await exit;
      const host = new SimulatedHost({ root: b.root, stateDir: state });
      const report = await recover({ dir: journal, host });
      assert.deepEqual(report.errors, [], `kill ${t} (${delay} ms)`);
      if (report.undone.length > 0) holding++;
      for (const u of report.undone) if (u.outcome === 'removed') held.add(u.op);
      assert.deepEqual(persisted(), baseline, `kill ${t} (after ${delay} ms): back at the baseline`);
      assert.deepEqual(fs.existsSync(journal) ? fs.readdirSync(journal).filter((n) => n.endsWith('.journal')) : [], [], `kill ${t}: no journal left`);
    }
    // The kills must land while something is held, and reach every kind of resource.
    assert.ok(holding >= t / 2, `${holding} of ${t} kills left something to recover`);
    assert.deepEqual([...held].sort(), kinds, `after ${t} kills`);
  });
});
