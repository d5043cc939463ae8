// Strict key checking of an OCI config.json at the levels allocateWindowsResources reads.
//
// hcsshim decodes config.json with Go's encoding/json, which ignores unknown keys and
// matches known ones case-insensitively; runtimes that build the spec in JavaScript hand us
// the object as is, where `Mounts` or `windows.HyperV` would simply be absent — a container
// with no mounts, or a process-isolated one, and no error (docs/differences.md#difference-9). The OCI
// runtime-spec's lowerCamel names are the contract: a key in another case, or a key that
// no version of the spec defines at a level we read, is refused with its path and the
// right spelling. Levels we only pass through (process, linux, windows.resources, …) are
// not checked: they are the runtime's business.
//
// Mount options are open in OCI (each platform reads its own), so an option Windows
// containers do not read is kept, and reported as a warning for `plan` to show.

import { InvalidSpecError } from '../errors';

const OP = 'spec.validate';

/** Something in the spec that is accepted but probably not what its author meant. */
export interface SpecWarning {
  /** Where, as config.json spells it: `mounts[1].options[0]`. */
  path: string;
  message: string;
}

/** Keys of each level we read (runtime-spec 1.0–1.3 config-schema.json, config-windows.json, defs.json). */
const TOP_KEYS = ['ociVersion', 'hooks', 'annotations', 'hostname', 'domainname', 'mounts', 'root', 'process', 'linux', 'solaris', 'windows', 'vm', 'zos', 'freebsd'];
const ROOT_KEYS = ['path', 'readonly'];
const MOUNT_KEYS = ['destination', 'type', 'source', 'options', 'uidMappings', 'gidMappings'];
const WINDOWS_KEYS = ['layerFolders', 'devices', 'resources', 'network', 'credentialSpec', 'servicing', 'ignoreFlushesDuringBoot', 'hyperv'];
const HYPERV_KEYS = ['utilityVMPath'];
const DEVICE_KEYS = ['id', 'idType'];

/** The only mount option a WCOW mount reads (isReadOnlyMount, docs/mounts.md#setupmounts-mount-by-mount step 5); `rw` is the default it states. */
const READ_OPTIONS: ReadonlySet<string> = new Set(['ro', 'rw']);
/** Ways of writing "read-only" that are not `ro`: the mount they are on is writable. */
const READONLY_LOOKALIKE = /^(read[-_ ]?only|readonly=true|ro=(1|true)|r\/o)$/i;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property only, as validateSpec reads them. */
function own(o: Json, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

/** Every own key of `o` must be one of `known`, spelled exactly. */
function checkKeys(o: Json, at: string, known: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const path = join(at, key);
    const meant = known.find((k) => k.toLowerCase() === key.toLowerCase());
    const message =
      meant !== undefined
        ? `invalid OCI spec - unknown key '${path}': config.json spells it '${join(at, meant)}' (OCI keys are case-sensitive)`
        : `invalid OCI spec - unknown key '${path}': the keys of ${at === '' ? 'a config.json' : `'${at}'`} are ${known.join(', ')}`;
    throw new InvalidSpecError(message, { op: OP, resource: path });
  }
}

function eachObject(v: unknown, at: string, fn: (o: Json, at: string) => void): void {
  if (!Array.isArray(v)) return;
  v.forEach((e: unknown, i) => {
    if (isObject(e)) fn(e, `${at}[${i}]`);
  });
}

function optionWarnings(options: unknown, at: string): SpecWarning[] {
  if (!Array.isArray(options)) return [];
  return options.flatMap((o: unknown, i): SpecWarning[] => {
    if (typeof o !== 'string' || READ_OPTIONS.has(o.toLowerCase())) return [];
    const path = `${at}[${i}]`;
    const message = READONLY_LOOKALIKE.test(o)
      ? `mount option '${o}' is not read by Windows containers, so this mount is writable: a read-only mount is written 'ro'`
      : `mount option '${o}' is kept but Windows containers do not read it (only 'ro' changes a mount)`;
    return [{ path, message }];
  });
}

/**
 * Refuses an unknown or wrong-cased key at every level validateSpec reads (ERR_INVALID_SPEC,
 * `resource` the key's path) and returns the warnings about mount options. Values of the
 * wrong type are left to validateSpec, which reports them with hcsshim's field names.
 */
export function checkSpecKeys(spec: Json): SpecWarning[] {
  checkKeys(spec, '', TOP_KEYS);
  const root = own(spec, 'root');
  if (isObject(root)) checkKeys(root, 'root', ROOT_KEYS);
  const warnings: SpecWarning[] = [];
  eachObject(own(spec, 'mounts'), 'mounts', (m, at) => {
    checkKeys(m, at, MOUNT_KEYS);
    warnings.push(...optionWarnings(own(m, 'options'), `${at}.options`));
  });
  const windows = own(spec, 'windows');
  if (isObject(windows)) {
    checkKeys(windows, 'windows', WINDOWS_KEYS);
    const hyperv = own(windows, 'hyperv');
    if (isObject(hyperv)) checkKeys(hyperv, 'windows.hyperv', HYPERV_KEYS);
    eachObject(own(windows, 'devices'), 'windows.devices', (d, at) => checkKeys(d, at, DEVICE_KEYS));
  }
  return warnings;
}
