// Where mounts go, checked before the first side effect (docs/differences.md#difference-9 family):
// hcsshim sends every destination to HCS as is, which refuses a bad one only when the
// container is created — after every hot-add — and a pipe source like
// `\\.\pipe\..\..\C:\x` is opened by the host wherever the `..` lead. Here:
// - a destination is an absolute Windows path below a drive root (`C:\dir`, `D:/x`; not
//   `C:\`, `C:`, `relative`, `\dir`, UNC or `\\?\` paths), or a `\\.\pipe\<name>`;
// - no two mounts have the same destination (compared as Windows compares paths:
//   cleaned, case-insensitive);
// - pipe names (sources and destinations) are not empty and hold no `..` element;
// - no mount path holds a control character (lib/oci/paths.ts).
// Each failure is ERR_INVALID_MOUNT naming the mount's index in Spec.Mounts.

import { InvalidMountError } from '../errors';
import { PIPE_PREFIX } from '../hcs/constants';
import { clean } from '../host/winpath';
import { checkPathCharacters } from '../oci/paths';
import { formatMount } from './classify';

/** What lib/oci has made of a mount by now. */
export interface MountPaths {
  destination: string;
  source: string;
  type: string;
  options: string[];
  classification: { kind: string };
}

const DRIVE_PATH = /^[A-Za-z]:[\\/]/;

/** Why a pipe name (after `\\.\pipe\`) is unusable, or undefined. */
function pipeNameProblem(name: string): string | undefined {
  if (name === '') return 'the pipe name is empty';
  if (name.split(/[\\/]/).includes('..')) return "the pipe name holds a '..' element";
  return undefined;
}

/** The key two destinations share when HCS would see one place, or the reason there is none. */
function destinationKey(d: string): { key: string } | { problem: string } {
  if (d.startsWith(PIPE_PREFIX)) {
    const problem = pipeNameProblem(d.slice(PIPE_PREFIX.length));
    return problem === undefined ? { key: d.toLowerCase() } : { problem };
  }
  if (!DRIVE_PATH.test(d)) return { problem: 'it must be an absolute Windows path below a drive root (C:\\dir) or a named pipe (\\\\.\\pipe\\name)' };
  const cleaned = clean(d);
  if (cleaned.length <= 3) return { problem: 'it is the root of its drive' };
  return { key: cleaned.toLowerCase() };
}

/** Every mount's paths, in spec order; the first failure is thrown. */
export function checkMountPaths(mounts: readonly MountPaths[]): void {
  const seen = new Map<string, number>();
  mounts.forEach((m, i) => {
    const field = `Spec.Mounts[${i}]`;
    const details = { op: 'spec.validate', resource: m.destination };
    checkPathCharacters(m.source, `${field}.Source`, InvalidMountError, details);
    checkPathCharacters(m.destination, `${field}.Destination`, InvalidMountError, details);
    const bad = (why: string): InvalidMountError => new InvalidMountError(`invalid OCI spec - ${field} ${formatMount(m)}: ${why}`, details);
    if (m.classification.kind === 'pipe') {
      const problem = pipeNameProblem(m.source.slice(PIPE_PREFIX.length));
      if (problem !== undefined) throw bad(`source: ${problem}`);
    }
    const d = destinationKey(m.destination);
    if ('problem' in d) throw bad(`destination: ${d.problem}`);
    const first = seen.get(d.key);
    if (first !== undefined) throw bad(`destination: Spec.Mounts[${first}] has the same destination`);
    seen.set(d.key, i);
  });
}
