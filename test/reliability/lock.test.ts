// The lock between processes (lib/resources/journal/lock.ts): the simulated host's state
// lock and the recover lock. A lock found gone is never "broken": between the look and the
// removal another process may have linked a fresh one, and removing it lets two processes
// hold the lock at once (seen as lost state updates with 4 CLI processes on a loaded machine).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import nodeFs = require('node:fs');
import { isHeld, lockHolder, tryLock } from '../../lib/resources/journal/lock';

describe('reliability: the lock between processes', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-lock-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a lock that looked released, and is held again by the time the breaker looks, is left to its holder', () => {
    const file = path.join(dir, 'state.lock');
    const first = tryLock(file);
    assert.ok(isHeld(first));
    const holder = lockHolder(file);
    // What the second process sees: its link fails (the lock is held), then the lock is
    // released and taken again by a third — twice it reads nothing at the name.
    const mutable = nodeFs as unknown as { readFileSync: (...args: unknown[]) => unknown };
    const readFileSync = mutable.readFileSync;
    let vanish = 2;
    mutable.readFileSync = (...args: unknown[]) => {
      if (args[0] === file && vanish > 0) {
        vanish--;
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' });
      }
      return readFileSync(...args);
    };
    let second;
    try {
      second = tryLock(file);
    } finally {
      mutable.readFileSync = readFileSync;
    }
    assert.equal(isHeld(second), false, 'the lock is not taken twice');
    assert.deepEqual(lockHolder(file), holder, "the holder's lock file is still there");
    first.release();
    assert.equal(fs.existsSync(file), false);
  });

  it('a file at the name that is no lock is broken and the lock taken', () => {
    const file = path.join(dir, 'state.lock');
    fs.writeFileSync(file, 'not a lock');
    const l = tryLock(file);
    assert.ok(isHeld(l));
    l.release();
    assert.equal(fs.existsSync(file), false);
  });
});
