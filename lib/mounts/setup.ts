// Hot-adding a hypervisor-isolated container's OCI mounts: hcsshim setupMounts
// (docs/mounts.md). lib/oci has validated and classified every mount already
// (docs/differences.md#difference-1), so this runs only the side effects, in spec order.
// Process-isolated containers hot-add nothing: HCS maps their directories from the
// container document (docs/mounts.md#when-mounts-are-hot-added), see ./config.ts.

import { wrap } from '../errors';
import { WCOW_GLOBAL_MOUNT_PREFIX } from '../hcs/constants';
import { mappedDirectory } from '../hcs/documents';
import type { MappedDirectory } from '../hcs/schema';
import type { Resources } from '../resources';
import type { ValidatedMount } from '../oci/validate';
import type { UvmState } from '../uvm';
import { formatMount } from './classify';
import { exitError } from '../uvm/exec';
import { goQuote } from '../hcs/gostrconv';

/**
 * `cmd /c mkdir P & dir P` as SYSTEM in `C:\` (resources_wcow.go:204-229; docs/mounts.md#sandbox-mounts): `&`
 * makes the exit code dir's, so an existing directory is fine. Nothing is registered:
 * the directory is shared by the pod's containers and never removed.
 */
async function createSandboxDirectory(uvm: UvmState, m: ValidatedMount, path: string): Promise<void> {
  const op = 'mounts.sandbox';
  let exitCode: number;
  let stderr: string;
  let cause: Error;
  try {
    const r = await uvm.exec(['cmd', '/c', 'mkdir', path, '&', 'dir', path], { stderr: true });
    if (r.exitCode === 0) return;
    ({ exitCode, stderr } = r);
    cause = exitError(exitCode);
  } catch (err) {
    // The process never reported an exit: hcsshim's ExitCode() is -1, stderr empty.
    [exitCode, stderr, cause] = [-1, '', err as Error];
  }
  throw wrap(cause, `failed to create sandbox mount directory in utility VM with exit code ${exitCode} ${goQuote(stderr)}`, {
    op,
    resource: m.destination,
    exitCode,
  });
}

/**
 * setupMounts for a container in `uvm`: per mount, in spec order, one mount counter
 * value (`C:\mounts\m<N>`, used only by disks — docs/mounts.md#counters), then its hot-add; each
 * acquired resource is registered in `resources` at once, so a later failure rolls
 * it back. Returns the disk mounts' MappedDirectories (hcsshim's
 * windowsAdditionalMounts): HostPath is the SCSI mount's guest path — the first
 * caller's when the disk was attached already (docs/mounts.md#reusing-an-attachment, V13).
 */
export async function setupMounts(uvm: UvmState, mounts: readonly ValidatedMount[], resources: Resources): Promise<MappedDirectory[]> {
  const additional: MappedDirectory[] = [];
  for (const m of mounts) {
    const uvmPath = WCOW_GLOBAL_MOUNT_PREFIX + String(uvm.mountCounter());
    const c = m.classification;
    switch (c.kind) {
      case 'scsi': {
        let scsi;
        try {
          scsi = await uvm.addScsi({
            hostPath: c.hostPath,
            uvmPath,
            readOnly: m.readOnly,
            type: c.attachmentType,
            ...(c.evdType !== undefined && { evdType: c.evdType }),
            // Extensible virtual disks are not files: no GrantVmAccess (docs/mounts.md#granting-vm-access).
            grantAccess: c.attachmentType !== 'ExtensibleVirtualDisk',
          });
        } catch (err) {
          throw wrap(err, `adding SCSI mount ${formatMount(m)}`, { op: 'mounts.scsi', resource: m.source });
        }
        resources.add(scsi);
        additional.push(mappedDirectory({ hostPath: scsi.uvmPath, containerPath: m.destination, readOnly: m.readOnly }));
        break;
      }
      case 'sandbox':
        await createSandboxDirectory(uvm, m, c.sandboxPath);
        break;
      case 'pipe':
        try {
          resources.add(await uvm.addPipe(m.source));
        } catch (err) {
          throw wrap(err, 'failed to add named pipe to UVM', { op: 'mounts.pipe', resource: m.source });
        }
        break;
      case 'uvm-pipe':
        // hcsshim main: no HCS call, nothing to release; the document maps it (config.ts).
        break;
      case 'vsmb':
        try {
          resources.add(await uvm.addVsmb(m.source, uvm.defaultVsmbOptions(m.readOnly)));
        } catch (err) {
          throw wrap(err, `failed to add VSMB share to utility VM for mount ${formatMount(m)}`, { op: 'mounts.vsmb', resource: m.source });
        }
        break;
    }
  }
  return additional;
}
