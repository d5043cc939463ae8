// validateSpec: every check hcsshim v0.11.4 makes on a WCOW spec anywhere in
// CreateContainer / allocateWindowsResources / the document builder, made up
// front, before the first side effect (docs/differences.md#difference-1: hcsshim interleaves
// validation with hot-adds and rolls back). The input is whatever JSON a runtime
// handed us, so wrong JS types are coded errors too, never a TypeError.
//
// Order of checks: layer folders and root, annotations (gMSA, CRI sandbox), then
// mounts in spec order (source/destination, type, EVD syntax, sandbox path), then
// devices. The first failure is thrown.

import {
  InvalidMountError,
  InvalidSpecError,
  OperationDeniedError,
  UnsupportedMountTypeError,
  wrap,
  type WcowErrorDetails,
} from '../errors';
import {
  ANNOTATION_CONTAINER_TYPE,
  ANNOTATION_GMSA_DISABLE,
  ANNOTATION_KERNEL_DRIVERS,
  ANNOTATION_SANDBOX_ID,
  CONTAINER_TYPE_CONTAINER,
  CONTAINER_TYPE_SANDBOX,
  DEVICE_ID_TYPE_GPU,
  DEVICE_ID_TYPE_INSTANCE_ID,
  DEVICE_ID_TYPE_VPCI,
  MOUNT_TYPE_EXTENSIBLE_VIRTUAL_DISK,
  MOUNT_TYPE_PHYSICAL_DISK,
  MOUNT_TYPE_VIRTUAL_DISK,
} from '../hcs/constants';
import { assignedDevice } from '../hcs/documents';
import { base, dir, volumeName } from '../host/winpath';
import { checkSandboxPath, classifyMount, formatMount, isReadOnlyMount, type MountClass } from '../mounts/classify';
import { checkMountPaths } from '../mounts/destinations';
import { checkPathCharacters } from './paths';
import { checkSpecKeys, type SpecWarning } from './strict';
import type { OciMount, OciSpec, OciWindowsDevice } from './types';
import { normalizeSpec } from './normalize';

const OP = 'spec.validate';

export interface ValidateContext {
  /** A utility VM hosts the container (hcsshim: `coi.HostingSystem != nil`). */
  hypervisorIsolated: boolean;
  /**
   * The schema version the container will actually use (hcsshim's
   * actualSchemaVersion). Hypervisor-isolated containers always use 2.1.
   */
  schemaVersion?: { major: number; minor: number };
  /** Overrides the `io.kubernetes.cri.container-type == sandbox` test. */
  isSandbox?: boolean;
  /**
   * The layer folders (parents, then the scratch) of a typed rootfs (lib/layers/rootfs.ts),
   * checked instead of Spec.Windows.LayerFolders, which the rootfs parser has read already.
   */
  layerFolders?: readonly string[];
}

export interface ValidatedMount {
  destination: string;
  /** '' when the spec had none. */
  type: string;
  source: string;
  /** [] when the spec had none. */
  options: string[];
  readOnly: boolean;
  classification: MountClass;
}

export interface ValidatedDevice {
  id: string;
  idType: string;
  /**
   * Hypervisor-isolated only (getDeviceInfoFromPath, docs/layers.md#devices-in-a-utility-vm step 3): the PCI
   * instance id and virtual function the id denotes.
   */
  pciId?: string;
  virtualFunction?: number;
}

export interface ValidatedSpec {
  /** The input, now known to have the types declared in OciSpec. */
  spec: OciSpec;
  hypervisorIsolated: boolean;
  /** Layer folders with trailing separators removed (docs/layers.md#q3-trailing-separators). */
  layerFolders: string[];
  scratchFolder: string;
  /** Read-only layers, topmost first. */
  parentLayers: string[];
  /** Spec.Root.Path, '' when absent. */
  rootPath: string;
  /** hcsshim mounts the layers iff Root.Path is empty and (UVM or no HyperV) (docs/behaviour.md#when-layers-are-mounted). */
  mountLayers: boolean;
  mounts: ValidatedMount[];
  /** Present only when Spec.Windows.CredentialSpec is a string (docs/behaviour.md#allocation-order step 8). */
  credentialSpec?: string;
  devices: ValidatedDevice[];
  /** Kernel driver directories (hypervisor-isolated only; Argon ignores the annotation). */
  driverDirectories: string[];
  isSandbox: boolean;
  /** io.kubernetes.cri.container-type, when set. */
  containerType?: 'sandbox' | 'container';
  sandboxId?: string;
  /** Accepted but probably unintended (mount options Windows does not read); `plan` shows them. */
  warnings: SpecWarning[];
}

// ---------------------------------------------------------------------------
// JSON type checks

type Json = Record<string, unknown>;

function jsType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property only: a key like `toString` must not find Object.prototype. */
function own(o: Json, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function typeError(field: string, expected: string, got: unknown, details: WcowErrorDetails = {}): InvalidSpecError {
  return new InvalidSpecError(`invalid OCI spec - '${field}' must be ${expected}, got ${jsType(got)}`, {
    op: OP,
    resource: field,
    ...details,
  });
}

function optionalString(o: Json, key: string, field: string): string | undefined {
  const v = own(o, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw typeError(field, 'a string', v);
  return v;
}

function stringArray(v: unknown, field: string, make = typeError): string[] {
  if (!Array.isArray(v)) throw make(field, 'an array of strings', v);
  v.forEach((e, i) => {
    if (typeof e !== 'string') throw make(`${field}[${i}]`, 'a string', e);
  });
  return v as string[];
}

// ---------------------------------------------------------------------------

/** Everything hcsshim would reject, and what docs/differences.md says we reject besides, before any side effect. */
export function validateSpec(raw: unknown, ctx: ValidateContext): ValidatedSpec {
  const input = normalizeSpec(raw);
  const hypervisorIsolated = ctx.hypervisorIsolated;
  if (input !== undefined && input !== null && !isObject(input)) throw typeError('Spec', 'an object', input);
  const spec: Json = isObject(input) ? input : {};
  const warnings = checkSpecKeys(spec);
  const rawWindows = own(spec, 'windows');
  if (rawWindows !== undefined && rawWindows !== null && !isObject(rawWindows)) throw typeError('Spec.Windows', 'an object', rawWindows);
  const windows = isObject(rawWindows) ? rawWindows : undefined;

  checkSchemaVersion(ctx);
  const layerFolders = ctx.layerFolders === undefined ? checkLayerFolders(windows ?? undefined) : checkFolderList([...ctx.layerFolders]);
  const { rootPath, mountLayers } = checkRoot(spec, windows ?? {}, ctx);
  if (layerFolders.length === 1) throw tooFewLayers(mountLayers && !hypervisorIsolated);

  const annotations = checkAnnotations(own(spec, 'annotations'));
  const cs = own(windows ?? {}, 'credentialSpec');
  const credentialSpec = typeof cs === 'string' ? cs : undefined;
  checkGmsa(annotations, credentialSpec);
  const { containerType, sandboxId } = checkSandboxAnnotations(annotations);

  const mounts = checkMounts(own(spec, 'mounts'));
  checkMountPaths(mounts);
  const devices = checkDevices(own(windows ?? {}, 'devices'), hypervisorIsolated);

  const drivers = annotations[ANNOTATION_KERNEL_DRIVERS];
  const result: ValidatedSpec = {
    spec: spec as OciSpec,
    hypervisorIsolated,
    layerFolders,
    scratchFolder: layerFolders[layerFolders.length - 1]!,
    parentLayers: layerFolders.slice(0, -1),
    rootPath,
    mountLayers,
    mounts,
    devices,
    // strings.Split(v, ","), no trimming; empty or absent means none (docs/layers.md#the-driver-annotation).
    driverDirectories: hypervisorIsolated && drivers ? drivers.split(',') : [],
    isSandbox: ctx.isSandbox ?? containerType === CONTAINER_TYPE_SANDBOX,
    warnings,
  };
  if (credentialSpec !== undefined) result.credentialSpec = credentialSpec;
  if (containerType !== undefined) result.containerType = containerType;
  if (sandboxId !== undefined) result.sandboxId = sandboxId;
  return result;
}

/**
 * Only 1.0 and 2.1 give a working WCOW document: hcsshim treats 2.5 for a
 * process-isolated container as neither v1 nor v2 and builds a document without
 * storage (docs/layers.md#q4-schema-25). A hypervisor-isolated container always uses 2.1.
 */
function checkSchemaVersion(ctx: ValidateContext): void {
  const v = ctx.schemaVersion;
  if (v === undefined || ctx.hypervisorIsolated) return;
  if ((v.major === 1 && v.minor === 0) || (v.major === 2 && v.minor === 1)) return;
  throw new InvalidSpecError(
    `unsupported schema version ${v.major}.${v.minor} for a process-isolated Windows container: only 1.0 and 2.1 produce a valid container document`,
    { op: OP, resource: 'SchemaVersion' },
  );
}

function checkLayerFolders(windows: Json | undefined): string[] {
  const field = 'Spec.Windows.LayerFolders';
  const raw = windows === undefined ? undefined : own(windows, 'layerFolders');
  if (raw === undefined || raw === null) {
    // resources_wcow.go:34-36, lower-case "f" included.
    throw new InvalidSpecError("field 'Spec.Windows.Layerfolders' is not populated", { op: OP, resource: field });
  }
  return checkFolderList(stringArray(raw, field));
}

function checkFolderList(folders: string[]): string[] {
  const field = 'Spec.Windows.LayerFolders';
  if (folders.length === 0) {
    // hcsshim indexes LayerFolders[len-1] and panics (docs/layers.md#q1-empty-layer-folders; docs/differences.md#difference-7).
    throw new InvalidSpecError(
      `invalid OCI spec - '${field}' is empty: it must list the image layers and, last, the scratch folder`,
      { op: OP, resource: field },
    );
  }
  return folders.map((f, i) => {
    if (f === '') throw new InvalidSpecError(`invalid OCI spec - '${field}[${i}]' is an empty path`, { op: OP, resource: field });
    checkPathCharacters(f, `${field}[${i}]`, InvalidSpecError, { op: OP, resource: field });
    return trimTrailingSeparators(f);
  });
}

/**
 * A trailing separator gives Go's filepath an empty last element, hence a
 * degenerate NameToGuid layer id (docs/layers.md#q3-trailing-separators). A bare volume root keeps its separator.
 */
function trimTrailingSeparators(p: string): string {
  const keep = volumeName(p).length + 1;
  let end = p.length;
  while (end > keep && (p[end - 1] === '\\' || p[end - 1] === '/')) end--;
  return p.slice(0, end);
}

/**
 * One folder (scratch only): hcsshim creates the scratch, then fails — the
 * process-isolated mount with `need at least two layers - base and scratch`, every
 * other case in the document builder (docs/layers.md#q2-one-layer-folder). We fail with the same text
 * before creating anything (docs/differences.md#difference-1).
 */
function tooFewLayers(argonMount: boolean): InvalidSpecError {
  const message = argonMount
    ? 'failed to mount container storage: need at least two layers - base and scratch'
    : 'invalid spec - not enough layer folders supplied';
  return new InvalidSpecError(message, { op: OP, resource: 'Spec.Windows.LayerFolders' });
}

/** Volume GUID path check of the v2 process-isolated document (hcsdoc_wcow.go; docs/behaviour.md#the-container-document). */
const VOLUME_GUID_PATH =
  /^\\\\\?\\(Volume)\{{0,1}[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(\}){0,1}\}(|\\)$/;

function checkRoot(spec: Json, windows: Json, ctx: ValidateContext): { rootPath: string; mountLayers: boolean } {
  const root = own(spec, 'root');
  let rootPath = '';
  if (root !== undefined && root !== null) {
    if (!isObject(root)) throw typeError('Spec.Root', 'an object', root);
    rootPath = optionalString(root, 'path', 'Spec.Root.Path') ?? '';
    const ro = own(root, 'readonly');
    if (ro !== undefined && ro !== null && typeof ro !== 'boolean') throw typeError('Spec.Root.Readonly', 'a boolean', ro);
    if (ro === true) {
      throw new InvalidSpecError('invalid container spec - readonly is not supported for Windows containers', {
        op: OP,
        resource: 'Spec.Root.Readonly',
      });
    }
  }
  const hyperv = own(windows, 'hyperv');
  if (hyperv !== undefined && hyperv !== null && !isObject(hyperv)) throw typeError('Spec.Windows.HyperV', 'an object', hyperv);
  const hasHyperV = hyperv !== undefined && hyperv !== null;
  if (rootPath === '' && hasHyperV && !ctx.hypervisorIsolated) {
    // "v1 Xenon": hcsshim mounts nothing and builds a document without storage (docs/layers.md#q7-hyperv-without-a-uvm).
    throw new InvalidSpecError(
      "invalid OCI spec - 'Spec.Windows.HyperV' is set but no utility VM hosts the container: its layers would never be mounted",
      { op: OP, resource: 'Spec.Windows.HyperV' },
    );
  }
  const v = ctx.schemaVersion;
  const v2Argon = !ctx.hypervisorIsolated && !(v !== undefined && v.major === 1);
  if (rootPath !== '' && v2Argon && !VOLUME_GUID_PATH.test(rootPath)) {
    throw new InvalidSpecError(
      `invalid container spec - Root.Path '${rootPath}' must be a volume GUID path in the format '\\\\?\\Volume{GUID}\\'`,
      { op: OP, resource: 'Spec.Root.Path' },
    );
  }
  return { rootPath, mountLayers: rootPath === '' && (ctx.hypervisorIsolated || !hasHyperV) };
}

function checkAnnotations(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw typeError('Spec.Annotations', 'an object of strings', raw);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw typeError(`Spec.Annotations["${k}"]`, 'a string', v, { resource: k });
    out[k] = v;
  }
  return out;
}

/**
 * validateContainerConfig (create.go:73-83; docs/layers.md#credential-guard): the annotation parses as
 * case-insensitive true/false, anything else counts as false (hcsshim logs it).
 */
function checkGmsa(annotations: Record<string, string>, credentialSpec: string | undefined): void {
  if (credentialSpec === undefined || annotations[ANNOTATION_GMSA_DISABLE]?.toLowerCase() !== 'true') return;
  throw new OperationDeniedError('container config validation failed: gMSA credentials are disabled: operation denied', {
    op: OP,
    resource: ANNOTATION_GMSA_DISABLE,
  });
}

/** oci.GetSandboxTypeAndID (sandbox.go:28-54; docs/behaviour.md#createcontainer-around-it): both annotations or neither. */
function checkSandboxAnnotations(annotations: Record<string, string>): {
  containerType?: 'sandbox' | 'container';
  sandboxId?: string;
} {
  const t = annotations[ANNOTATION_CONTAINER_TYPE];
  if (t !== undefined && t !== CONTAINER_TYPE_SANDBOX && t !== CONTAINER_TYPE_CONTAINER) {
    throw new InvalidSpecError(`invalid '${ANNOTATION_CONTAINER_TYPE}': '${t}'`, { op: OP, resource: ANNOTATION_CONTAINER_TYPE });
  }
  const id = annotations[ANNOTATION_SANDBOX_ID] ?? '';
  if (t !== undefined && id === '') {
    throw new InvalidSpecError(`cannot specify '${ANNOTATION_CONTAINER_TYPE}' without '${ANNOTATION_SANDBOX_ID}'`, {
      op: OP,
      resource: ANNOTATION_CONTAINER_TYPE,
    });
  }
  if (t === undefined && id !== '') {
    throw new InvalidSpecError(`cannot specify '${ANNOTATION_SANDBOX_ID}' without '${ANNOTATION_CONTAINER_TYPE}'`, {
      op: OP,
      resource: ANNOTATION_SANDBOX_ID,
    });
  }
  return t === undefined ? {} : { containerType: t, sandboxId: id };
}

// ---------------------------------------------------------------------------
// Mounts (docs/mounts.md#setupmounts-mount-by-mount)

const WCOW_MOUNT_TYPES: ReadonlySet<string> = new Set([
  '',
  MOUNT_TYPE_PHYSICAL_DISK,
  MOUNT_TYPE_VIRTUAL_DISK,
  MOUNT_TYPE_EXTENSIBLE_VIRTUAL_DISK,
]);

function mountTypeError(field: string, expected: string, got: unknown): InvalidMountError {
  return new InvalidMountError(`invalid OCI spec - '${field}' must be ${expected}, got ${jsType(got)}`, { op: OP, resource: field });
}

function checkMounts(raw: unknown): ValidatedMount[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw mountTypeError('Spec.Mounts', 'an array', raw);
  return raw.map((m: unknown, i) => checkMount(m, `Spec.Mounts[${i}]`));
}

function checkMount(raw: unknown, field: string): ValidatedMount {
  if (!isObject(raw)) throw mountTypeError(field, 'an object', raw);
  const str = (key: string, name: string): string => {
    const v = own(raw, key);
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw mountTypeError(`${field}.${name}`, 'a string', v);
    return v;
  };
  const destination = str('destination', 'Destination');
  const source = str('source', 'Source');
  const type = str('type', 'Type');
  const rawOptions = own(raw, 'options');
  const options = rawOptions === undefined || rawOptions === null ? [] : stringArray(rawOptions, `${field}.Options`, mountTypeError);
  const m: OciMount = { destination, type, source, options };
  const details = { op: OP, resource: destination };

  if (destination === '' || source === '') {
    throw new InvalidMountError(`invalid OCI spec - a mount must have both source and a destination: ${formatMount(m)}`, details);
  }
  // Checked for process-isolated containers too; `bind` and other cases are rejected (docs/mounts.md#setupmounts-mount-by-mount step 2).
  if (!WCOW_MOUNT_TYPES.has(type)) {
    throw new UnsupportedMountTypeError(`invalid OCI spec - Type '${type}' not supported`, details);
  }
  let classification: MountClass;
  try {
    classification = classifyMount(m);
  } catch (err) {
    // hcsshim reports a bad EVD source from AddSCSIExtensibleVirtualDisk, wrapped by
    // setupMounts (docs/mounts.md#extensible-virtual-disk-paths, vector V11). We report it in both isolation modes: a
    // process-isolated container would fail on that source at document time anyway.
    throw wrap(err, `adding SCSI mount ${formatMount(m)}`, details);
  }
  if (classification.kind === 'sandbox') checkSandboxPath(m, classification.sandboxPath, details);
  return { destination, type, source, options, readOnly: isReadOnlyMount(options), classification };
}

// ---------------------------------------------------------------------------
// Devices (docs/layers.md#assigned-devices)

function checkDevices(raw: unknown, hypervisorIsolated: boolean): ValidatedDevice[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw typeError('Spec.Windows.Devices', 'an array', raw);
  return raw.map((d: unknown, i) => {
    const field = `Spec.Windows.Devices[${i}]`;
    if (!isObject(d)) throw typeError(field, 'an object', d);
    const device: OciWindowsDevice = {
      id: optionalString(d, 'id', `${field}.ID`) ?? '',
      idType: optionalString(d, 'idType', `${field}.IDType`) ?? '',
    };
    return hypervisorIsolated ? checkUvmDevice(device) : checkHostDevice(device);
  });
}

/**
 * Process-isolated: the container document maps location paths and class GUIDs
 * only (docs/layers.md#devices-in-the-container-document); building the entry now raises the document builder's error early.
 */
function checkHostDevice(d: OciWindowsDevice): ValidatedDevice {
  assignedDevice(d.idType, d.id);
  return { id: d.id, idType: d.idType };
}

/**
 * Hypervisor-isolated: only instance ids can be assigned to a UVM (devices.AddDevice,
 * docs/layers.md#devices-in-a-utility-vm step 4; hcsshim names the PCI id in the message). Checked before the
 * device-util share is added, which hcsshim would leak (docs/differences.md#difference-4).
 */
function checkUvmDevice(d: OciWindowsDevice): ValidatedDevice {
  const { pciId, virtualFunction } = deviceInfoFromPath(d.id);
  // `gpu` is hcsshim main's additive id type, assigned exactly like `vpci`
  // (internal/uvm/virtual_device.go:21-28,65-69); v0.11.4 refused it with this message.
  if (d.idType !== DEVICE_ID_TYPE_INSTANCE_ID && d.idType !== DEVICE_ID_TYPE_VPCI && d.idType !== DEVICE_ID_TYPE_GPU) {
    throw new InvalidSpecError(`device type ${d.idType} for device ${pciId} is not supported in windows`, {
      op: OP,
      resource: d.id,
    });
  }
  return { id: d.id, idType: d.idType, pciId, virtualFunction };
}

/**
 * getDeviceInfoFromPath (devices.go:261-270): a last path element that parses as
 * a base-10 uint16 is the virtual function and the rest (filepath.Dir) the PCI id;
 * otherwise the whole id with function 0. Trap kept: `ROOT\SYSTEM\0001` reads as VF 1.
 */
export function deviceInfoFromPath(id: string): { pciId: string; virtualFunction: number } {
  const last = base(id);
  if (/^[0-9]+$/.test(last)) {
    const n = Number(last);
    if (n <= 0xffff) return { pciId: dir(id), virtualFunction: n };
  }
  return { pciId: id, virtualFunction: 0 };
}
