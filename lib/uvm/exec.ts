// How hcsshim reports a process it ran in the utility VM (cmd.ExecInUvm) that exited
// non-zero: the error every caller (sandbox mounts, device-util, pnputil) wraps.

import { GuestError } from '../errors';

/** cmd.ExitError for a non-zero exit code (cmd.go:84-91). */
export function exitError(exitCode: number): GuestError {
  return new GuestError(`process exited with exit code ${exitCode}`, { exitCode });
}
