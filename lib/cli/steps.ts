// The per-step timing table of `allocate`, built from the trace events the
// engine publishes (lib/trace onStep): engine steps and the host calls inside
// them, in start order, nested by time containment.

import { asWcowError } from '../errors';
import { onStep, type StepContext } from '../trace';
import { formatMs, table } from './format';
import type { Progress } from './progress';
import { resourceOf } from '../plan';

export interface StepRecord {
  step: string;
  kind: StepContext['kind'];
  containerId?: string;
  target?: string;
  /** Milliseconds since the recording started. */
  startMs: number;
  durationMs: number;
  /** Nesting level: how many recorded steps were still running when this one started. */
  depth: number;
  /** The error code when the step failed. */
  error?: string;
}

/** Records every step published while it is subscribed; `stop()` returns them in start order. */
export class StepRecorder {
  private readonly done: StepContext[] = [];
  private readonly unsubscribe: () => void;
  private readonly origin = performance.now();

  /** Milliseconds since the recording started, on the records' clock. */
  now(): number {
    return performance.now() - this.origin;
  }

  constructor(progress?: Progress) {
    this.unsubscribe = onStep({
      start: (ctx) => {
        if (ctx.kind === 'step') progress?.start(ctx, ctx.step);
      },
      end: (ctx) => {
        progress?.end(ctx);
        this.done.push(ctx);
      },
      error: (ctx) => {
        progress?.end(ctx);
        this.done.push(ctx);
      },
    });
  }

  stop(): StepRecord[] {
    this.unsubscribe();
    const sorted = [...new Set(this.done)].sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
    const open: number[] = [];
    return sorted.map((ctx) => {
      const start = ctx.startedAt ?? this.origin;
      const end = start + (ctx.durationMs ?? 0);
      while (open.length > 0 && (open[open.length - 1] as number) <= start) open.pop();
      const record: StepRecord = {
        step: ctx.step,
        kind: ctx.kind,
        startMs: start - this.origin,
        durationMs: ctx.durationMs ?? 0,
        depth: open.length,
      };
      if (ctx.containerId !== undefined) record.containerId = ctx.containerId;
      if (ctx.target !== undefined) record.target = ctx.target;
      if (ctx.error !== undefined) record.error = asWcowError(ctx.error).code;
      open.push(end);
      return record;
    });
  }
}

/** A call the host received, as far as the timing table needs it (SimulatedCall fits). */
export interface ReceivedCall {
  api: string;
  target?: string;
  document?: unknown;
}

/**
 * The resource of each record: a host call's record is matched, in order, with the next
 * received call of the same API (an allocation makes its calls one at a time, and both
 * lists are in start order), and named by its document (lib/plan resourceOf) — the
 * target alone says only `pod1@vm`.
 */
function resources(records: readonly StepRecord[], received: readonly ReceivedCall[]): string[] {
  let next = 0;
  return records.map((r) => {
    if (r.kind !== 'call') return '';
    for (let i = next; i < received.length; i++) {
      const c = received[i]!;
      if (c.api === r.step) {
        next = i + 1;
        // GrantVmAccess is traced with its VM; the host names the file it grants.
        return resourceOf(c.document) ?? (c.target !== r.target ? (c.target ?? '') : '');
      }
    }
    return '';
  });
}

function section(title: string, records: readonly StepRecord[], resource: readonly string[]): string {
  if (records.length === 0) return '';
  const calls = records.filter((r) => r.kind === 'call');
  const start = Math.min(...records.map((r) => r.startMs));
  const end = Math.max(...records.map((r) => r.startMs + r.durationMs));
  const inHost = calls.reduce((ms, r) => ms + r.durationMs, 0);
  const failed = records.filter((r) => r.error !== undefined).length;
  const rows = records.map((r, i) => [
    formatMs(r.startMs),
    formatMs(r.durationMs),
    `${'  '.repeat(r.depth)}${r.kind === 'call' ? '→ ' : ''}${r.step}`,
    r.target ?? '',
    resource[i] ?? '',
    r.error ?? 'ok',
  ]);
  return (
    `${title}:\n` +
    table(
      [{ header: 'at ms', align: 'right' }, { header: 'ms', align: 'right' }, { header: 'step / host call' }, { header: 'target' }, { header: 'resource' }, { header: 'result' }],
      rows,
    ) +
    `total: ${formatMs(end - start)} ms, ${calls.length} host calls taking ${formatMs(inHost)} ms${failed > 0 ? `, ${failed} failed` : ''}\n`
  );
}

/**
 * The timing table: one row per step or call, indented by nesting, with the resource each
 * call concerned; an allocate section, then (`releaseAtMs`: when the release began) a
 * release section, each with its total.
 */
export function stepsTable(records: readonly StepRecord[], received: readonly ReceivedCall[] = [], releaseAtMs?: number): string {
  const resource = resources(records, received);
  const split = releaseAtMs === undefined ? records.length : records.findIndex((r) => r.startMs >= releaseAtMs);
  const at = split < 0 ? records.length : split;
  return section('allocate', records.slice(0, at), resource.slice(0, at)) + (at < records.length ? '\n' + section('release', records.slice(at), resource.slice(at)) : '');
}
