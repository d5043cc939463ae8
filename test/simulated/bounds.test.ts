// The simulated host's own resources stay bounded (issue 15.8): its call log keeps the
// last `maxCalls` calls, and a state directory that cannot be created is a coded error,
// not a recursive mkdir that spins (Node's mkdir -p loops on `/proc/1/x`).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WcowError } from '../../lib/errors';
import { DEFAULT_MAX_CALLS, SimulatedHost } from '../../lib/host/simulated';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-bounds-'));
const DIST = path.resolve(__dirname, '..', '..');

describe('simulated host: bounded call log (issue 15.8)', () => {
  it('keeps the last maxCalls calls, in order; clearCalls() still empties it', async () => {
    const host = new SimulatedHost({ root: tmp(), maxCalls: 5 });
    for (let i = 0; i < 12; i++) await host.nameToGuid(`n${i}`);
    assert.deepEqual(host.calls.map((c) => c.target), ['n7', 'n8', 'n9', 'n10', 'n11']);
    host.clearCalls();
    assert.equal(host.calls.length, 0);
  });

  it('has a default bound: many cycles do not grow the log past it', async () => {
    const host = new SimulatedHost({ root: tmp() });
    for (let i = 0; i < DEFAULT_MAX_CALLS + 500; i++) await host.nameToGuid(`n${i}`);
    assert.equal(host.calls.length, DEFAULT_MAX_CALLS);
    assert.equal(host.calls[host.calls.length - 1]?.target, `n${DEFAULT_MAX_CALLS + 499}`);
  });

  it('holds exactly the last maxCalls at every point, whenever it is read (it trims in batches)', async () => {
    for (const maxCalls of [1, 5, 1500]) {
      const host = new SimulatedHost({ root: tmp(), maxCalls });
      for (let i = 0; i < 3 * maxCalls + 2500; i++) {
        await host.nameToGuid(`n${i}`);
        if (i % 97 !== 0 && i < 3 * maxCalls + 2490) continue;
        const calls = host.calls;
        assert.equal(calls.length, Math.min(i + 1, maxCalls), `${maxCalls}: after ${i + 1} calls`);
        assert.equal(calls[0]?.target, `n${Math.max(0, i + 1 - maxCalls)}`);
        assert.equal(calls[calls.length - 1]?.target, `n${i}`);
      }
      host.clearCalls();
      await host.nameToGuid('after');
      assert.deepEqual(host.calls.map((c) => c.target), ['after']);
    }
  });

  it('refuses a maxCalls that is not a positive integer', () => {
    for (const maxCalls of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new SimulatedHost({ root: tmp(), maxCalls }), (e: unknown) => e instanceof WcowError && e.code === 'ERR_INVALID_ARGUMENT');
    }
  });
});

describe('simulated host: the state directory (issue 15.8)', () => {
  // Run in a child: on today's code the recursive mkdir spins synchronously forever.
  const construct = (stateDir: string) =>
    spawnSync(
      process.execPath,
      ['-e', `const { SimulatedHost } = require(${JSON.stringify(path.join(DIST, 'lib', 'host', 'simulated'))}); try { new SimulatedHost({ root: ${JSON.stringify(tmp())}, stateDir: ${JSON.stringify(stateDir)} }); console.log('created'); } catch (e) { console.log(e.code, e.message); }`],
      { encoding: 'utf8', timeout: 10_000 },
    );

  it('a state directory that cannot be created is ERR_INVALID_ARGUMENT naming it, at once', () => {
    const file = path.join(tmp(), 'a-file');
    fs.writeFileSync(file, '');
    const cases = [path.join(file, 'x'), ...(fs.existsSync('/proc/1') ? ['/proc/1/x'] : [])];
    for (const dir of cases) {
      const r = construct(dir);
      assert.equal(r.error, undefined, `${dir}: ${String(r.error)} (the child did not finish)`);
      assert.match(r.stdout, /^ERR_INVALID_ARGUMENT /, r.stdout + r.stderr);
      assert.ok(r.stdout.includes(dir), r.stdout);
    }
  });

  it('the CLI exits with the input-error code instead of spinning', function () {
    if (!fs.existsSync('/proc/1')) this.skip();
    const r = spawnSync(process.execPath, [path.join(DIST, 'lib', 'cli', 'main.js'), 'status', '--root', tmp(), '--state-dir', path.join('/proc/1', 'x')], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /ERR_INVALID_ARGUMENT/);
  });

  it('a missing state directory and its missing parents are created, mode 0700', () => {
    const dir = path.join(tmp(), 'a', 'b', 'state');
    const host = new SimulatedHost({ root: tmp(), stateDir: dir });
    host.addPhysicalDrive(3);
    assert.ok(fs.statSync(dir).isDirectory());
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  });
});
