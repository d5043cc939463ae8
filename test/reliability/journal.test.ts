// The journal file itself: its mode, what a process killed while writing it leaves, and
// which journals recover() leaves alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import nodeFs = require('node:fs');
import * as os from 'node:os';
import * as path from 'node:path';
import { SimulatedHost } from '../../lib/host/simulated';
import { Journal, readJournal } from '../../lib/resources';
import { recover } from '../../lib/recover';
import { hostIdentity } from '../../lib/resources/journal';
import { journalName } from '../../lib/resources/journal/journal';

/**
 * The descriptor this process has open on journal `file` (Linux /proc). It was opened by its
 * temporary name, `<file>.<pid>.<n>.tmp`, which /proc keeps showing after the link.
 */
function fdOf(file: string): number | undefined {
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(file)) return Number(fd);
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}

/** A pid that ran and exited: no process has it now. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid as number;
}

describe('reliability: journal files', () => {
  let dir: string;
  let host: SimulatedHost;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-journal-'));
    host = new SimulatedHost({ root: dir, stateDir: false });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is 0600 in a 0700 directory, owned by this process, and deleted only by its owner', async () => {
    const j = await Journal.create(path.join(dir, 'j'), 'c1', hostIdentity(host));
    assert.equal(fs.statSync(j.path).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(dir, 'j')).mode & 0o777, 0o700);
    await j.acquire({ op: 'ccg.remove', id: 'c1' });
    assert.deepEqual(readJournal(j.path).owner.pid, process.pid);
    const report = await recover({ dir: path.join(dir, 'j'), host });
    assert.deepEqual(report.journals.map((x) => x.status), ['live']);
    assert.deepEqual(report.undone, []);
    await j.removed({ op: 'ccg.remove', id: 'c1' });
    await j.remove();
    assert.equal(fs.existsSync(j.path), false);
  });

  it('a journal is visible only complete: a creator killed before linking leaves a temporary file, which recover removes once its pid is dead', async () => {
    const jd = path.join(dir, 'j');
    fs.mkdirSync(jd, { mode: 0o700 });
    const dead = path.join(jd, `${journalName('c1')}.${deadPid()}.00000000.tmp`);
    const live = path.join(jd, `${journalName('c2')}.${process.pid}.00000000.tmp`);
    fs.writeFileSync(dead, '');
    fs.writeFileSync(live, '{"t":"ow');
    fs.writeFileSync(path.join(jd, journalName('c3')), JSON.stringify({ t: 'owner', v: 2, id: 'c3', pid: deadPid(), at: 1, host: hostIdentity(host) }) + '\n');
    const report = await recover({ dir: jd, host });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(fs.readdirSync(jd), [path.basename(live)]);
  });

  it('a torn last line is ignored; the acquisition before it is undone, "already gone" counts as done', async () => {
    const jd = path.join(dir, 'j');
    fs.mkdirSync(jd, { mode: 0o700 });
    const file = path.join(jd, journalName('c1'));
    const lines = [
      { t: 'owner', v: 2, id: 'c1', pid: deadPid(), at: 1, host: hostIdentity(host) },
      { t: 'acquire', n: 1, at: 2, undo: { op: 'ccg.remove', id: 'c1' } },
    ];
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"t":"acq');
    await host.createUtilityVm({ id: 'other@vm' }); // a host state of its own: not empty
    const report = await recover({ dir: jd, host });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.undone, [{ op: 'ccg.remove', resource: 'credential guard instance c1', journals: [file], outcome: 'already-gone' }]);
    assert.deepEqual(fs.readdirSync(jd), []);
  });

  it('recovering one journal leaves a share another journal of its directory still holds; recovering that one removes it', async () => {
    const jd = path.join(dir, 'j');
    fs.mkdirSync(jd, { mode: 0o700 });
    fs.mkdirSync(path.join(dir, 'C', 'layers', 'L1'), { recursive: true });
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    await uvm.modify({ ResourcePath: 'VirtualMachine/Devices/VirtualSmb/Shares', RequestType: 'Add', Settings: { Name: 's1', Path: 'C:\\layers\\L1', Options: { ReadOnly: true } } });
    const share = { op: 'vsmb.remove', uvmId: 'pod1@vm', name: 's1' };
    const journal = (id: string): string => {
      const pid = deadPid();
      const file = path.join(jd, journalName(id));
      const lines = [
        { t: 'owner', v: 2, id, pid, at: 1, host: hostIdentity(host) },
        { t: 'acquire', n: 1, at: 2, undo: share },
      ];
      fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n', { mode: 0o600 });
      return file;
    };
    const a = journal('a');
    const b = journal('bb');
    const shares = () => (host.snapshot().uvms['pod1@vm']?.vsmbShares ?? []).map((x) => x.name);

    const first = await recover({ journal: a, host });
    assert.deepEqual(first.errors, []);
    assert.deepEqual(first.undone, []);
    assert.deepEqual(first.keptForLive, [{ op: 'vsmb.remove', resource: 'pod1@vm share s1' }]);
    assert.deepEqual(fs.readdirSync(jd).filter((n) => n.endsWith('.journal')), [path.basename(b)]);
    assert.ok(shares().includes('s1'), 'the share stays while the other journal holds it');

    const second = await recover({ journal: b, host });
    assert.deepEqual(second.undone.map((u) => [u.op, u.resource, u.outcome]), [['vsmb.remove', 'pod1@vm share s1', 'removed']]);
    assert.ok(!shares().includes('s1'));
    assert.deepEqual(fs.readdirSync(jd), []);
  });
  it('removals in one turn of the event loop share a write, and one held back never lands after a new acquisition of its key', async () => {
    const j = await Journal.create(path.join(dir, 'j'), 'c1', hostIdentity(host));
    const shares = ['s1', 's2', 's3', 's4'].map((name) => ({ op: 'vsmb.remove' as const, uvmId: 'vm', name }));
    for (const u of shares) await j.acquire(u);
    const mutable = nodeFs as unknown as { writeSync: (...args: unknown[]) => number };
    const writeSync = mutable.writeSync;
    let writes = 0;
    const fd = fdOf(j.path);
    assert.notEqual(fd, undefined);
    mutable.writeSync = (...args: unknown[]) => {
      if (args[0] === fd) writes++;
      return writeSync(...args);
    };
    try {
      const removals = shares.map((u) => j.removed(u));
      // s4 is added again before the held-back removals went out: they must be written first.
      await j.acquire(shares[3]!);
      await Promise.all(removals);
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      mutable.writeSync = writeSync;
    }
    assert.equal(writes, 2, 'the first removal at once, the other three with the acquisition');
    assert.deepEqual(readJournal(j.path).held.map((h) => h.key), ['vsmb|vm|s4']);
    await j.removed(shares[3]!);
    await j.remove();
  });
});
