// Devices assigned to a hypervisor-isolated container: hcsshim
// handleAssignedDevicesWindows and devices.AddDevice (docs/layers.md#devices-in-a-utility-vm). Each device
// instance is assigned to the UVM over virtual PCI; device-util.exe, shared into the
// UVM, then reports the location paths of the device's children, which replace the
// spec's devices (the container sees them by location path).

import { wrap } from '../errors';
import { exitError } from '../uvm/exec';
import { DEVICE_ID_TYPE_LOCATION_PATH, DEVICE_UTIL_NAME } from '../hcs/constants';
import type { Host } from '../host/types';
import { join } from '../host/winpath';
import { rollbackOnFailure } from '../resources/release';
import type { Closer } from '../resources';
import type { OciWindowsDevice } from '../oci/types';
import type { ValidatedDevice } from '../oci/validate';
import type { UvmState } from '../uvm';

/**
 * devices.getChildrenDeviceLocationPaths (assigned_devices.go:60-110; pnp.go:75-98):
 * run `device-util children --parentID=<vmbus instance id> --property=location` and
 * split its stdout — one trailing newline trimmed, then on commas (empty output gives
 * one empty location, as Go's strings.Split does).
 */
async function childLocationPaths(uvm: UvmState, deviceUtilPath: string, vmBusInstanceId: string): Promise<string[]> {
  const args = [deviceUtilPath, 'children', `--parentID=${vmBusInstanceId}`, '--property=location'];
  let result: { exitCode: number; stdout: string };
  try {
    result = await uvm.exec(args, { stdout: true });
  } catch (err) {
    // The process never reported an exit: hcsshim's ExitCode() is -1.
    throw wrap(err, 'failed to find devices with exit code -1', { op: 'devices.assign', exitCode: -1 });
  }
  if (result.exitCode !== 0) {
    throw wrap(exitError(result.exitCode), `failed to find devices with exit code ${result.exitCode}`, {
      op: 'devices.assign',
      resource: vmBusInstanceId,
    });
  }
  const out = result.stdout.endsWith('\n') ? result.stdout.slice(0, -1) : result.stdout;
  return out.split(',');
}

export interface AssignedDevices {
  /** The spec's new `windows.devices`: one `vpci-location-path` entry per child found. */
  devices: OciWindowsDevice[];
  /** The device-util share, then one VPCI assignment per spec device (hcsshim's order). */
  closers: Closer[];
}

/**
 * Assign `devices` to the UVM. lib/oci has checked their types (`vpci` /
 * `vpci-instance-id` only) and split each id into PCI instance and virtual function
 * with hcsshim's getDeviceInfoFromPath — trap included: an instance id whose last
 * segment is all digits (`ROOT\SYSTEM\0001`) is assigned as `ROOT\SYSTEM`, VF 1.
 *
 * docs/differences.md#difference-4: hcsshim returns `(nil, nil, err)` when an assignment fails, so
 * the device-util share and the devices assigned before stay in the UVM, owned by
 * nobody (devices.go:149-152). Here they are released before the error is thrown.
 */
export async function assignDevices(host: Host, uvm: UvmState, devices: readonly ValidatedDevice[]): Promise<AssignedDevices> {
  const op = 'devices.assign';
  const closers: Closer[] = [];
  // hcsshim's deferred cleanup (never reached in v0.11.4) walks the closers in add order.
  return rollbackOnFailure(
    () => [...closers],
    async () => {
      // hcsshim looks for the tool next to the shim binary (devices.go:26,67-69). A file:
      // shared as its directory restricted to that one file (docs/layers.md#devices-in-a-utility-vm step 2).
      const toolHostPath = join(host.toolsDirectory, DEVICE_UTIL_NAME);
      try {
        closers.push(await uvm.addVsmb(toolHostPath, uvm.defaultVsmbOptions(true)));
      } catch (err) {
        throw wrap(err, `failed to add VSMB share to utility VM for path ${toolHostPath}`, { op, resource: toolHostPath });
      }
      const deviceUtilPath = await uvm.vsmbUvmPath(toolHostPath, true);

      const located: OciWindowsDevice[] = [];
      for (const d of devices) {
        const vpci = await uvm.assignDevice(d.pciId ?? d.id, d.virtualFunction ?? 0, d.idType);
        // AddDevice releases its own assignment when the lookup fails (assigned_devices.go:31-54).
        const paths = await rollbackOnFailure(() => [vpci], () => childLocationPaths(uvm, deviceUtilPath, vpci.vmBusInstanceId));
        closers.push(vpci);
        for (const p of paths) located.push({ id: p, idType: DEVICE_ID_TYPE_LOCATION_PATH });
      }
      return { devices: located, closers };
    },
  );
}
