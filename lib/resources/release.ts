// Release helpers shared by the engine's composite closers and every rollback. Unlike
// hcsshim, which logs and drops most cleanup errors, every failure is kept
// (docs/differences.md#difference-2) and reported with the error that caused the rollback, and what a
// rollback could not undo is handed on (leftoversOf) instead of forgotten.

import { ReleaseError, asWcowError, errorFor, type WcowError } from '../errors';
import type { Closer } from './closer';
import { currentJournal } from './journal/journal';
import { traceStep } from '../trace';

/** Release each closer in the given order, continuing past failures; the failures, in order. */
export async function releaseEach(closers: readonly Closer[]): Promise<WcowError[]> {
  return (await releaseKeeping(closers)).errors;
}

/** The same, with the closers that failed (still holding what they could not release). */
async function releaseKeeping(closers: readonly Closer[]): Promise<{ errors: WcowError[]; left: Closer[] }> {
  const errors: WcowError[] = [];
  const left: Closer[] = [];
  for (const c of closers) {
    try {
      await c.release();
    } catch (err) {
      errors.push(asWcowError(err));
      left.push(c);
    }
  }
  return { errors, left };
}

/** What a failed rollback left, by the error it was reported with (and every error wrapping it: `cause`). */
const leftovers = new WeakMap<object, readonly Closer[]>();

/**
 * The closers a rollback inside the step that threw `err` could not release: the caller
 * takes them over (allocate adds them to the container's Resources, so its own rollback —
 * or a later release or recover — finishes them).
 */
export function leftoversOf(err: unknown): Closer[] {
  const out: Closer[] = [];
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 32; e = (e as { cause?: unknown }).cause, depth++) {
    const left = leftovers.get(e);
    if (left !== undefined) {
      out.push(...left);
      break;
    }
  }
  return out;
}

/**
 * `err` (the failure that triggered a rollback) as thrown to the caller: unchanged
 * when the rollback succeeded; otherwise the same code, op and hcsshim wording,
 * followed by the rollback failures — listed in `rollbackErrors` (with those of an earlier
 * rollback of the same failure) and as the cause.
 */
export function withRollbackErrors(err: unknown, rollbackErrors: readonly WcowError[], left: readonly Closer[] = []): WcowError {
  const primary = asWcowError(err);
  if (rollbackErrors.length === 0) return primary;
  // Until everything is released, the container's crash journal is kept for recover()
  // (Journal.remove; docs/differences.md#difference-8).
  currentJournal()?.retain();
  const rollback = new ReleaseError(rollbackErrors, 'rollback failed', { op: primary.op ?? 'rollback' });
  const all = [...(primary.rollbackErrors ?? []), ...rollbackErrors];
  const e = errorFor(primary.code, `${primary.message} (${rollback.message})`, { ...primary.details(), rollbackErrors: all, cause: rollback });
  if (left.length > 0) leftovers.set(e, [...leftoversOf(primary), ...left]);
  return e;
}

/** Release `acquired` (in the given order) after `err`; the error to throw, naming any rollback failures. */
export async function rollbackAfter(err: unknown, acquired: readonly Closer[]): Promise<WcowError> {
  const { errors, left } = await traceStep('rollback', 'step', () => releaseKeeping(acquired));
  return withRollbackErrors(err, errors, left);
}

/** Run `step`; when it fails, release `acquired` (in the given order) and rethrow with any rollback failures. */
export async function rollbackOnFailure<T>(acquired: () => readonly Closer[], step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw await rollbackAfter(err, acquired());
  }
}
