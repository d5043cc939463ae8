// The rehearsal of a host that cannot copy itself (the native host: HCS state is not ours
// to copy): every call is recorded and none is sent. Reads go to the live host, seen
// through what the rehearsal itself did before them (the folders and files it made, the
// layers it activated, the CCG instances it added); calls that change something succeed.
// What only HCS or vmcompute can choose — a volume GUID, a CCG service id — is answered
// with a placeholder, which the plan names (`chosen`).

import { InvalidArgumentError } from '../errors';
import { CCG_PROPERTY_TYPE } from '../hcs/constants';
import type {
  ContainerCredentialGuardAddInstanceRequest,
  ContainerCredentialGuardInstance,
  GuestModificationRequest,
  ModifySettingRequest,
  ProcessParameters,
  ServiceModificationRequest,
  ServiceProperties,
  ServicePropertyQuery,
} from '../hcs/schema';
import type { ExecResult, Host, HostCall, HostHandle, HostStat, LayerDescriptor, OverlayLayerData, Rehearsal, UtilityVm } from '../host/types';
import { dir, join } from '../host/winpath';
import { SANDBOX_VHDX } from '../layers';

/** What a placeholder stands for, by its value. */
export type Chosen = (value: string, why: string) => void;

const PLACEHOLDER_GUID = '00000000-0000-0000-0000-000000000000';
const PLACEHOLDER_VOLUME = `\\\\?\\Volume{${PLACEHOLDER_GUID}}\\`;

/** A document as it travels (JSON): later changes to the caller's object do not show. */
function copied<T>(doc: T): T {
  return JSON.parse(JSON.stringify(doc)) as T;
}

function key(path: string): string {
  return path.toLowerCase();
}

class RecordingUtilityVm implements UtilityVm {
  readonly os = 'windows' as const;

  constructor(
    private readonly live: UtilityVm,
    private readonly onCall: (call: HostCall) => void,
  ) {}

  get id(): string {
    return this.live.id;
  }
  get noWritableFileShares(): boolean {
    return this.live.noWritableFileShares;
  }
  get vsmbNoDirectMap(): boolean {
    return this.live.vsmbNoDirectMap;
  }
  get fullyPhysicallyBacked(): boolean {
    return this.live.fullyPhysicallyBacked;
  }

  async modify(request: ModifySettingRequest): Promise<void> {
    this.onCall({ api: 'HcsModifyComputeSystem', target: this.id, document: copied(request) });
  }

  async guestRequest(request: GuestModificationRequest): Promise<void> {
    this.onCall({ api: 'GuestRequest', target: this.id, document: copied(request) });
  }

  /** The processes hcsshim runs (mkdir, device-util, pnputil) succeed, printing nothing. */
  async exec(params: ProcessParameters): Promise<ExecResult> {
    this.onCall({ api: 'Exec', target: this.id, document: copied(params) });
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  async close(): Promise<void> {}
}

// Plain private members, no #fields: the engine calls a host through Proxies (lib/trace,
// lib/resources/journal, lib/host/abort) that hand some methods the proxy as `this`.
export class RecordingHost implements Host {
  readonly kind: Host['kind'];
  readonly build: number;
  readonly toolsDirectory: string;
  /** Folders and files the rehearsal made, by lower-cased path (Windows paths compare case-insensitively). */
  private readonly made = new Map<string, 'dir' | 'file'>();
  private readonly activated = new Set<string>();
  private readonly instances = new Map<string, string | undefined>();
  private handles = 0;

  constructor(
    private readonly live: Host,
    private readonly onCall: (call: HostCall) => void,
    private readonly chosen: Chosen,
  ) {
    this.kind = live.kind;
    this.build = live.build;
    this.toolsDirectory = live.toolsDirectory;
  }

  rehearsal(): Rehearsal {
    return { host: this, utilityVm: async (uvm) => new RecordingUtilityVm(uvm, this.onCall) };
  }

  private record(api: string, target: string | undefined, extra: { document?: unknown; args?: Record<string, unknown> } = {}): void {
    this.onCall({ api, ...(target !== undefined && { target }), ...extra });
  }

  createUtilityVm(): Promise<UtilityVm> {
    return Promise.reject(new InvalidArgumentError('a plan creates no utility VM', { op: 'plan' }));
  }

  openUtilityVm(): Promise<UtilityVm> {
    return Promise.reject(new InvalidArgumentError('a plan opens no utility VM: pass the one to plan for', { op: 'plan' }));
  }

  /** os.Stat is no HCS call: not recorded, as the simulated host does not record it. */
  async stat(path: string): Promise<HostStat | undefined> {
    const made = this.made.get(key(path));
    if (made !== undefined) return { isDirectory: made === 'dir', isFile: made === 'file', size: 0 };
    return this.live.stat(path);
  }

  /** The missing folders of `path` exist from now on. */
  async mkdirAll(path: string): Promise<void> {
    this.record('MkdirAll', path);
    for (let p = path; dir(p) !== p && (await this.stat(p)) === undefined; p = dir(p)) this.made.set(key(p), 'dir');
  }

  /** A path the rehearsal made resolves as its nearest existing folder does, with the rest appended. */
  async resolvePath(path: string): Promise<string> {
    this.record('ResolvePath', path);
    let existing = path;
    while (this.made.has(key(existing))) existing = dir(existing);
    const resolved = await this.live.resolvePath(existing);
    if (existing === path) return resolved;
    const rest = path.slice(existing.length).replace(/^\\/, '');
    return resolved.endsWith('\\') ? resolved + rest : `${resolved}\\${rest}`;
  }

  async nameToGuid(name: string): Promise<string> {
    this.record('NameToGuid', name);
    return this.live.nameToGuid(name);
  }

  async createSandboxLayer(path: string, parents: readonly LayerDescriptor[]): Promise<void> {
    this.record('CreateSandboxLayer', path, { args: { parents: copied(parents) } });
    this.made.set(key(join(path, SANDBOX_VHDX)), 'file');
  }

  async expandSandboxSize(path: string, sizeBytes: bigint): Promise<void> {
    this.record('ExpandSandboxSize', path, { args: { sizeBytes } });
  }

  async activateLayer(path: string): Promise<void> {
    this.record('ActivateLayer', path);
    this.activated.add(key(path));
  }

  async deactivateLayer(path: string): Promise<void> {
    this.record('DeactivateLayer', path);
    this.activated.delete(key(path));
  }

  async prepareLayer(path: string, parents: readonly LayerDescriptor[]): Promise<void> {
    this.record('PrepareLayer', path, { args: { parents: copied(parents) } });
  }

  async unprepareLayer(path: string): Promise<void> {
    this.record('UnprepareLayer', path);
  }

  /** vmcompute chooses the volume of a layer it activates. */
  async getLayerMountPath(path: string): Promise<string> {
    this.record('GetLayerMountPath', path);
    if (!this.activated.has(key(path))) return this.live.getLayerMountPath(path);
    this.chosen(PLACEHOLDER_GUID, 'the volume GUID is chosen by vmcompute when the layer is activated');
    return PLACEHOLDER_VOLUME;
  }

  async grantVmAccess(vmId: string, path: string): Promise<void> {
    this.record('GrantVmAccess', path, { args: { vmId } });
  }

  async cimMountImage(imagePath: string, fsName: string, flags: number, volumeGuid: string): Promise<void> {
    this.record('CimMountImage', join(imagePath, fsName), { args: { imagePath, fsName, flags, volumeGuid } });
  }

  async cimDismountImage(volumeGuid: string): Promise<void> {
    this.record('CimDismountImage', volumeGuid);
  }

  async attachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void> {
    this.record('HcsAttachOverlayFilter', volumePath, { document: copied(layerData) });
  }

  async detachOverlayFilter(volumePath: string, layerData: OverlayLayerData): Promise<void> {
    this.record('HcsDetachOverlayFilter', volumePath, { document: copied(layerData) });
  }

  async openVirtualDisk(path: string): Promise<HostHandle> {
    this.record('OpenVirtualDisk', path);
    return ++this.handles;
  }

  async attachVirtualDisk(disk: HostHandle, flags: number): Promise<void> {
    this.record('AttachVirtualDisk', undefined, { args: { disk, flags } });
  }

  async openVolume(path: string): Promise<HostHandle> {
    this.record('CreateFile', path);
    return ++this.handles;
  }

  /** The sizes come from the expanded disk; equal ones plan no FSCTL_EXTEND_VOLUME. */
  async diskLength(volume: HostHandle): Promise<bigint> {
    this.record('IOCTL_DISK_GET_LENGTH_INFO', undefined, { args: { volume } });
    this.chosen('0', 'the partition and volume sizes are read from the scratch once expanded; whether FSCTL_EXTEND_VOLUME follows depends on them');
    return 0n;
  }

  async diskTotalBytes(path: string): Promise<bigint> {
    this.record('GetDiskFreeSpaceEx', path);
    return 0n;
  }

  async extendVolume(volume: HostHandle, sectors: bigint): Promise<void> {
    this.record('FSCTL_EXTEND_VOLUME', undefined, { args: { volume, sectors } });
  }

  async closeHandle(handle: HostHandle): Promise<void> {
    this.record('CloseHandle', undefined, { args: { handle } });
  }

  async modifyServiceSettings(request: ServiceModificationRequest): Promise<void> {
    this.record('HcsModifyServiceSettings', undefined, { document: copied(request) });
    const details = request.Settings?.OperationDetails as ContainerCredentialGuardAddInstanceRequest | undefined;
    const id = details?.Id ?? '';
    if (request.Settings?.Operation === 'AddInstance') this.instances.set(id, details?.Transport);
    else this.instances.delete(id);
  }

  /** The live instances, and those the rehearsal added — with what HCS would choose for them left as placeholders. */
  async getServiceProperties(query: ServicePropertyQuery): Promise<ServiceProperties> {
    this.record('HcsGetServiceProperties', undefined, { document: copied(query) });
    const live = await this.live.getServiceProperties(query);
    if (this.instances.size === 0 || !(query.PropertyTypes ?? []).includes(CCG_PROPERTY_TYPE)) return live;
    const added = [...this.instances].map(([id, transport]): ContainerCredentialGuardInstance => {
      const i: ContainerCredentialGuardInstance = { Id: id, CredentialGuard: { Cookie: '', RpcEndpoint: '', Transport: transport ?? 'LRPC', CredentialSpec: '' } };
      if (transport === 'HvSocket') {
        this.chosen(PLACEHOLDER_GUID, 'the hvsocket service id and its configuration are chosen by HCS when the CCG instance is added');
        i.HvSocketConfig = { ServiceId: PLACEHOLDER_GUID, ServiceConfig: {} };
      }
      return i;
    });
    const [first, ...rest] = live.Properties ?? [];
    const instances = (first as { Instances?: ContainerCredentialGuardInstance[] } | undefined)?.Instances ?? [];
    return { ...live, Properties: [{ ...(first as object | undefined), Instances: [...instances, ...added] }, ...rest] };
  }
}
