// An abort inside a step (issue 15.7): the signal is checked before every host call and
// passed to the calls that can be cancelled, so the allocation stops within one call's
// latency — not at the next step — and rolls back to the baseline. The bounds are derived
// from the configured latency; the rollback's own calls (each taking that latency too)
// are measured and reported, not hidden in the bound.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { allocateWindowsResources } from '../../lib/allocate';
import { SimulatedHost } from '../../lib/host/simulated';
import type { OciMount } from '../../lib/oci/types';
import { onStep } from '../../lib/trace';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WcowError } from '../../lib/errors';
import { SCENARIOS, allocate, finish, prepareMachine, stage } from '../reliability/scenarios';
import type { SimulatedCall } from '../../lib/host/simulated';
import { bench, L1, L3, rejects, S, spec, type Bench, VSMB_SHARES } from './fixtures';

const CALL_MS = 20;
const MOUNTS = 40;
const ABORT_AFTER_MS = 50;

describe('allocate: an abort inside a step (issue 15.7)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it(`${MOUNTS} mounts at ${CALL_MS} ms per call, aborted ${ABORT_AFTER_MS} ms into the mounts step: stops within 2 × one call's latency, rolled back to the baseline`, async () => {
    const mounts: OciMount[] = [];
    for (let i = 0; i < MOUNTS; i++) {
      await b.dir(`C:\\data\\d${i}`);
      mounts.push({ source: `C:\\data\\d${i}`, destination: `C:\\m${i}` });
    }
    const host = new SimulatedHost({ root: b.root, latency: { hostCallMs: CALL_MS, guestRequestMs: CALL_MS } });
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    const baseline = host.snapshot();
    const from = host.calls.length;

    const controller = new AbortController();
    let abortAt = 0;
    let rollback: { start: number; end?: number } | undefined;
    const off = onStep({
      start: (ctx) => {
        if (ctx.step === 'mounts') {
          setTimeout(() => {
            abortAt = performance.now();
            controller.abort();
          }, ABORT_AFTER_MS);
        }
        if (ctx.step === 'rollback') rollback = { start: performance.now() };
      },
      end: (ctx) => {
        if (ctx.step === 'rollback' && rollback !== undefined) rollback.end = performance.now();
      },
    });
    let err;
    let rejectAt;
    try {
      err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts }), host, uvm, signal: controller.signal }));
      rejectAt = performance.now();
    } finally {
      off();
    }
    assert.equal(err.code, "ERR_ABORTED", err.message);
    assert.ok(abortAt > 0 && rollback?.end !== undefined, 'the abort or the rollback never happened');

    const stopMs = rollback.start - abortAt;
    const rollbackMs = rollback.end - rollback.start;
    const rejectMs = rejectAt - abortAt;
    const added = host.calls.slice(from).filter((c) => c.api === 'HcsModifyComputeSystem' && c.outcome === 'ok' && (c.document as { ResourcePath?: string; Settings?: { Path?: string } }).ResourcePath === VSMB_SHARES && (c.document as { Settings?: { Path?: string } }).Settings?.Path?.startsWith('C:\\data\\d'));
    console.log(`      abort → rollback starts ${stopMs.toFixed(1)} ms, rollback ${rollbackMs.toFixed(1)} ms, abort → reject ${rejectMs.toFixed(1)} ms; ${added.length} of ${MOUNTS} mounts were added`);
    assert.ok(stopMs <= 2 * CALL_MS, `the allocation went on for ${stopMs.toFixed(1)} ms after the abort (bound ${2 * CALL_MS} ms)`);
    assert.ok(rejectMs - rollbackMs <= 2 * CALL_MS, `rejected ${rejectMs.toFixed(1)} ms after the abort, ${rollbackMs.toFixed(1)} ms of it rollback (bound ${2 * CALL_MS} ms besides the rollback)`);
    assert.ok(added.length < MOUNTS / 4, `${added.length} mounts were added after an abort ${ABORT_AFTER_MS} ms in`);
    assert.deepEqual(host.snapshot().uvms, baseline.uvms);
    assert.deepEqual(host.snapshot().layers, baseline.layers);
  });
});

/** A call of the rollback: it takes something back. */
function givesBack(c: SimulatedCall): boolean {
  const doc = c.document as { RequestType?: string; Settings?: { Operation?: string } } | undefined;
  return ['DeactivateLayer', 'UnprepareLayer'].includes(c.api) || doc?.RequestType === 'Remove' || doc?.Settings?.Operation === 'RemoveInstance';
}

describe('allocate: an abort during any call (issue 15.7)', () => {
  // The many-mounts scenario is the latency test's business; its sweep would add ~20 s.
  for (const s of SCENARIOS.filter((x) => !x.name.startsWith('a spec with many mounts'))) {
    it(`${s.name}: aborting while call k is in flight rejects with ERR_ABORTED and leaves the baseline, for every k`, async () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-abort-'));
      try {
        const host = new SimulatedHost({ root });
        prepareMachine(root, host);
        const journal = path.join(root, 'journal');
        const st = await stage(host, s, journal);
        const baseline = host.snapshot();
        const from = host.calls.length;
        const probe = await allocate(host, st.uvm, s.container, { journal });
        const n = host.calls.length - from;
        await finish(host, s, st, probe, journal);
        let stoppedEarly = 0;
        let aborted = 0;
        for (let k = 1; k <= n; k++) {
          const controller = new AbortController();
          let seen = 0;
          // Never fails a call: aborts the signal as the k-th call of the allocation arrives.
          const hook = host.injectFault({ api: '*', times: Infinity, match: () => (++seen === k && controller.abort(), false) });
          const start = host.calls.length;
          const result = await allocate(host, st.uvm, s.container, { journal, signal: controller.signal }).then(
            async (a) => {
              await finish(host, s, st, a, journal);
              return a;
            },
            (e: unknown) => e,
          );
          hook.remove();
          // Only read calls were left when the abort came: the allocation may finish, but nothing leaks.
          if (!(result instanceof Error)) continue;
          aborted++;
          assert.ok(result instanceof WcowError && result.code === 'ERR_ABORTED', `call ${k}: ${String(result)}`);
          const acquiredAfter = host.calls.slice(start + k).filter((c) => c.mutating && c.outcome === 'ok' && !givesBack(c));
          if (acquiredAfter.length === 0) stoppedEarly++;
          assert.deepEqual(host.snapshot(), baseline, `call ${k} of ${n}: back at the baseline`);
        }
        console.log(`      ${n} calls: ${aborted} aborts rejected, ${stoppedEarly} of them before any further acquisition`);
        assert.ok(stoppedEarly >= n / 2, `only ${stoppedEarly} of ${n} aborts stopped before the next acquisition`);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
