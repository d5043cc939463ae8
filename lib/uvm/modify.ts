// hcsshim's uvm.modify (internal/uvm/modify.go:15-50; docs/mounts.md#adding-an-attachment, docs/behaviour.md#delivering-a-modify): how one
// ModifySettingRequest reaches HCS and the guest. WCOW UVMs always have their own GCS
// connection (create_wcow.go:343), so a request with a GuestRequest is always split.

import { errorFor, wrap, type WcowError } from '../errors';
import { asRemove, withoutGuestRequest } from '../hcs/documents';
import type { ModifySettingRequest } from '../hcs/schema';
import type { UtilityVm } from '../host/types';
import { currentJournal } from '../resources/journal/journal';
import { traceStep } from '../trace';

/** Errors of an Add whose guest part failed and whose host part could not be rolled back. */
const hostPartsLeft = new WeakSet<Error>();

/** Whether `err` says the host part of an Add is still there (its rollback failed). */
export function hostPartLeft(err: unknown): boolean {
  return err instanceof Error && hostPartsLeft.has(err);
}

export interface ModifyOptions {
  signal?: AbortSignal;
}

type Send = (req: ModifySettingRequest) => Promise<void>;

/** The host part of an Add (modify.go:21-24): `adding VM resources: <e>`. */
export async function addHostPart(send: Send, hostPart: ModifySettingRequest): Promise<void> {
  try {
    await send(hostPart);
  } catch (err) {
    throw wrap(err, 'adding VM resources', { op: 'uvm.modify' });
  }
}

/** The host part of a Remove (modify.go:44-48): `removing VM resources: <e>`. */
export async function removeHostPart(send: Send, hostPart: ModifySettingRequest): Promise<void> {
  try {
    await send(hostPart);
  } catch (err) {
    throw wrap(err, 'removing VM resources', { op: 'uvm.modify' });
  }
}

/**
 * After the guest part of an Add failed with `guestError`: `undo` sends its host part again
 * with RequestType Remove and its Settings kept (modify.go:27-35), also when the caller
 * aborted — it undoes what already happened. Returns the error to throw: `guestError`, or,
 * when the rollback failed too, one that says so and for which `hostPartLeft` is true.
 */
export async function rollbackHostPart(undo: () => Promise<void>, uvmId: string, guestError: WcowError): Promise<WcowError> {
  const left = await traceStep('uvm.modify.rollback', 'step', undo, uvmId).then(
    () => undefined,
    (rollbackErr: unknown) => rollbackErr as Error,
  );
  return left === undefined ? guestError : leftBehind(guestError, left);
}

/**
 * - No GuestRequest: the whole document to HcsModifyComputeSystem, errors unchanged.
 * - Add with a resource path: host part first (`adding VM resources: <e>`), then the guest
 *   request (`guest modify: <e>`); when the guest fails, the host part is rolled back with
 *   RequestType Remove and its Settings kept, as hcsshim does. hcsshim only logs a failed
 *   rollback; here (docs/differences.md#difference-2) the error says so, `hostPartLeft(err)` tells the
 *   caller the host part is still there, and the container's crash journal is kept for
 *   recover() instead of being deleted at release (docs/differences.md#difference-8).
 * - Remove with a resource path: guest first (`guest modify: <e>`; the host part is then not
 *   sent), then the host part (`removing VM resources: <e>`).
 * - Anything else (guest-only requests, Update): the guest request only.
 */
export async function modifyUvm(uvm: UtilityVm, req: ModifySettingRequest, options: ModifyOptions = {}): Promise<void> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  if (req.GuestRequest === undefined) {
    await uvm.modify(req, signal);
    return;
  }
  const send: Send = (r) => uvm.modify(r, signal);
  const hostPart = withoutGuestRequest(req);
  const hasHostPart = req.ResourcePath !== undefined && req.ResourcePath !== '';
  const isAdd = hasHostPart && req.RequestType === 'Add';
  if (isAdd) await addHostPart(send, hostPart);
  try {
    await uvm.guestRequest(req.GuestRequest, signal);
  } catch (err) {
    const guestError = wrap(err, 'guest modify', { op: 'uvm.modify' });
    throw isAdd ? await rollbackHostPart(() => uvm.modify(asRemove(req)), uvm.id, guestError) : guestError;
  }
  if (hasHostPart && req.RequestType === 'Remove') await removeHostPart(send, hostPart);
}

function leftBehind(guestError: WcowError, rollbackErr: Error): WcowError {
  const err = errorFor(guestError.code, `${guestError.message} (rollback of the host part failed: ${rollbackErr.message})`, {
    ...guestError.details(),
    cause: guestError,
  });
  hostPartsLeft.add(err);
  currentJournal()?.retain();
  return err;
}
