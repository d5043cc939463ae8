// 100 containers allocating and releasing at once in one UVM while random calls fail: each
// allocation either succeeds or rolls back, each release either succeeds or is retried, and
// the end is the baseline in HCS and in the client state — no refcount drift.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WcowError } from '../../lib/errors';
import { SimulatedHost } from '../../lib/host/simulated';
import type { Allocation } from '../../lib/allocate';
import { currentJournal } from '../../lib/resources/journal';
import type { OciSpec } from '../../lib/oci/types';
import { onStep } from '../../lib/trace';
import { uvmState } from '../../lib/uvm';
import { CREDENTIAL_SPEC, L1, L2, L3, allocate, prepareMachine, rng } from './scenarios';

const N = 100;

function container(i: number): { id: string; spec: OciSpec } {
  const mounts = [
    { source: `C:\\many\\d${i % 16}`, destination: 'C:\\d', options: i % 3 === 0 ? [] : ['ro'] },
    { source: `C:\\many\\disks\\v${i % 8}.vhdx`, destination: 'C:\\v', type: 'virtual-disk', options: ['ro'] },
    { source: `C:\\many\\files\\f${i % 8}.txt`, destination: 'C:\\f\\f.txt', options: ['ro'] },
    { source: `\\\\.\\pipe\\busy${i}`, destination: '\\\\.\\pipe\\p' },
  ];
  const windows: Record<string, unknown> = { layerFolders: [L3, L2, L1, `C:\\layers\\busy${i}`], hyperv: {} };
  if (i % 10 === 0) windows.credentialSpec = CREDENTIAL_SPEC;
  return { id: `busy${i}`, spec: { mounts, windows } as OciSpec };
}

describe('reliability: concurrency under faults', () => {
  it(`${N} concurrent allocate/release cycles in one UVM with random faults end at the baseline without refcount drift`, async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-busy-'));
    const journal = path.join(root, 'journal');
    // A rollback whose calls fail hands its journal to recover() and leaves this process's
    // client state behind (faults.test.ts and the uvm SCSI tests cover that); here faults hit
    // every call but those of rollbacks — the allocation's, a step's own (`rollback`) and the
    // host part of a failed guest add (`uvm.modify.rollback`). Counted, as they can nest.
    const rollingBack = new Map<string, number>();
    const isRollback = (step: string): boolean => step === 'rollback' || step === 'uvm.modify.rollback';
    const track = (id: string | undefined, d: number): void => {
      if (id === undefined) return;
      const n = (rollingBack.get(id) ?? 0) + d;
      if (n === 0) rollingBack.delete(id);
      else rollingBack.set(id, n);
    };
    const unsubscribe = onStep({
      start: (ctx) => {
        if (isRollback(ctx.step)) track(ctx.containerId, 1);
      },
      end: (ctx) => {
        if (isRollback(ctx.step)) track(ctx.containerId, -1);
      },
      error: (ctx) => {
        if (isRollback(ctx.step)) track(ctx.containerId, -1);
      },
    });
    try {
      const host = new SimulatedHost({ root, stateDir: false });
      prepareMachine(root, host);
      const vm = await host.createUtilityVm({ id: 'busy@vm' });
      for (let i = 0; i < N; i++) await (await allocate(host, vm, container(i))).resources.release({ all: true });
      const baseline = host.snapshot();

      const random = rng(0xfa17);
      let failedCalls = 0;
      const fault = host.injectFault({
        api: '*',
        times: Infinity,
        match: (c) => {
          const id = currentJournal()?.id;
          if (!c.mutating || id === undefined || rollingBack.has(id) || random() >= 0.04) return false;
          failedCalls++;
          return true;
        },
      });
      const leftover: Allocation[] = [];
      let allocated = 0;
      let rolledBack = 0;
      await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          let a: Allocation;
          try {
            a = await allocate(host, vm, container(i), { journal });
            allocated++;
          } catch (err) {
            assert.ok(err instanceof WcowError, String(err));
            assert.doesNotMatch(err.message, /rollback failed/);
            rolledBack++;
            return;
          }
          await a.resources.release({ all: true }).catch((err: unknown) => {
            assert.ok(err instanceof WcowError, String(err));
            leftover.push(a);
          });
        }),
      );
      fault.remove();
      for (const a of leftover) await a.resources.release({ all: true });

      assert.ok(failedCalls > 0 && allocated > 0 && rolledBack > 0, `${failedCalls} faults, ${allocated} allocated, ${rolledBack} rolled back`);
      assert.ok(leftover.length > 0, 'some releases failed and were retried');
      assert.deepEqual(host.snapshot(), baseline);
      assert.deepEqual(uvmState(host, vm).refcounts(), { scsi: [{ controller: 0, lun: 0, hostPath: '', uvmPath: '', refCount: 1 }], vsmb: [], vpci: [] });
      assert.deepEqual(fs.readdirSync(journal), []);
    } finally {
      unsubscribe();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
