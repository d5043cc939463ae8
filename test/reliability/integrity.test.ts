// Nothing forgotten, nothing lost (issue 10): a rollback that fails is reported and what it
// left stays tracked; a journal directory and its files are trusted only when they are ours;
// a full disk never turns a call that succeeded into one that failed; a torn tail is cut
// before recover appends; two recovers never process one journal; a spec that is not JSON
// is ERR_INVALID_SPEC for plan and allocate alike, before any journal exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import nodeFs = require('node:fs');
import * as path from 'node:path';
import { allocateWindowsResources, planWindowsResources } from '../../lib/allocate';
import { WcowError } from '../../lib/errors';
import { SimulatedHost } from '../../lib/host/simulated';
import { Journal } from '../../lib/resources';
import { recover } from '../../lib/recover';
import type { OciSpec } from '../../lib/oci/types';
import { SCENARIOS, allocate, journalFiles, machine as newMachine, stage, type Machine, type Scenario } from './scenarios';

const processIsolated = SCENARIOS[0] as Scenario;
const full = SCENARIOS[1] as Scenario;

let dead: number | undefined;
/** A pid that ran and exited: no process has it now. */
function deadPid(): number {
  dead ??= spawnSync(process.execPath, ['-e', '0']).pid as number;
  return dead;
}

const machine = (): Machine => newMachine('wcow-integrity-');
const journals = journalFiles;

async function rejection(p: Promise<unknown>): Promise<WcowError> {
  const err = await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WcowError, String(err));
  return err;
}

/** A journal another process left: its owner record (pid dead) and the given acquisitions. */
function plant(dir: string, name: string, host: string, undos: object[], tail = ''): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  const lines = [{ t: 'owner', v: 2, id: name, pid: deadPid(), at: 1, host }, ...undos.map((undo, i) => ({ t: 'acquire', n: i + 1, at: 2 + i, undo }))];
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join('') + tail, { mode: 0o600 });
  return file;
}

const share = (uvmId: string, name: string) => ({ op: 'vsmb.remove', uvmId, name });

describe('integrity 1: a failed rollback is reported and what it left stays tracked', () => {
  let m: Machine;
  beforeEach(() => (m = machine()));
  afterEach(() => fs.rmSync(m.root, { recursive: true, force: true }));

  it('PrepareLayer fails and so does the DeactivateLayer undoing it: the error names both, the activation is retried by the rollback, nothing is left', async () => {
    const { uvm } = await stage(m.host, processIsolated, m.journal);
    const baseline = m.host.snapshot();
    m.host.injectFault({ api: 'PrepareLayer' });
    m.host.injectFault({ api: 'DeactivateLayer', hresult: 0x80070005 });
    const err = await rejection(allocate(m.host, uvm, processIsolated.container, { journal: m.journal }));
    assert.equal(err.op, 'layers.mount');
    assert.equal(err.hresult, '0x80004005', 'the PrepareLayer failure is the error');
    assert.equal(err.rollbackErrors?.length, 1, err.message);
    assert.equal(err.rollbackErrors?.[0]?.hresult, '0x80070005', 'the failed DeactivateLayer is reported');
    assert.match(err.message, /PrepareLayer.*rollback failed.*DeactivateLayer/s);
    assert.deepEqual(m.host.snapshot(), baseline, "the allocation's own rollback took the activation back");
    assert.deepEqual(journals(m.journal), []);
  });

  it('a DeactivateLayer that keeps failing leaves the activation in the journal, handed to recover(), which finishes it', async () => {
    const { uvm } = await stage(m.host, processIsolated, m.journal);
    const baseline = m.host.snapshot();
    m.host.injectFault({ api: 'PrepareLayer' });
    const deactivate = m.host.injectFault({ api: 'DeactivateLayer', times: Infinity });
    const err = await rejection(allocate(m.host, uvm, processIsolated.container, { journal: m.journal }));
    deactivate.remove();
    assert.ok((err.rollbackErrors?.length ?? 0) >= 1, err.message);
    assert.notDeepEqual(m.host.snapshot(), baseline, 'the layer is still activated');
    assert.equal(journals(m.journal).length, 1, 'the journal that names it is kept');
    const report = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.undone.map((u) => [u.op, u.outcome]), [['layer.deactivate', 'removed']]);
    assert.deepEqual(m.host.snapshot(), baseline);
    assert.deepEqual(journals(m.journal), []);
  });

  it('Journal.remove refuses a journal that still names a resource', async () => {
    const j = await Journal.create(m.journal, 'c1', `simulated:${m.host.root}`);
    await j.acquire({ op: 'ccg.remove', id: 'c1' });
    const err = await rejection(j.remove());
    assert.equal(err.code, 'ERR_JOURNAL');
    assert.match(err.message, /still names 1 resource/);
    assert.equal(journals(m.journal).length, 1);
    await j.removed({ op: 'ccg.remove', id: 'c1' });
    await j.remove();
    assert.deepEqual(journals(m.journal), []);
  });
});

describe('integrity 3: the journal directory and its files are trusted only when they are ours', () => {
  let m: Machine;
  beforeEach(() => (m = machine()));
  afterEach(() => fs.rmSync(m.root, { recursive: true, force: true }));

  it('a group/world-writable journal directory is refused (ERR_JOURNAL naming the mode) before anything is acquired; a new one is 0700', async () => {
    fs.mkdirSync(m.journal);
    fs.chmodSync(m.journal, 0o777);
    const before = m.host.calls.length;
    const err = await rejection(allocate(m.host, undefined, processIsolated.container, { journal: m.journal }));
    assert.equal(err.code, 'ERR_JOURNAL');
    assert.match(err.message, /mode 0777/);
    assert.deepEqual(m.host.calls.slice(before).filter((c) => c.mutating), []);
    const report = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(report.journals, []);

    const fresh = path.join(m.root, 'fresh', 'journal');
    const a = await allocate(m.host, undefined, processIsolated.container, { journal: fresh });
    assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
    await a.resources.release({ all: true });
  });

  it("recover refuses a planted journal naming a UVM's own scratch (LUN 0) or its `os` share: both stay", async () => {
    const uvm = await m.host.createUtilityVm({ id: 'p@vm' });
    await uvm.close();
    const file = plant(m.journal, 'planted.journal', `simulated:${m.host.root}`, [share('p@vm', 'os'), { op: 'scsi.remove', uvmId: 'p@vm', controller: 0, lun: 0 }]);
    const report = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(report.undone, []);
    assert.equal(report.errors[0]?.code, 'ERR_JOURNAL');
    assert.deepEqual(report.journals.map((j) => j.status), ['foreign']);
    assert.deepEqual(m.host.snapshot().uvms['p@vm'], SimulatedHost.baseline({ id: 'p@vm' }));
    assert.ok(fs.existsSync(file), 'kept for someone to look at');
  });

  it('a *.journal symbolic link is not followed: the file it points at is neither written nor deleted', async () => {
    const uvm = await m.host.createUtilityVm({ id: 'p@vm' });
    await uvm.close();
    const outside = plant(path.join(m.root, 'outside'), 'target.journal', `simulated:${m.host.root}`, [share('p@vm', 's9')]);
    const content = fs.readFileSync(outside, 'utf8');
    fs.mkdirSync(m.journal, { mode: 0o700 });
    fs.symlinkSync(outside, path.join(m.journal, 'link.journal'));
    const report = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(report.undone, []);
    assert.match(report.errors[0]?.message ?? '', /symbolic link/);
    assert.equal(fs.readFileSync(outside, 'utf8'), content);
  });

  it("a journal of another host (another simulated root) is refused: the live, un-journaled container's pipe and LUN stay", async () => {
    const { uvm } = await stage(m.host, full, m.journal);
    const live = await allocate(m.host, uvm, full.container);
    const held = m.host.snapshot();
    const lun = held.uvms['full@vm']!.scsi.find((a) => a.lun !== 0)!.lun;
    plant(m.journal, 'copied.journal', 'simulated:/elsewhere/root', [
      { op: 'pipe.remove', uvmId: 'full@vm', hostPath: '\\\\.\\pipe\\foo' },
      { op: 'scsi.remove', uvmId: 'full@vm', controller: 0, lun },
    ]);
    const report = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(report.undone, []);
    assert.match(report.errors[0]?.message ?? '', /another host/);
    assert.deepEqual(m.host.snapshot(), held);
    await live.resources.release({ all: true });
  });

  it('an item whose UVM no longer exists is reported as uvm-gone; an empty host state (wrong state directory) is refused and the journal kept', async () => {
    const uvm = await m.host.createUtilityVm({ id: 'here@vm' });
    await uvm.close();
    const host = `simulated:${m.host.root}`;
    plant(m.journal, 'a.journal', host, [share('gone@vm', 's1')]);
    const report = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.undone.map((u) => u.outcome), ['uvm-gone']);

    const file = plant(m.journal, 'b.journal', host, [share('here@vm', 's1')]);
    const empty = new SimulatedHost({ root: m.host.root, stateDir: false });
    const refused = await recover({ dir: m.journal, host: empty });
    assert.equal(refused.errors[0]?.code, 'ERR_JOURNAL');
    assert.match(refused.errors[0]?.message ?? '', /state is empty/);
    assert.deepEqual(refused.undone, []);
    assert.ok(fs.existsSync(file), 'the only record of what it holds is kept');
  });
});

/**
 * write(2) on the journal files of `dir` (what the journal writes with), replaced while `fn`
 * runs: the fs module object's writeSync, which every `import * as fs` sees; writes to
 * other files (the simulated host's) go through unchanged.
 */
async function withWrites(dir: string, replace: (original: FileWrite) => FileWrite, fn: () => Promise<void>): Promise<void> {
  const mutable = nodeFs as unknown as { writeSync: FileWrite };
  const original = mutable.writeSync;
  const replaced = replace(original);
  const inDir = path.resolve(dir) + path.sep;
  mutable.writeSync = (fd, buffer, offset, length, position) => {
    let file = '';
    try {
      file = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // not a file descriptor readlink can name: not a journal's
    }
    return (file.startsWith(inDir) ? replaced : original)(fd, buffer, offset, length, position);
  };
  try {
    await fn();
  } finally {
    mutable.writeSync = original;
  }
}
type FileWrite = (fd: number, buffer: Buffer, offset: number, length: number, position: number) => number;

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });

describe('integrity 4: a full disk', () => {
  let m: Machine;
  beforeEach(() => (m = machine()));
  afterEach(() => fs.rmSync(m.root, { recursive: true, force: true }));

  it('records that cannot be written after their calls succeeded do not make the calls failures: release reaches the baseline, the failures are reported', async () => {
    const { uvm } = await stage(m.host, full, m.journal);
    const baseline = m.host.snapshot();
    const a = await allocate(m.host, uvm, full.container, { journal: m.journal });
    const journal = a.resources.journal!;
    await withWrites(
      m.journal,
      () => () => {
        throw enospc();
      },
      () => a.resources.release({ all: true }),
    );
    assert.deepEqual(m.host.snapshot(), baseline);
    assert.ok(journal.writeFailures.length > 0, 'the records that could not be written are reported');
    assert.ok(journal.writeFailures.every((e) => e.code === 'ERR_JOURNAL' && e.errno === 'ENOSPC'));
    assert.deepEqual(journals(m.journal), [], 'everything is released: the journal goes');
    // The UVM's bookkeeping agrees with HCS: the next allocation fits.
    const again = await allocate(m.host, uvm, full.container, { journal: m.journal });
    await again.resources.release({ all: true });
    assert.deepEqual(m.host.snapshot(), baseline);
  });

  it('short writes are completed and a write cut by ENOSPC leaves no torn line: recover reads every record', async () => {
    const { uvm } = await stage(m.host, full, m.journal);
    const baseline = m.host.snapshot();
    let n = 0;
    await withWrites(
      m.journal,
      (original) => (fd, data, offset, length, position) => {
        n++;
        // Every write goes out in halves; every fifth writes half and then fails.
        const half = Math.max(1, Math.floor(length / 2));
        const r = original(fd, data, offset, half, position);
        if (n % 5 === 0) throw enospc();
        return r;
      },
      async () => {
        const a = await allocate(m.host, uvm, full.container, { journal: m.journal }).catch(() => undefined);
        await a?.resources.abandon();
      },
    );
    const report = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(m.host.snapshot(), baseline);
    assert.deepEqual(journals(m.journal), []);
  });

  it('200 failures at journal open leave no journal behind and no open descriptor', async () => {
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    await withWrites(
      m.journal,
      () => () => {
        throw enospc();
      },
      async () => {
        for (let i = 0; i < 200; i++) {
          const err = await rejection(allocate(m.host, undefined, processIsolated.container, { journal: m.journal }));
          assert.equal(err.code, 'ERR_JOURNAL');
        }
      },
    );
    assert.deepEqual(fs.readdirSync(m.journal), [], 'no journal, no temporary file');
    assert.ok(fds() <= before + 2, `${fds() - before} descriptors more than before`);
  });
});

describe('integrity 5 and 6: torn tails and racing recovers', () => {
  let m: Machine;
  beforeEach(() => (m = machine()));
  afterEach(() => fs.rmSync(m.root, { recursive: true, force: true }));

  it('recover cuts a torn tail before appending its progress, so the next recover reads the journal', async () => {
    const uvm = await m.host.createUtilityVm({ id: 't@vm' });
    for (const name of ['s1', 's2']) {
      await uvm.modify({ ResourcePath: 'VirtualMachine/Devices/VirtualSmb/Shares', RequestType: 'Add', Settings: { Name: name, Path: 'C:\\data\\ro', Options: { ReadOnly: true } } });
    }
    plant(m.journal, 'torn.journal', `simulated:${m.host.root}`, [share('t@vm', 's1'), share('t@vm', 's2')], '{"t":"done","n');
    // The first undo (the newest, s2) succeeds and is recorded; the second fails: the journal stays.
    m.host.injectFault({ api: 'HcsModifyComputeSystem', nth: 2 });
    const first = await recover({ dir: m.journal, host: m.host });
    assert.equal(first.errors.length, 1);
    const second = await recover({ dir: m.journal, host: m.host });
    assert.deepEqual(second.errors, [], 'not "corrupt at line …"');
    assert.deepEqual(second.undone.map((u) => u.resource), ['t@vm share s1']);
    assert.deepEqual(journals(m.journal), []);
  });

  it('four recover() calls racing in one process never process a journal twice, and the lock is never seen half-written (100 trials)', async () => {
    const uvm = await m.host.createUtilityVm({ id: 'r@vm' });
    const host = `simulated:${m.host.root}`;
    let both = 0;
    // A reader looking at the lock as often as it can: it must never find it empty or torn.
    const lockFile = path.join(m.journal, 'recover.lock');
    let incomplete = 0;
    let polling = true;
    const poll = (): void => {
      try {
        const text = fs.readFileSync(lockFile, 'utf8');
        try {
          JSON.parse(text);
        } catch {
          incomplete++;
        }
      } catch {
        // no lock now
      }
      if (polling) setImmediate(poll);
    };
    poll();
    for (let t = 0; t < 100; t++) {
      await uvm.modify({ ResourcePath: 'VirtualMachine/Devices/VirtualSmb/Shares', RequestType: 'Add', Settings: { Name: 's1', Path: 'C:\\data\\ro', Options: { ReadOnly: true } } });
      plant(m.journal, 'race.journal', host, [share('r@vm', 's1')]);
      const settled = await Promise.allSettled([1, 2, 3, 4].map(() => recover({ dir: m.journal, host: m.host })));
      const reports = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      for (const r of settled) if (r.status === 'rejected') assert.match(String(r.reason), /another recover/);
      const undone = reports.flatMap((r) => r.undone);
      if (undone.length > 1) both++;
      assert.ok(undone.length <= 1, `trial ${t}: the share is undone at most once`);
      if (undone.length === 0) await recover({ dir: m.journal, host: m.host });
      assert.deepEqual(journals(m.journal), [], `trial ${t}`);
    }
    polling = false;
    assert.equal(both, 0);
    assert.equal(incomplete, 0, 'the lock file was seen before it was written');
  });
});

describe('integrity 7: a spec that is not JSON', () => {
  let m: Machine;
  beforeEach(() => (m = machine()));
  afterEach(() => fs.rmSync(m.root, { recursive: true, force: true }));

  const base = (): OciSpec => structuredClone(processIsolated.container.spec);
  const deep = (): Record<string, unknown> => {
    const top: Record<string, unknown> = {};
    let at = top;
    for (let i = 0; i < 5000; i++) at = at.a = {} as Record<string, unknown>;
    return top;
  };
  const cyclic = (): Record<string, unknown> => {
    const o: Record<string, unknown> = { x: 1 };
    o.self = o;
    return o;
  };
  const cases: [string, () => OciSpec][] = [
    // In `process`, which validation passes through without reading.
    ['nested 5,000 deep', () => ({ ...base(), process: deep() }) as unknown as OciSpec],
    ['holding a function', () => ({ ...base(), process: { args: ['cmd'], f: () => 1 } }) as unknown as OciSpec],
    ['holding a symbol', () => ({ ...base(), process: { args: ['cmd'], s: Symbol('x') } }) as unknown as OciSpec],
    ['holding a cycle', () => ({ ...base(), process: cyclic() }) as unknown as OciSpec],
  ];
  for (const [name, spec] of cases) {
    it(`a spec ${name}: plan and allocate both reject it with ERR_INVALID_SPEC, and no journal blocks the id afterwards`, async () => {
      const planned = await rejection(planWindowsResources({ id: 'argon1', spec: spec(), host: m.host }));
      const allocated = await rejection(allocateWindowsResources({ id: 'argon1', spec: spec(), host: m.host, journal: m.journal }));
      assert.equal(planned.code, 'ERR_INVALID_SPEC', planned.message);
      assert.equal(allocated.code, 'ERR_INVALID_SPEC', allocated.message);
      assert.deepEqual(journals(m.journal), []);
      const a = await allocate(m.host, undefined, processIsolated.container, { journal: m.journal });
      await a.resources.release({ all: true });
    });
  }
});
