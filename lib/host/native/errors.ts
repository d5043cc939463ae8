// How a failed native call reads. lib/native.ts turns what the addon throws into
// a WcowError (code, hresult, result document); this rewrites HCS failures into
// the error the API reports in hcsshim's words, through the same function the
// simulated host uses (lib/hcs/errors.ts `apiFailure`), so a failure reads the
// same from either host.

import { AbortedError, type WcowError } from '../../errors';
import { apiFailure, hresultText } from '../../hcs/errors';
import { fromNative } from '../../native';

/**
 * The error `api` (a Win32/HCS function name, or `GuestRequest` / `Exec` /
 * `ResolvePath`) reports when the native call addressed to `target` failed with `err`.
 */
export function nativeFailure(err: unknown, api: string, target: string | undefined): WcowError {
  const e = fromNative(err, api, target);
  if (e.code === 'ERR_ABORTED') return new AbortedError(`${api} was aborted`, { ...e.details(), cause: e });
  if (e.hresult === undefined || (e.code !== 'ERR_HCS' && e.code !== 'ERR_IO')) return e;
  const hr = parseInt(e.hresult, 16) | 0;
  // HCS's own error document when it returned one; else only its code, so no
  // error event is invented.
  const result = e.result ?? { Error: hr };
  const mapped = apiFailure(api, target, hr, result.ErrorMessage ?? hresultText(hr), result);
  return errorForCause(mapped, e);
}

function errorForCause(mapped: WcowError, cause: WcowError): WcowError {
  Object.defineProperty(mapped, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
  return mapped;
}
