// Comparing hcsshim's run with the package's: step by step, call by call (api,
// target, document as JSON text, args, outcome), then each container's results
// and the final snapshot. Differences are plain sentences; deliberate.ts decides
// which of them a scenario's declared differences (docs/differences.md) explain.

import type { Call, ContainerResult, Run } from './sides';

export function callText(c: Call | undefined): string {
  if (c === undefined) return '(none)';
  return [c.api, c.target ?? '', c.document ?? '', c.args ?? '', c.outcome ?? ''].join(' | ');
}

export function sameCall(a: Call, b: Call): boolean {
  return a.api === b.api && a.target === b.target && a.document === b.document && a.args === b.args && a.outcome === b.outcome;
}

/** The first differing call of two sequences, as a sentence; undefined when equal. */
export function diffCalls(label: string, theirs: readonly Call[], ours: readonly Call[]): string | undefined {
  const n = Math.max(theirs.length, ours.length);
  for (let i = 0; i < n; i++) {
    const a = theirs[i];
    const b = ours[i];
    if (a !== undefined && b !== undefined && sameCall(a, b)) continue;
    return `${label}: call ${i + 1} of ${theirs.length} (hcsshim) / ${ours.length} (ours) differs\n      hcsshim: ${callText(a)}\n      ours:    ${callText(b)}`;
  }
  return undefined;
}

const RESULT_FIELDS = ['containerRootInUvm', 'specRootPath', 'mappedDirectories', 'ccgState', 'devices'] as const;

/** Results of one container: failed or not at each step, and (after a successful allocation) its outputs. */
export function diffResults(id: string, theirs: ContainerResult, ours: ContainerResult): string[] {
  const out: string[] = [];
  if ((theirs.allocateError === null) !== (ours.allocateError === null)) {
    out.push(`${id}: allocation ${theirs.allocateError === null ? 'succeeded' : 'failed'} in hcsshim (${theirs.allocateError ?? ''}), ${ours.allocateError === null ? 'succeeded' : 'failed'} in ours (${ours.allocateError ?? ''})`);
  }
  if (theirs.allocateError === null && ours.allocateError === null) {
    for (const f of RESULT_FIELDS) {
      const a = JSON.stringify(theirs[f]);
      const b = JSON.stringify(ours[f]);
      if (a !== b) out.push(`${id}: ${f} differs\n      hcsshim: ${a}\n      ours:    ${b}`);
    }
  }
  if ((theirs.releaseError === null) !== (ours.releaseError === null)) {
    out.push(`${id}: release ${theirs.releaseError === null ? 'succeeded' : 'failed'} in hcsshim (${theirs.releaseError ?? ''}), ${ours.releaseError === null ? 'succeeded' : 'failed'} in ours (${ours.releaseError ?? ''})`);
  }
  return out;
}

/** Paths in a snapshot's object that differ, as `a.b[2].c`. */
export function diffJson(label: string, a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    const out: string[] = [];
    for (const k of keys) out.push(...diffJson(label, (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at === '' ? k : `${at}.${k}`));
    return out;
  }
  return [`${label} ${at}\n      hcsshim: ${JSON.stringify(a)}\n      ours:    ${JSON.stringify(b)}`];
}

export interface Comparison {
  differences: string[];
  calls: number;
}

export function compareRuns(theirs: Run, ours: Run): Comparison {
  const differences: string[] = [];
  const steps = Math.max(theirs.steps.length, ours.steps.length);
  let calls = 0;
  for (let i = 0; i < steps; i++) {
    const a = theirs.steps[i];
    const b = ours.steps[i];
    calls += a?.calls.length ?? 0;
    if (a === undefined || b === undefined || a.op !== b.op || a.container !== b.container) {
      differences.push(`step ${i + 1}: hcsshim ${a ? `${a.op} ${a.container}` : '(none)'}, ours ${b ? `${b.op} ${b.container}` : '(none)'}`);
      continue;
    }
    const d = diffCalls(`step ${i + 1} (${a.op} ${a.container})`, a.calls, b.calls);
    if (d !== undefined) differences.push(d);
  }
  for (const id of Object.keys(theirs.containers)) {
    differences.push(...diffResults(id, theirs.containers[id]!, ours.containers[id]!));
  }
  differences.push(...diffJson('snapshot', theirs.snapshot, ours.snapshot));
  return { differences, calls };
}
