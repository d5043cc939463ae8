// Release helpers shared by the engine's composite closers and rollbacks. Unlike
// hcsshim, which logs and drops most cleanup errors, every failure is kept
// (DESIGN difference 2) and reported with the error that caused the rollback.

import { ReleaseError, asWcowError, errorFor, type WcowError } from '../errors';
import type { Closer } from '../resources';
import { currentJournal } from '../resources/journal/journal';
import { traceStep } from '../trace';

/** Release each closer in the given order, continuing past failures; the failures, in order. */
export async function releaseEach(closers: readonly Closer[]): Promise<WcowError[]> {
  const errors: WcowError[] = [];
  for (const c of closers) {
    try {
      await c.release();
    } catch (err) {
      errors.push(asWcowError(err));
    }
  }
  return errors;
}

/**
 * `err` (the failure that triggered a rollback) as thrown to the caller: unchanged
 * when the rollback succeeded; otherwise the same code, op and hcsshim wording,
 * followed by the rollback failures, whose ReleaseError becomes the cause.
 */
export function withRollbackErrors(err: unknown, rollbackErrors: readonly Error[]): WcowError {
  const primary = asWcowError(err);
  if (rollbackErrors.length === 0) return primary;
  // What the rollback could not release is in nobody's hands now: keep the container's
  // crash journal for recover() (DESIGN difference 8).
  currentJournal()?.retain();
  const rollback = new ReleaseError(rollbackErrors, 'rollback failed', { op: primary.op ?? 'rollback' });
  return errorFor(primary.code, `${primary.message} (${rollback.message})`, { ...primary.details(), cause: rollback });
}

/** Run `step`; when it fails, release `acquired` (in the given order) and rethrow with any rollback failures. */
export async function rollbackOnFailure<T>(acquired: () => readonly Closer[], step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw withRollbackErrors(err, await traceStep('rollback', 'step', () => releaseEach(acquired())));
  }
}
