// Classification of OCI mounts for WCOW, as hcsshim v0.11.4 setupMounts does it
// (docs/mounts.md#setupmounts-mount-by-mount), plus the pure path computations that go with each class.
// Nothing here touches a host; lib/oci validates with these functions and the
// mount setup code acts on their results.

import { InvalidMountError, type WcowErrorDetails } from '../errors';
import {
  EVD_PREFIX,
  MOUNT_TYPE_EXTENSIBLE_VIRTUAL_DISK,
  MOUNT_TYPE_PHYSICAL_DISK,
  MOUNT_TYPE_VIRTUAL_DISK,
  PIPE_PREFIX,
  SANDBOX_MOUNT_PREFIX,
  UVM_MOUNT_PREFIX,
  VSMB_IPC_PREFIX,
  WCOW_SANDBOX_MOUNT_PATH,
} from '../hcs/constants';
import type { AttachmentType } from '../hcs/schema';
import { join } from '../host/winpath';
import type { OciMount } from '../oci/types';

export type MountClass =
  | { kind: 'scsi'; attachmentType: AttachmentType; hostPath: string; evdType?: string }
  | { kind: 'sandbox'; sandboxPath: string }
  | { kind: 'pipe' }
  | { kind: 'uvm-pipe'; name: string }
  | { kind: 'vsmb' };

/**
 * setupMounts' classification, first match wins (docs/mounts.md#setupmounts-mount-by-mount step 6): a disk type
 * goes to SCSI whatever the source looks like; then `sandbox://`, then `\\.\pipe\`
 * (both case-sensitive); everything else is a VSMB share. The type must already be
 * one WCOW accepts (lib/oci checks it); an EVD source that does not parse throws.
 */
export function classifyMount(m: Pick<OciMount, 'type' | 'source'> & { destination?: string }): MountClass {
  switch (m.type) {
    case MOUNT_TYPE_PHYSICAL_DISK:
      return { kind: 'scsi', attachmentType: 'PassThru', hostPath: m.source };
    case MOUNT_TYPE_VIRTUAL_DISK:
      return { kind: 'scsi', attachmentType: 'VirtualDisk', hostPath: m.source };
    case MOUNT_TYPE_EXTENSIBLE_VIRTUAL_DISK: {
      // The attachment is keyed and sent by the parsed path, not the evd:// string (docs/mounts.md#entry-points).
      const { evdType, mountPath } = parseExtensibleVirtualDiskPath(m.source);
      return { kind: 'scsi', attachmentType: 'ExtensibleVirtualDisk', hostPath: mountPath, evdType };
    }
  }
  if (m.source.startsWith(SANDBOX_MOUNT_PREFIX)) return { kind: 'sandbox', sandboxPath: sandboxMountPath(m.source) };
  if (isPipe(m.source)) return { kind: 'pipe' };
  const uvmPipe = uvmPipeName(m);
  if (uvmPipe !== undefined) return { kind: 'uvm-pipe', name: uvmPipe };
  return { kind: 'vsmb' };
}

/**
 * hcsshim main's pod pipe (ParseNamedPipe, internal/uvm/pipes.go:65-118): source
 * `uvm://\\.\pipe\<name>` and a pipe destination name a pipe the pod's utility VM serves.
 * Additive: v0.11.4 failed every such mount (a VSMB share of a path that is no file). Only
 * hypervisor isolation maps it; process isolation resolves it as v0.11.4 does (and fails).
 */
function uvmPipeName(m: { source: string; destination?: string }): string | undefined {
  const prefix = UVM_MOUNT_PREFIX + PIPE_PREFIX;
  if (!m.source.startsWith(prefix) || !(m.destination ?? '').startsWith(PIPE_PREFIX)) return undefined;
  return m.source.slice(prefix.length);
}

/** The host pipe of a pod pipe: `\\.\pipe\<pod id>\<name>`, the UVM id without one trailing `@vm` (pipes.go:100-110). */
export function uvmPipeHostPath(uvmId: string, name: string): string {
  const podId = uvmId.endsWith('@vm') ? uvmId.slice(0, -'@vm'.length) : uvmId;
  return `${PIPE_PREFIX}${podId}\\${name}`;
}

/** uvm.IsPipe: `\\.\pipe\` prefix, trailing backslash required, case-sensitive (docs/mounts.md#named-pipes). */
export function isPipe(source: string): boolean {
  return source.startsWith(PIPE_PREFIX);
}

/** Read-only iff some option is exactly `ro` in any case (docs/mounts.md#setupmounts-mount-by-mount step 5). */
export function isReadOnlyMount(options: readonly string[] | undefined): boolean {
  return (options ?? []).some((o) => o.toLowerCase() === 'ro');
}

/**
 * convertToWCOWSandboxMountPath: `filepath.Join("C:\SandboxMounts", TrimPrefix(src, "sandbox://"))`
 * (docs/mounts.md#sandbox-paths). Like hcsshim this can climb out of the root with `..`;
 * lib/oci rejects such sources before anything runs (checkSandboxPath).
 */
export function sandboxMountPath(source: string): string {
  const rest = source.startsWith(SANDBOX_MOUNT_PREFIX) ? source.slice(SANDBOX_MOUNT_PREFIX.length) : source;
  return join(WCOW_SANDBOX_MOUNT_PATH, rest);
}

/**
 * ParseExtensibleVirtualDiskPath (scsi.go:544-551; docs/mounts.md#extensible-virtual-disk-paths): optional
 * `evd://` prefix, type up to the first `/` (which must not be first), mount path
 * after it (may be empty). `\` is not a separator here.
 */
export function parseExtensibleVirtualDiskPath(source: string): { evdType: string; mountPath: string } {
  const trimmed = source.startsWith(EVD_PREFIX) ? source.slice(EVD_PREFIX.length) : source;
  const i = trimmed.indexOf('/');
  if (i <= 0) throw new InvalidMountError(`invalid extensible vhd path: ${source}`, { op: 'mounts.parseEvd', resource: source });
  return { evdType: trimmed.slice(0, i), mountPath: trimmed.slice(i + 1) };
}

/**
 * Go `%+v` of specs.Mount, as hcsshim puts it in its errors:
 * `{Destination:<d> Type:<t> Source:<s> Options:[<o1> <o2>]}` (docs/mounts.md#setupmounts-mount-by-mount step 1).
 */
export function formatMount(m: Pick<OciMount, 'destination' | 'type' | 'source' | 'options'>): string {
  return `{Destination:${m.destination} Type:${m.type ?? ''} Source:${m.source} Options:[${(m.options ?? []).join(' ')}]}`;
}

/**
 * GetContainerPipeMapping (pipes.go:64-72; docs/mounts.md#named-pipes): hypervisor-isolated
 * containers reach the host pipe through the VSMB IPC$ share; the container-side
 * name is the destination without `\\.\pipe\` (used verbatim when it lacks it).
 */
export function containerPipeMapping(
  mount: Pick<OciMount, 'destination' | 'source'>,
  hypervisorIsolated: boolean,
): { containerPipeName: string; hostPath: string } {
  const trim = (p: string): string => (p.startsWith(PIPE_PREFIX) ? p.slice(PIPE_PREFIX.length) : p);
  return {
    containerPipeName: trim(mount.destination),
    hostPath: hypervisorIsolated ? VSMB_IPC_PREFIX + trim(mount.source) : mount.source,
  };
}

/** cmd.exe metacharacters, and control characters (a line break ends the command). */
const CMD_METACHARACTERS = /[&|<>^%"!()\x00-\x1f]/;
/**
 * What a sandbox path may hold: ASCII letters and digits, `-_.`, path separators, and
 * blanks (EscapeArg quotes a path with a blank, and inside quotes cmd.exe splits nothing).
 * ASCII only: Windows' best-fit code-page mapping turns some other letters into `"`.
 */
const SANDBOX_PATH_CHARACTER = /^[A-Za-z0-9\-_. /\\]$/;

/**
 * hcsshim runs `cmd /c mkdir P & dir P` in the UVM as SYSTEM with the joined path,
 * escaped only for CommandLineToArgvW (docs/mounts.md#sandbox-mounts, vector V12): `..` reaches any
 * directory of the UVM, metacharacters inject commands, and the built-ins split their
 * arguments at `;` `,` `=` too, so `x;C:\Windows\evil` creates a second directory
 * anywhere. We refuse the climb (docs/differences.md#difference-6) and every character outside an
 * allow-list (docs/differences.md#difference-10).
 */
export function checkSandboxPath(m: OciMount, sandboxPath: string, details: WcowErrorDetails): void {
  const inside = sandboxPath === WCOW_SANDBOX_MOUNT_PATH || sandboxPath.startsWith(WCOW_SANDBOX_MOUNT_PATH + '\\');
  if (!inside) {
    throw new InvalidMountError(
      `invalid OCI spec - sandbox mount ${formatMount(m)} resolves to ${sandboxPath}, outside ${WCOW_SANDBOX_MOUNT_PATH}: sandbox mounts may not leave their root in the utility VM`,
      details,
    );
  }
  const rest = m.source.slice(SANDBOX_MOUNT_PREFIX.length);
  const meta = CMD_METACHARACTERS.exec(rest);
  if (meta) {
    throw new InvalidMountError(
      `invalid OCI spec - sandbox mount ${formatMount(m)} contains ${JSON.stringify(meta[0])}: the path is passed to cmd.exe in the utility VM, where that character is a command metacharacter`,
      details,
    );
  }
  const other = [...rest].find((c) => !SANDBOX_PATH_CHARACTER.test(c));
  if (other !== undefined) {
    throw new InvalidMountError(
      `invalid OCI spec - sandbox mount ${formatMount(m)} contains ${JSON.stringify(other)}: the path is passed to cmd.exe in the utility VM, which splits or rewrites it there; a sandbox path may hold only ASCII letters, digits, blanks, '-', '_', '.' and path separators`,
      details,
    );
  }
}
