// The per-step timing table of `allocate`, built from the trace events the
// engine publishes (lib/trace onStep): engine steps and the host calls inside
// them, in start order, nested by time containment.

import { asWcowError } from '../errors';
import { onStep, type StepContext } from '../trace';
import { formatMs, table } from './format';
import type { Progress } from './progress';

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

/** The timing table: one row per step or call, indented by nesting. */
export function stepsTable(records: readonly StepRecord[]): string {
  return table(
    [{ header: 'at ms', align: 'right' }, { header: 'ms', align: 'right' }, { header: 'step / host call' }, { header: 'target' }, { header: 'result' }],
    records.map((r) => [
      formatMs(r.startMs),
      formatMs(r.durationMs),
      `${'  '.repeat(r.depth)}${r.kind === 'call' ? '→ ' : ''}${r.step}`,
      r.target ?? '',
      r.error ?? 'ok',
    ]),
  );
}
