// hcsshim's uvm.modify (internal/uvm/modify.go:15-50; mounts §4.5, layers §3.4): how one
// ModifySettingRequest reaches HCS and the guest. WCOW UVMs always have their own GCS
// connection (create_wcow.go:343), so a request with a GuestRequest is always split.

import { wrap } from '../errors';
import { asRemove, withoutGuestRequest } from '../hcs/documents';
import type { ModifySettingRequest } from '../hcs/schema';
import type { UtilityVm } from '../host/types';
import { traceStep } from '../trace';

export interface ModifyOptions {
  signal?: AbortSignal;
}

/**
 * - No GuestRequest: the whole document to HcsModifyComputeSystem, errors unchanged.
 * - Add with a resource path: host part first (`adding VM resources: <e>`), then the guest
 *   request (`guest modify: <e>`); when the guest fails, the host part is rolled back with
 *   RequestType Remove and its Settings kept, as hcsshim does. A failed rollback is only
 *   recorded — a traced step `uvm.modify.rollback` whose failure the trace logger reports —
 *   and the guest error is what the caller sees.
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
  const hostPart = withoutGuestRequest(req);
  const hasHostPart = req.ResourcePath !== undefined && req.ResourcePath !== '';
  const isAdd = hasHostPart && req.RequestType === 'Add';
  if (isAdd) {
    try {
      await uvm.modify(hostPart, signal);
    } catch (err) {
      throw wrap(err, 'adding VM resources', { op: 'uvm.modify' });
    }
  }
  try {
    await uvm.guestRequest(req.GuestRequest, signal);
  } catch (err) {
    if (isAdd) {
      // The rollback runs even when the caller aborted: it undoes what already happened.
      await traceStep('uvm.modify.rollback', 'step', () => uvm.modify(asRemove(req)), uvm.id).catch(() => undefined);
    }
    throw wrap(err, 'guest modify', { op: 'uvm.modify' });
  }
  if (hasHostPart && req.RequestType === 'Remove') {
    try {
      await uvm.modify(hostPart, signal);
    } catch (err) {
      throw wrap(err, 'removing VM resources', { op: 'uvm.modify' });
    }
  }
}
