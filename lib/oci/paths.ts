// What no Windows path can hold: NUL and the control characters 1-31 are invalid in
// file and directory names (Win32 "Naming Files, Paths, and Namespaces"). hcsshim passes
// such a path on and fails in whichever call first sees it (a NUL ends the UTF-16 string
// the API reads, so that call may even act on a shorter path); we refuse it up front.

import type { WcowError, WcowErrorDetails } from '../errors';

const CONTROL = /[\x00-\x1f]/;

/** Throws `make(message, details)` when `path` (the spec field `field`) holds a control character. */
export function checkPathCharacters(
  path: string,
  field: string,
  make: new (message: string, details?: WcowErrorDetails) => WcowError,
  details: WcowErrorDetails,
): void {
  const c = CONTROL.exec(path);
  if (c === null) return;
  const code = c[0].charCodeAt(0).toString(16).padStart(2, '0');
  throw new make(`invalid OCI spec - '${field}' ${JSON.stringify(path)} contains the control character U+00${code.toUpperCase()}, which no Windows path can hold`, details);
}
