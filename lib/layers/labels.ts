// The rootfs size a container asks for, from containerd's snapshot labels: the Windows
// snapshotters read them at Prepare and expand the scratch they create to that size
// (containerd plugins/snapshots/windows/windows.go, common.go; CRI sets the bytes label
// from WindowsContainerResources.rootfs_size_in_bytes). hcsshim defines no annotation for it,
// and containerd passes no size to the shim, so a runtime hands us the labels it gave the
// snapshotter. Parsed as containerd parses them, with its texts.

import { InvalidArgumentError } from '../errors';
import { goQuote, GoNumError, parseUint } from '../hcs/gostrconv';

export const ROOTFS_SIZE_BYTES_LABEL = 'containerd.io/snapshot/windows/rootfs.sizebytes';
/** Deprecated in containerd (it logs a warning) but still read; GiB, 32-bit. */
export const ROOTFS_SIZE_GB_LABEL = 'containerd.io/snapshot/io.microsoft.container.storage.rootfs.size-gb';

/** The largest virtual size of a VHDX (MS-VHDX 2.6.2.1: 64 TB). */
const VHDX_MAX_BYTES = 64n * 1024n ** 4n;

const OP = 'labels';

function label(labels: Readonly<Record<string, string>>, key: string, bits: 32 | 64): bigint | undefined {
  const value = labels[key];
  if (value === undefined) return undefined;
  try {
    return parseUint(value, bits);
  } catch (err) {
    if (!(err instanceof GoNumError)) throw err;
    throw new InvalidArgumentError(`failed to parse label ${goQuote(key)}=${goQuote(value)}: ${err.message}`, { op: OP, resource: key, cause: err });
  }
}

/** The labels as given, checked: an object whose values are all strings. */
function checkLabels(input: unknown): Readonly<Record<string, string>> {
  const bad = (what: string): InvalidArgumentError => new InvalidArgumentError(`invalid snapshot labels: ${what}`, { op: OP, resource: 'snapshotLabels' });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad('expected an object of string labels');
  for (const [k, v] of Object.entries(input)) if (typeof v !== 'string') throw bad(`label ${goQuote(k)} must be a string`);
  return input as Readonly<Record<string, string>>;
}

/**
 * The requested rootfs (scratch) size in bytes; 0 when none is asked for (containerd then
 * leaves the scratch at its template's size). The GiB label is read first, the bytes label
 * overrides it, as in containerd's snapshotters (plugins/snapshots/windows/windows.go).
 * A size no VHDX can have is refused here, before anything is created, rather than by
 * ExpandSandboxSize after the scratch exists.
 */
export function rootfsSizeFromLabels(input: unknown): bigint {
  if (input === undefined) return 0n;
  const labels = checkLabels(input);
  const gb = label(labels, ROOTFS_SIZE_GB_LABEL, 32);
  const bytes = label(labels, ROOTFS_SIZE_BYTES_LABEL, 64);
  const size = bytes ?? (gb === undefined ? 0n : gb * 1024n ** 3n);
  if (size > VHDX_MAX_BYTES) {
    const key = bytes !== undefined ? ROOTFS_SIZE_BYTES_LABEL : ROOTFS_SIZE_GB_LABEL;
    throw new InvalidArgumentError(`label ${goQuote(key)}=${goQuote(labels[key]!)}: ${size} bytes exceeds the VHDX maximum of ${VHDX_MAX_BYTES} bytes (64 TiB)`, {
      op: OP,
      resource: key,
    });
  }
  return size;
}
