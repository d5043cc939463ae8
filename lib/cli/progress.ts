// A progress line on stderr for steps that take long, only when stderr is a
// terminal: a pipe or a log file gets nothing, so machine output stays clean.

import { performance } from 'node:perf_hooks';
import { formatMs } from './format';

/** Below this a step finishes before a person would notice it; showing it would only flicker. */
const SHOW_AFTER_MS = 300;
const REFRESH_MS = 100;

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class Progress {
  private readonly active = new Map<object, { label: string; startedAt: number }>();
  private timer: NodeJS.Timeout | undefined;
  private shown = false;

  constructor(private readonly stream: ProgressStream) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  start(key: object, label: string): void {
    if (!this.enabled) return;
    this.active.set(key, { label, startedAt: performance.now() });
    // unref: a progress line must never keep the process alive.
    this.timer ??= setInterval(() => this.render(), REFRESH_MS).unref();
  }

  end(key: object): void {
    if (!this.active.delete(key)) return;
    if (this.active.size === 0) this.stop();
  }

  /** Clear the line and stop refreshing (also call before printing the result). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.active.clear();
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }

  /** Run `fn` with a progress line labelled `label` while it takes long. */
  async around<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const key = {};
    this.start(key, label);
    try {
      return await fn();
    } finally {
      this.end(key);
    }
  }

  private render(): void {
    // The most recently started step is the innermost one running: the most telling.
    let latest: { label: string; startedAt: number } | undefined;
    for (const a of this.active.values()) if (latest === undefined || a.startedAt >= latest.startedAt) latest = a;
    if (latest === undefined) return;
    const elapsed = performance.now() - latest.startedAt;
    if (elapsed < SHOW_AFTER_MS) return;
    this.stream.write(`\r\x1b[2K… ${latest.label} (${formatMs(elapsed)} ms)`);
    this.shown = true;
  }
}
