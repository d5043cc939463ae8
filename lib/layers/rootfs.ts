// The container's layers as one typed value, from either input a runtime has:
// - containerd 2.x's rootfs mount list (`[{ type, source, options }]`), parsed as hcsshim
//   main's layers.ParseWCOWLayers parses it (internal/layers/wcow_parse.go:85-218,
//   helpers.go:24-103; docs/rootfs.md), with its error texts;
// - v0.11.4's Spec.Windows.LayerFolders (parents top-most first, scratch last), which maps
//   to the same value as a `windows-layer` mount (wcow_parse.go:189-196).
// The engine mounts from this value only.

import { InvalidArgumentError, InvalidSpecError, UnsupportedMountTypeError } from '../errors';
import { base, dir } from '../host/winpath';
import { GoJsonError, unmarshalStringArray } from './gojson';

/** One containerd mount (`mount.Mount`: Type, Source, Target, Options) as the snapshotter made it. */
export interface RootfsMount {
  type: string;
  source: string;
  target?: string;
  options?: string[];
}

/** WCIFS layers (`windows-layer`, LayerFolders): vmcompute ActivateLayer + PrepareLayer. */
export interface WcifsLayers {
  kind: 'wcifs';
  scratch: string;
  /** Read-only layer folders, top-most first. */
  parents: string[];
}

/** A forked CIM layer: its folder and the `.cim` file that holds it and all its parents. */
export interface ForkedCimLayer {
  path: string;
  cimPath: string;
}

/** `CimFS` (containerd's cimfs snapshotter, ≥ 2.1). */
export interface ForkedCimLayers {
  kind: 'forked-cim';
  scratch: string;
  /** Top-most first; only the first is mounted (its CIM was forked from the others). */
  layers: ForkedCimLayer[];
}

export interface BlockCim {
  /** 1 = single file (`file`), 2 = block device (`device`). */
  type: 1 | 2;
  blockPath: string;
  cimName: string;
}

/** `BlockCIM` (containerd's blockcim snapshotter): parsed, then refused by the engine. */
export interface BlockCimLayers {
  kind: 'block-cim';
  scratch: string;
  parents: BlockCim[];
  merged?: BlockCim;
}

export type WcowLayers = WcifsLayers | ForkedCimLayers | BlockCimLayers;

const OP = 'rootfs';
const PRECONDITION = 'failed precondition';

/** errdefs.ErrFailedPrecondition-wrapped validation errors (helpers.go:24-49). */
function precondition(what: string): InvalidSpecError {
  return new InvalidSpecError(`${what}: ${PRECONDITION}`, { op: OP, resource: 'rootfs' });
}

function invalidMount(message: string): InvalidSpecError {
  return new InvalidSpecError(message, { op: OP, resource: 'rootfs' });
}

/** The caller's mount list, checked: nothing typed `any` crosses into the parser. */
export function checkRootfs(input: unknown): RootfsMount[] {
  const bad = (what: string): InvalidArgumentError => new InvalidArgumentError(`invalid rootfs mounts: ${what}`, { op: OP, resource: 'rootfs' });
  if (!Array.isArray(input)) throw bad('expected an array of { type, source, options } mounts');
  return input.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad(`mount ${i} is not an object`);
    const o = m as Record<string, unknown>;
    if (typeof o.type !== 'string') throw bad(`mount ${i}: 'type' must be a string`);
    if (typeof o.source !== 'string') throw bad(`mount ${i}: 'source' must be a string`);
    if (o.target !== undefined && typeof o.target !== 'string') throw bad(`mount ${i}: 'target' must be a string`);
    const options = o.options ?? [];
    if (!Array.isArray(options) || !options.every((x) => typeof x === 'string')) throw bad(`mount ${i}: 'options' must be an array of strings`);
    const out: RootfsMount = { type: o.type, source: o.source, options: [...(options as string[])] };
    if (typeof o.target === 'string') out.target = o.target;
    return out;
  });
}

/** getOptionAsArray: the first option with `prefix` wins; none (or `null`) is an empty list. */
function optionArray(options: readonly string[], prefix: string): string[] {
  const found = options.find((o) => o.startsWith(prefix));
  if (found === undefined) return [];
  try {
    return unmarshalStringArray(found.slice(prefix.length));
  } catch (err) {
    if (err instanceof GoJsonError) throw invalidMount(`failed to unmarshal option \`${prefix}\`: ${err.message}`);
    throw err;
  }
}

const PARENT_LAYER_PATHS = 'parentLayerPaths=';
const PARENT_CIM_PATHS = 'parentCimPaths=';
const BLOCK_CIM_TYPE = 'blockCIMType=';
const MERGED_CIM_PATH = 'mergedCIMPath=';

/** parseForkedCimMount (wcow_parse.go:85-110). */
function forkedCim(m: RootfsMount): ForkedCimLayers {
  const options = m.options ?? [];
  const paths = optionArray(options, PARENT_LAYER_PATHS);
  const cims = optionArray(options, PARENT_CIM_PATHS);
  if (paths.length !== cims.length) throw invalidMount('invalid mount, number of parent layer paths & cim paths should be same');
  // hcsshim accepts zero pairs here and then indexes the first one (a Go panic,
  // wcow_mount.go:308; docs/rootfs.md): refused as an error instead.
  if (paths.length === 0) throw invalidMount('invalid mount, a CimFS mount needs at least one parent layer and its cim path');
  return { kind: 'forked-cim', scratch: m.source, layers: paths.map((path, i) => ({ path, cimPath: cims[i]! })) };
}

/** A `<block file>\<cim name>` path split with Go's Windows filepath.Dir / Base. */
function blockCim(type: 1 | 2, p: string): BlockCim {
  return { type, blockPath: dir(p), cimName: base(p) };
}

/** parseBlockCIMMount (wcow_parse.go:114-180): one pass, later duplicates override, raw JSON errors. */
function blockCimMount(m: RootfsMount): BlockCimLayers {
  let parents: string[] = [];
  let type: 1 | 2 | undefined;
  let merged = '';
  for (const o of m.options ?? []) {
    if (o.startsWith(PARENT_CIM_PATHS)) {
      try {
        parents = unmarshalStringArray(o.slice(PARENT_CIM_PATHS.length));
      } catch (err) {
        if (err instanceof GoJsonError) throw invalidMount(err.message);
        throw err;
      }
    } else if (o.startsWith(BLOCK_CIM_TYPE)) {
      const v = o.slice(BLOCK_CIM_TYPE.length);
      if (v === 'file') type = 1;
      else if (v === 'device') type = 2;
      else throw invalidMount(`invalid block CIM type \`${v}\``);
    } else if (o.startsWith(MERGED_CIM_PATH)) {
      merged = o.slice(MERGED_CIM_PATH.length);
    }
  }
  if (parents.length === 0) throw invalidMount('need at least 1 parent layer');
  if (type === undefined) throw invalidMount('BlockCIM type not provided');
  if (merged === '' && parents.length > 1) throw invalidMount('merged CIM path not provided');
  const t = type;
  const out: BlockCimLayers = { kind: 'block-cim', scratch: m.source, parents: parents.map((p) => blockCim(t, p)) };
  if (parents.length > 1) out.merged = blockCim(t, merged);
  return out;
}

/**
 * ParseWCOWLayers(rootfs, LayerFolders): exactly one of the two, validated in hcsshim's
 * order (helpers.go:24-49), then parsed by mount type (helpers.go:69-83).
 */
export function parseWcowLayers(rootfs: readonly RootfsMount[], layerFolders: readonly string[]): WcowLayers {
  if (rootfs.length > 0 && layerFolders.length > 0) throw precondition('cannot pass both a rootfs mount and Windows.LayerFolders');
  if (rootfs.length === 0 && layerFolders.length === 0) throw precondition('must pass either a rootfs mount or Windows.LayerFolders');
  if (rootfs.length > 1) throw precondition('expected a single rootfs mount');
  const m = rootfs[0];
  // The condition is "Target is set"; hcsshim's message says the opposite (helpers.go:37-39).
  if (m !== undefined && m.target !== undefined && m.target !== '') throw precondition('rootfs mount is missing Target path');
  if (m === undefined) {
    if (layerFolders.length < 2) throw precondition('must pass at least two Windows.LayerFolders');
    return fromLayerFolders(layerFolders);
  }
  switch (m.type) {
    case 'windows-layer':
      return { kind: 'wcifs', scratch: m.source, parents: optionArray(m.options ?? [], PARENT_LAYER_PATHS) };
    case 'CimFS':
      return forkedCim(m);
    case 'BlockCIM':
      return blockCimMount(m);
    default:
      throw invalidMount(`invalid windows mount type: '${m.type}'`);
  }
}

/** LayerFolders `[P1..Pn, S]` ≡ `windows-layer` {Source S, parentLayerPaths [P1..Pn]}. */
export function fromLayerFolders(layerFolders: readonly string[]): WcifsLayers {
  return { kind: 'wcifs', scratch: layerFolders[layerFolders.length - 1]!, parents: layerFolders.slice(0, -1) };
}

/**
 * The folders the spec checks of lib/oci see for these layers (parents, then the
 * scratch). Block CIMs are refused here: a single block CIM mounts only with cimfs.dll's
 * block-device flags, which no released Windows Server accepts (hcsshim gates block and
 * merged CIMs at build 27766, a placeholder past Windows Server 2025's 26100;
 * pkg/cimfs/cimfs.go:31-77).
 */
export function layerFoldersOf(layers: WcowLayers): string[] {
  switch (layers.kind) {
    case 'wcifs':
      return [...layers.parents, layers.scratch];
    case 'forked-cim':
      return [...layers.layers.map((l) => l.path), layers.scratch];
    case 'block-cim':
      throw new UnsupportedMountTypeError(
        'BlockCIM rootfs mounts are not supported: block CIMs need a Windows build hcsshim gates at 27766 (Windows Server 2025 is 26100); use the cimfs or windows snapshotter',
        { op: OP, resource: layers.scratch },
      );
  }
}

/** Spec.Windows.LayerFolders as ParseWCOWLayers sees it: absent or null is empty. */
function specLayerFolders(spec: unknown): string[] {
  const windows = typeof spec === 'object' && spec !== null ? (spec as { windows?: unknown }).windows : undefined;
  const raw = typeof windows === 'object' && windows !== null ? (windows as { layerFolders?: unknown }).layerFolders : undefined;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || !raw.every((f) => typeof f === 'string')) {
    throw new InvalidSpecError("invalid OCI spec - 'Spec.Windows.LayerFolders' must be an array of strings", { op: OP, resource: 'Spec.Windows.LayerFolders' });
  }
  return raw as string[];
}

/** The layers of an allocation given containerd's rootfs mounts (`rootfs`, unchecked input) and its spec. */
export function rootfsLayers(rootfs: unknown, spec: unknown): WcowLayers {
  return parseWcowLayers(checkRootfs(rootfs), specLayerFolders(spec));
}
