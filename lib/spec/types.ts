// The Windows subset of the OCI runtime spec (opencontainers/runtime-spec
// specs-go/config.go) that allocateWindowsResources reads. JSON key names as in
// the spec; everything a runtime may omit is optional. Fields we never read are
// allowed and carried along untouched.

export interface OciMount {
  destination: string;
  /** '' (or absent), `physical-disk`, `virtual-disk`, `extensible-virtual-disk` for WCOW. */
  type?: string;
  source: string;
  options?: string[];
}

export interface OciRoot {
  path: string;
  readonly?: boolean;
}

export interface OciWindowsDevice {
  id: string;
  idType: string;
}

export interface OciHyperV {
  utilityVMPath?: string;
}

export interface OciWindowsNetwork {
  endpointList?: string[];
  allowUnqualifiedDNSQuery?: boolean;
  DNSSearchList?: string[];
  networkSharedContainerName?: string;
  networkNamespace?: string;
}

export interface OciWindows {
  /** `[topmost layer, …, base layer, scratch]` (moby convention). */
  layerFolders?: string[] | null;
  hyperv?: OciHyperV | null;
  /** Only a JSON string counts; any other value is ignored, as hcsshim does. */
  credentialSpec?: unknown;
  devices?: OciWindowsDevice[];
  network?: OciWindowsNetwork;
}

export interface OciSpec {
  ociVersion?: string;
  root?: OciRoot | null;
  mounts?: OciMount[] | null;
  annotations?: Record<string, string> | null;
  windows?: OciWindows | null;
}
