// When the crash journal writes and flushes (lib/resources/journal/README.md "Rules"): every
// acquisition is in the file before its call; the acquisitions of resources inside a utility
// VM are never flushed (a host crash takes the VM and them with it), those of resources on
// the host are flushed before their call, together with the journal's name; nothing a call
// waits for goes through the thread pool; journals created at once share directory flushes;
// a successful call adds no record; the preflight reads only the journal its id would have.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import nodeFs = require('node:fs');
import type { SimulatedCall } from '../../lib/host/simulated';
import type { GuestModificationRequest, ModifySettingRequest } from '../../lib/hcs/schema';
import { guestEffect, keyOf, modifyEffect, type Undo } from '../../lib/resources/journal/undo';
import { journalName } from '../../lib/resources/journal/journal';
import { Holdings } from '../../lib/resources/journal/replay';
import { SCENARIOS, allocate, journalFiles, machine as newMachine, stage, type Machine, type Scenario } from './scenarios';

const processIsolated = SCENARIOS[0] as Scenario;
const full = SCENARIOS[1] as Scenario;

type Method = 'write' | 'datasync' | 'sync';
interface Io {
  /** Writes through the thread pool (fs.write, FileHandle.write); fdatasync and fsync calls. */
  count: Record<Method, number>;
  /** The journal files' text when each datasync started and when it had completed (in order). */
  flushed: string[];
}

type Callback = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
type CallbackApi = (...args: unknown[]) => void;

/**
 * Counts thread-pool writes and flushes while `fn` runs (and what each completed datasync
 * covered): the callback API of the fs module object itself — every `import * as fs` sees
 * the replacement — and FileHandle's.
 */
async function watchIo(dir: string, fn: (io: Io) => Promise<void>): Promise<Io> {
  const probe = await fs.promises.open(__filename, 'r');
  const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const mutable = nodeFs as unknown as Record<'write' | 'fdatasync' | 'fsync', CallbackApi>;
  const originals = { write: mutable.write, fdatasync: mutable.fdatasync, fsync: mutable.fsync, handleWrite: proto.write };
  const io: Io = { count: { write: 0, datasync: 0, sync: 0 }, flushed: [] };
  const journals = (): string => journalFiles(dir).map((n) => fs.readFileSync(path.join(dir, n), 'utf8')).join('');
  const counted = (api: 'write' | 'fdatasync' | 'fsync', m: Method): CallbackApi =>
    function (this: unknown, ...args: unknown[]) {
      io.count[m]++;
      const before = m === 'datasync' ? journals() : '';
      const cb = args.pop() as Callback;
      originals[api].call(this, ...args, (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => {
        if (m === 'datasync') io.flushed.push(before);
        cb(err, ...rest);
      });
    };
  mutable.write = counted('write', 'write');
  mutable.fdatasync = counted('fdatasync', 'datasync');
  mutable.fsync = counted('fsync', 'sync');
  proto.write = async function (this: unknown, ...args: unknown[]) {
    io.count.write++;
    return originals.handleWrite.apply(this, args);
  };
  try {
    await fn(io);
  } finally {
    Object.assign(mutable, { write: originals.write, fdatasync: originals.fdatasync, fsync: originals.fsync });
    proto.write = originals.handleWrite;
  }
  return io;
}

/** The acquisition a state-changing UVM call makes, as the journal names it. */
function acquisitionOf(call: SimulatedCall): Undo | undefined {
  const uvmId = call.target ?? '';
  const effect =
    call.api === 'HcsModifyComputeSystem'
      ? modifyEffect(uvmId, call.document as ModifySettingRequest)
      : call.api === 'GuestRequest'
        ? guestEffect(uvmId, call.document as GuestModificationRequest)
        : undefined;
  return effect?.kind === 'acquire' ? effect.undo : undefined;
}

/** The acquisitions recorded in `text` (journal lines), by key. */
function acquired(text: string): Set<string> {
  const keys = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { t: string; undo?: Undo };
    if (e.t === 'acquire' && e.undo !== undefined) keys.add(keyOf(e.undo));
  }
  return keys;
}

describe('journal writes: recorded before each call, flushed only where a flush can matter', () => {
  let m: Machine;
  beforeEach(() => (m = newMachine('wcow-jwrites-')));
  afterEach(() => fs.rmSync(m.root, { recursive: true, force: true }));

  it('hypervisor-isolated: every acquisition is in the file when its call is made, none is flushed, and no call waits for the thread pool', async () => {
    const { uvm } = await stage(m.host, full, m.journal);
    let checked = 0;
    const missing: string[] = [];
    const hook = m.host.injectFault({
      api: '*',
      times: Infinity,
      match: (call) => {
        const undo = call.mutating ? acquisitionOf(call) : undefined;
        if (undo === undefined) return false;
        const file = path.join(m.journal, journalName(full.container.id));
        if (!acquired(fs.readFileSync(file, 'utf8')).has(keyOf(undo))) missing.push(keyOf(undo));
        checked++;
        return false;
      },
    });
    const io = await watchIo(m.journal, async () => {
      const a = await allocate(m.host, uvm, full.container, { journal: m.journal });
      await a.resources.release({ all: true });
    });
    hook.remove();
    assert.ok(checked >= 10, `${checked} acquiring calls checked`);
    assert.deepEqual(missing, [], 'recorded before the call');
    assert.equal(io.count.write, 0, 'no journal record, the owner record included, went through the thread pool');
    // The full scenario has a CCG instance (on the host): one flush for it, nothing for the UVM.
    assert.equal(io.count.datasync, 1, 'only the host-side CCG instance is flushed');
    assert.deepEqual(journalFiles(m.journal), []);
  });

  it('process-isolated: the layer activation and preparation are flushed before their calls, with the journal name', async () => {
    await stage(m.host, processIsolated, m.journal);
    const layer = processIsolated.container.spec.windows!.layerFolders!.at(-1)!;
    const seen: Record<string, boolean> = {};
    let flushes: string[] = [];
    let dirSyncs = 0;
    let io: Io | undefined;
    const hook = m.host.injectFault({
      api: '*',
      times: Infinity,
      match: (call) => {
        if ((call.api === 'ActivateLayer' || call.api === 'PrepareLayer') && call.target === layer) {
          const key = keyOf({ op: call.api === 'ActivateLayer' ? 'layer.deactivate' : 'layer.unprepare', path: layer });
          seen[call.api] = io!.flushed.some((text) => acquired(text).has(key));
          dirSyncs = io!.count.sync;
        }
        return false;
      },
    });
    io = await watchIo(m.journal, async (w) => {
      io = w;
      const a = await allocate(m.host, undefined, processIsolated.container, { journal: m.journal });
      flushes = [...w.flushed];
      await a.resources.release({ all: true });
    });
    hook.remove();
    assert.deepEqual(seen, { ActivateLayer: true, PrepareLayer: true }, 'flushed before vmcompute is called');
    assert.ok(dirSyncs >= 1, 'the journal name is flushed before the first flushed record counts');
    // ActivateLayer, PrepareLayer and the CCG instance: one flush each, no more.
    assert.equal(flushes.length, 3, `${flushes.length} flushes`);
  });

  it('a successful call adds no record: the file holds the owner and the acquisitions only', async () => {
    const { uvm } = await stage(m.host, full, m.journal);
    const a = await allocate(m.host, uvm, full.container, { journal: m.journal });
    const text = fs.readFileSync(path.join(m.journal, journalName(full.container.id)), 'utf8');
    const kinds = new Set(text.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { t: string }).t));
    assert.deepEqual([...kinds].sort(), ['acquire', 'owner']);
    await a.resources.release({ all: true });
  });

  it('journals created at once share their directory flushes', async () => {
    const n = 8;
    const containers = Array.from({ length: n }, (_, i) => {
      const spec = structuredClone(processIsolated.container.spec);
      spec.windows!.layerFolders = [...spec.windows!.layerFolders!.slice(0, -1), `C:\\layers\\scratch-group${i}`];
      delete spec.windows!.credentialSpec;
      return { id: `group${i}`, spec };
    });
    for (const c of containers) await (await allocate(m.host, undefined, c)).resources.release({ all: true });
    const io = await watchIo(m.journal, async () => {
      const all = await Promise.all(containers.map((c) => allocate(m.host, undefined, c, { journal: m.journal })));
      await Promise.all(all.map((a) => a.resources.release({ all: true })));
    });
    assert.ok(io.count.sync < n / 2, `${io.count.sync} directory flushes for ${n} journals`);
    assert.deepEqual(journalFiles(m.journal), []);
  });

  it('the journal is written while the preflight runs: a preflight failure leaves nothing in the directory, no descriptor open', async () => {
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const spec = structuredClone(processIsolated.container.spec);
    spec.windows!.layerFolders = ['C:\\layers\\missing', ...spec.windows!.layerFolders!];
    for (let i = 0; i < 20; i++) {
      const err = await allocate(m.host, undefined, { id: 'pre1', spec }, { journal: m.journal }).then(
        () => assert.fail('allocated'),
        (e: unknown) => e as { op?: string },
      );
      assert.equal(err.op, 'preflight');
    }
    assert.deepEqual(fs.readdirSync(m.journal), []);
    assert.ok(fds() <= before + 2, `${fds() - before} descriptors more than before`);
  });

  it("the preflight reads only the journal the id would have, not every other container's", async () => {
    const { uvm } = await stage(m.host, full, m.journal);
    const others = await Promise.all(
      Array.from({ length: 6 }, (_, i) => {
        const spec = structuredClone(full.container.spec);
        spec.windows!.layerFolders = [...spec.windows!.layerFolders!.slice(0, -1), `C:\\layers\\scratch-other${i}`];
        spec.mounts = [];
        delete spec.windows!.credentialSpec;
        delete spec.windows!.devices;
        delete spec.annotations;
        return allocate(m.host, uvm, { id: `other${i}`, spec }, { journal: m.journal });
      }),
    );
    const opened: string[] = [];
    // The module object itself: every `import * as fs` sees the replacement.
    const mutable = nodeFs as { openSync: (...args: unknown[]) => number };
    const openSync = mutable.openSync;
    mutable.openSync = (...args: unknown[]) => {
      if (String(args[0]).endsWith('.journal')) opened.push(path.basename(String(args[0])));
      return openSync(...args);
    };
    let a;
    try {
      a = await allocate(m.host, uvm, full.container, { journal: m.journal });
    } finally {
      mutable.openSync = openSync;
    }
    const own = journalName(full.container.id);
    assert.deepEqual(opened.filter((n) => n !== own), [], 'no other journal was opened');
    await a.resources.release({ all: true });
    for (const o of others) await o.resources.release({ all: true });
  });
});

describe('journal replay: a detached disk takes its guest mount with it', () => {
  it('a reference taken on an attachment whose guest mount a half-failed detach removed is gone once the disk is detached', () => {
    const tally = new Holdings();
    const scsi: Undo = { op: 'scsi.remove', uvmId: 'p@vm', controller: 0, lun: 4 };
    // lib/uvm's reuse of the attachment records both (handle.ts Hold); the guest mount is gone already.
    tally.apply({ t: 'acquire', n: 1, at: 1, undo: scsi }, 1);
    tally.apply({ t: 'acquire', n: 2, at: 1, undo: { op: 'guest.disk.remove', uvmId: 'p@vm', containerPath: 'C:\\mounts\\m1', lun: 4 } }, 2);
    // The detach sends only the host Remove.
    tally.apply({ t: 'removed', undo: scsi }, 3);
    assert.deepEqual(tally.held(), []);
  });
});
