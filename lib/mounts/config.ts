// The container document's side of the mounts: hcsshim createMountsConfig
// (hcsdoc_wcow.go:45-94; docs/mounts.md#mounts-in-the-container-document).

import { wrap } from '../errors';
import { mappedDirectory, mappedPipe } from '../hcs/documents';
import type { MappedDirectory, MappedPipe } from '../hcs/schema';
import type { Host } from '../host/types';
import type { ValidatedMount } from '../oci/validate';
import type { UvmState } from '../uvm';
import { containerPipeMapping, isPipe, uvmPipeHostPath } from './classify';
import { goQuote } from '../hcs/gostrconv';

export interface MountsConfig {
  MappedDirectories: MappedDirectory[];
  MappedPipes: MappedPipe[];
}

/** Where the container sees a non-pipe, non-disk mount's files. */
async function hostPathOf(host: Host, uvm: UvmState | undefined, m: ValidatedMount): Promise<string | undefined> {
  if (uvm === undefined) {
    // Process isolation: HCS maps the final host path — of every non-pipe mount, disks
    // and sandbox:// sources included, which therefore fail here (docs/mounts.md#mounts-in-the-container-document step 3, V5/V8).
    try {
      return await host.resolvePath(m.source);
    } catch (err) {
      throw wrap(err, `failed to resolve path for mount source ${goQuote(m.source)}`, { op: 'mounts.resolve', resource: m.source });
    }
  }
  switch (m.classification.kind) {
    case 'scsi':
      return undefined; // already in the disk list, appended last
    case 'sandbox':
      return m.classification.sandboxPath;
    default:
      // The share must still exist; the error is returned raw (docs/mounts.md#mounts-in-the-container-document step 6).
      return uvm.vsmbUvmPath(m.source, m.readOnly);
  }
}

/**
 * MappedDirectories and MappedPipes, spec order: a `\\.\pipe\` source is a pipe
 * whatever its type (checked first, docs/mounts.md#mounts-in-the-container-document step 1); the disk mounts hot-added by
 * setupMounts (`disks`) come after every other directory (docs/mounts.md#mounts-in-the-container-document).
 */
export async function createMountsConfig(
  host: Host,
  uvm: UvmState | undefined,
  mounts: readonly ValidatedMount[],
  disks: readonly MappedDirectory[],
): Promise<MountsConfig> {
  const directories: MappedDirectory[] = [];
  const pipes: MappedPipe[] = [];
  for (const m of mounts) {
    if (isPipe(m.source)) {
      pipes.push(mappedPipe(containerPipeMapping(m, uvm !== undefined)));
      continue;
    }
    if (uvm !== undefined && m.classification.kind === 'uvm-pipe') {
      // hcsshim main: a pod pipe is served inside the UVM, at a host-side name (pipes.go:100-110).
      const { containerPipeName } = containerPipeMapping(m, true);
      pipes.push(mappedPipe({ containerPipeName, hostPath: uvmPipeHostPath(uvm.id, m.classification.name) }));
      continue;
    }
    const hostPath = await hostPathOf(host, uvm, m);
    if (hostPath !== undefined) directories.push(mappedDirectory({ hostPath, containerPath: m.destination, readOnly: m.readOnly }));
  }
  return { MappedDirectories: [...directories, ...disks], MappedPipes: pipes };
}
