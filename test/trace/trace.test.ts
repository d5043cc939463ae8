import * as assert from 'node:assert/strict';
import { onStep, traceHost, traceStep, withTraceContext, type StepContext } from '../../lib/trace';
import type { Host } from '../../lib/host/types';

describe('trace', () => {
  it('publishes start and end with duration and the container id of the async context', async () => {
    const seen: Array<[string, StepContext]> = [];
    const off = onStep({ start: (c) => seen.push(['start', { ...c }]), end: (c) => seen.push(['end', { ...c }]) });
    try {
      const v = await withTraceContext({ containerId: 'c1' }, () => traceStep('layers.mount', 'step', async () => 42));
      assert.equal(v, 42);
    } finally {
      off();
    }
    assert.deepEqual(seen.map(([k, c]) => [k, c.step, c.kind, c.containerId]), [
      ['start', 'layers.mount', 'step', 'c1'],
      ['end', 'layers.mount', 'step', 'c1'],
    ]);
    assert.ok(typeof seen[1]?.[1].durationMs === 'number' && seen[1][1].durationMs >= 0);
  });

  it('publishes error for a failing step and rethrows it unchanged', async () => {
    const errors: StepContext[] = [];
    const off = onStep({ error: (c) => errors.push(c) });
    const boom = new Error('boom');
    try {
      await assert.rejects(traceStep('ccg.add', 'step', async () => { throw boom; }), (e) => e === boom);
    } finally {
      off();
    }
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.error, boom);
  });

  it('logs to a pino-compatible logger without any subscriber', async () => {
    const lines: Array<[string, string | undefined]> = [];
    const logger = {
      debug: (_o: object, m?: string) => lines.push(['debug', m]),
      info: (_o: object, m?: string) => lines.push(['info', m]),
      warn: (_o: object, m?: string) => lines.push(['warn', m]),
      error: (_o: object, m?: string) => lines.push(['error', m]),
    };
    await withTraceContext({ containerId: 'c1', logger }, () => traceStep('validate', 'step', async () => undefined));
    assert.deepEqual(lines, [['debug', 'validate done']]);
  });

  it('traces host calls under their HCS API names with the addressed target', async () => {
    const host = { nameToGuid: async (n: string) => `guid-of-${n}`, build: 20348 } as unknown as Host;
    const calls: StepContext[] = [];
    const off = onStep({ end: (c) => calls.push({ ...c }) });
    try {
      assert.equal(await traceHost(host).nameToGuid('abc'), 'guid-of-abc');
      assert.equal(traceHost(host).build, 20348);
    } finally {
      off();
    }
    assert.deepEqual(calls.map((c) => [c.step, c.kind, c.target]), [['NameToGuid', 'call', 'abc']]);
  });
});
