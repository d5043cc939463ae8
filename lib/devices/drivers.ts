// Guest drivers: hcsshim addSpecGuestDrivers / devices.InstallDrivers (docs/layers.md#guest-drivers).
// Each directory named by io.microsoft.virtualmachine.kerneldrivers is shared into
// the UVM read-only and installed there with pnputil.
//
// hcsshim runs this twice for one container: once in CreateContainer before the
// network is set up (network drivers) and again at the end of
// allocateWindowsResources "to make sure the devices are ready" (docs/layers.md#drivers-are-installed-twice). The first call
// is CreateContainer's business; this package does allocateWindowsResources' call
// only, so each directory is shared once (one closer) and pnputil runs once.

import { wrap } from '../errors';
import { ERROR_NO_MORE_ITEMS, PNPUTIL_PATH } from '../hcs/constants';
import { rollbackOnFailure } from '../resources/release';
import type { Closer } from '../resources';
import type { UvmState } from '../uvm';
import { statHostPath } from '../uvm/vsmb';
import { exitError } from '../uvm/exec';

/**
 * Every directory must exist before anything is shared (devices.go:232-259):
 * `failed to find path to drivers at <dir>: <stat error>`.
 */
export async function checkDriverDirectories(uvm: UvmState, directories: readonly string[]): Promise<void> {
  for (const d of directories) {
    try {
      await statHostPath(uvm, d, 'drivers.install');
    } catch (err) {
      throw wrap(err, `failed to find path to drivers at ${d}`, { op: 'drivers.install', resource: d });
    }
  }
}

/** InstallDrivers' Windows branch for one directory (drivers.go:31-54; pnp.go:23-70). */
async function installDriver(uvm: UvmState, directory: string): Promise<Closer> {
  const op = 'drivers.install';
  let share: Closer;
  try {
    share = await uvm.addVsmb(directory, uvm.defaultVsmbOptions(true));
  } catch (err) {
    throw wrap(err, `failed to add VSMB share to utility VM for path ${directory}`, { op, resource: directory });
  }
  // A failed install releases the share it made (drivers.go:44-50).
  return rollbackOnFailure(
    () => [share],
    async () => {
      const uvmPath = await uvm.vsmbUvmPath(directory, true);
      // The forward slash before `*.inf` is hcsshim's (pnp.go:33-45).
      const args = ['cmd', '/c', PNPUTIL_PATH, '/add-driver', `${uvmPath}/*.inf`, '/subdirs', '/install'];
      let exitCode: number;
      try {
        exitCode = (await uvm.exec(args, {})).exitCode;
      } catch (err) {
        throw wrap(err, `failed to install driver ${uvmPath} in uvm with exit code -1`, { op, resource: uvmPath, exitCode: -1 });
      }
      // 259 (ERROR_NO_MORE_ITEMS): pnputil found no driver ranked higher than the one
      // installed — a warning in hcsshim, not a failure.
      if (exitCode !== 0 && exitCode !== ERROR_NO_MORE_ITEMS) {
        throw wrap(exitError(exitCode), `failed to install driver ${uvmPath} in uvm with exit code ${exitCode}`, { op, resource: uvmPath });
      }
      return share;
    },
  );
}

/**
 * Share and install each directory in order. On a failure the shares of the
 * directories done so far are released too, as addSpecGuestDrivers does.
 */
export async function installGuestDrivers(uvm: UvmState, directories: readonly string[]): Promise<Closer[]> {
  const closers: Closer[] = [];
  return rollbackOnFailure(
    () => [...closers],
    async () => {
      for (const d of directories) closers.push(await installDriver(uvm, d));
      return closers;
    },
  );
}
