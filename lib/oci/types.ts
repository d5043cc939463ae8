// The OCI runtime spec as allocateWindowsResources takes it. `OciConfig` is a whole
// config.json, every field of every platform, generated from the runtime-spec's JSON schema
// (oci-config.ts, scripts/gen-oci-types.mjs): a runtime's literal config compiles as it is
// and every field is passed through untouched. `OciSpec` is the same with what hcsshim
// tolerates loosened — `ociVersion` may be left out, and the fields we read may be null,
// as Go's decoder treats a JSON null like an absent field.

import type { Mount, OciConfig, Windows, WindowsDevice } from './oci-config';

export type { OciConfig } from './oci-config';
export type * as Oci from './oci-config';

/** A mount as the engine classifies it: validation has made sure `source` is there. */
export interface OciMount extends Mount {
  /** '' (or absent), `physical-disk`, `virtual-disk`, `extensible-virtual-disk` for WCOW. */
  type?: string;
  source: string;
}

export interface OciRoot {
  path: string;
  readonly?: boolean;
}

export type OciWindowsDevice = WindowsDevice;

export type OciHyperV = NonNullable<Windows['hyperv']>;

export type OciWindowsNetwork = NonNullable<Windows['network']>;

export interface OciWindows extends Omit<Windows, 'layerFolders' | 'hyperv' | 'devices'> {
  /** `[topmost layer, …, base layer, scratch]` (moby convention). */
  layerFolders?: string[] | null;
  hyperv?: OciHyperV | null;
  /** Only a JSON string counts; any other value is ignored, as hcsshim does. */
  credentialSpec?: unknown;
  devices?: OciWindowsDevice[];
}

export interface OciSpec extends Omit<OciConfig, 'ociVersion' | 'root' | 'mounts' | 'annotations' | 'windows'> {
  ociVersion?: string;
  root?: OciRoot | null;
  mounts?: Mount[] | null;
  annotations?: OciConfig['annotations'] | null;
  windows?: OciWindows | null;
}

/** The spec an allocation returns: `root.path` is always set (the volume or the container root in the UVM). */
export interface AllocatedSpec extends OciSpec {
  root: OciRoot;
}
