// hcsshim v0.11.4 allocateWindowsResources, end to end (see
// docs/behaviour.md#allocation-order, docs/mounts.md), with the caller's part that
// decides what it needs (CreateContainer: schema version, container root in the UVM,
// rollback on failure) and the document builder's part that reads its results
// (createMountsConfig, Storage, AssignedDevices).
//
// Order (docs/behaviour.md#allocation-order): validate → scratch → layers → mounts → CCG → devices →
// drivers → container document. Differences from hcsshim are those of docs/differences.md:
// everything is validated before the first side effect (1), release and rollback
// run to the end (2).

import { randomUUID } from 'node:crypto';
import { AbortedError, errorFor, InvalidSpecError, ReleaseError, asWcowError, type WcowError } from './errors';
import { WCOW_ROOT_IN_UVM_FMT } from './hcs/constants';
import { assignedDevice, storage, type LayerSpec } from './hcs/documents';
import type { ContainerCredentialGuardState, ContainerDocument, Device, MappedDirectory } from './hcs/schema';
import { abortableHost, withAbortSignal } from './host/abort';
import type { Host, UtilityVm } from './host/types';
import { clean } from './host/winpath';
import { setupCredentialGuard } from './credentials';
import { assignDevices, checkDriverDirectories, installGuestDrivers } from './devices';
import {
  ensureScratch,
  fromLayerFolders,
  layerFoldersOf,
  mountLayers,
  premountedCimLayers,
  rootfsLayers,
  rootfsSizeFromLabels,
  storageLayers,
  type RootfsMount,
  type WcowLayers,
} from './layers';
import { createMountsConfig, type MountsConfig } from './mounts/config';
import { setupMounts } from './mounts/setup';
import { hostPreflight, reserve, type Reservation } from './preflight';
import { Journal, Resources, type Closer } from './resources';
import { leftoversOf, withRollbackErrors } from './resources/release';
import { hostIdentity, journalHost, journalScope, type Undo } from './resources/journal';
import type { AllocatedSpec, OciSpec, OciWindowsDevice } from './oci/types';
import { validateSpec, type ValidatedSpec } from './oci/validate';
import type { SpecWarning } from './oci/strict';
import { rehearse, type PlannedCall } from './plan';
import { traceHost, traceStep, withTraceContext, type Logger } from './trace';
import { uvmState, type UvmState } from './uvm';

export interface SchemaVersionRequest {
  major: number;
  minor: number;
}

export interface AllocateOptions {
  /** The container id (CCG instance id). Empty: a random v4 GUID, as hcsshim does. */
  id: string;
  /** The OCI runtime spec; not modified (the result carries a copy). */
  spec: OciSpec;
  /**
   * containerd 2.x's rootfs mounts (CreateTaskRequest.Rootfs: `windows-layer` or `CimFS`),
   * instead of Spec.Windows.LayerFolders — parsed as hcsshim main's ParseWCOWLayers
   * (lib/layers/rootfs.ts). Absent: LayerFolders, exactly as v0.11.4.
   */
  rootfs?: readonly RootfsMount[];
  /**
   * containerd's snapshot labels for the rootfs (`containerd.io/snapshot/windows/rootfs.sizebytes`,
   * the deprecated `…rootfs.size-gb`; others ignored): a scratch created here is expanded to
   * that size as containerd's snapshotters expand theirs (lib/layers/labels.ts, scratch.ts).
   */
  snapshotLabels?: Readonly<Record<string, string>>;
  host: Host;
  /** The utility VM of a hypervisor-isolated container; absent for process isolation. */
  uvm?: UtilityVm;
  /** Overrides `io.kubernetes.cri.container-type == sandbox` (the pod's pause container). */
  isSandbox?: boolean;
  /** Requested schema version (process isolation only; a UVM always means 2.1). */
  schemaVersion?: SchemaVersionRequest;
  /**
   * Aborts with ERR_ABORTED before the next host call (calls in flight are cancelled where
   * HCS can cancel them); what was acquired is released.
   */
  signal?: AbortSignal;
  /** A pino-compatible logger: every step and host call is logged (debug; failures warn). */
  logger?: Logger;
  /**
   * A directory for the crash journal (docs/differences.md#difference-8): each acquisition is recorded
   * there, flushed, before it is attempted, so that `recover({ dir, host })` can release
   * what this process held if it dies. The container's journal is deleted when its
   * resources are all released.
   */
  journal?: string;
}

export type PlanOptions = Omit<AllocateOptions, 'signal'>;

export interface Allocation {
  /** A deep copy of the spec: Root.Path set; Windows.Devices rewritten for hypervisor isolation. */
  spec: AllocatedSpec;
  /** `C:\c\<hex>` for hypervisor isolation. */
  containerRootInUvm: string | undefined;
  /** Disk mounts to append to the container document (hcsshim's windowsAdditionalMounts). */
  mappedDirectories: MappedDirectory[];
  /** The CCG instance state (`Container.ContainerCredentialGuard`), when one was created. */
  credentialGuard: ContainerCredentialGuardState | undefined;
  /** Everything acquired; `release({ all: true })` undoes it. */
  resources: Resources;
  /** The v2 Container fields hcsdoc_wcow builds from these results, hcsshim key order, omit-empty. */
  containerDocument(): ContainerDocument;
}

/** hcsshim osversion builds (docs/behaviour.md#constants). */
const BUILD_RS5 = 17763;
const BUILD_LTSC2022 = 20348;

/**
 * coi.actualSchemaVersion (create.go:108-113; schemaversion.go:31-101): a UVM means
 * 2.1; otherwise 1.0, or 2.1 from RS5 on, replaced by a requested version only when
 * the host supports it (hcsshim logs "Ignoring unsupported requested schema version").
 */
export function determineSchemaVersion(build: number, uvm: boolean, requested?: SchemaVersionRequest): SchemaVersionRequest {
  if (uvm) return { major: 2, minor: 1 };
  const fallback = build >= BUILD_RS5 ? { major: 2, minor: 1 } : { major: 1, minor: 0 };
  if (requested === undefined) return fallback;
  const { major, minor } = requested;
  const supported =
    (major === 1 && minor === 0) || (major === 2 && minor === 1 && build >= BUILD_RS5) || (major === 2 && minor === 5 && build >= BUILD_LTSC2022);
  return supported ? { major, minor } : fallback;
}

function isV21(v: SchemaVersionRequest): boolean {
  return v.major === 2 && v.minor === 1;
}

/** `C:\c/<hex>` as CreateContainer formats it, cleaned as the layer code does (docs/layers.md#scratch-on-scsi). */
function containerRootInUvm(state: UvmState): string {
  return clean(WCOW_ROOT_IN_UVM_FMT.replace('%s', state.containerCounter().toString(16)));
}

/** ERR_ABORTED with the signal's reason in the message (`controller.abort(reason)`), not only in `cause`. */
function aborted(op: string, reason: unknown): AbortedError {
  const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return new AbortedError(why === '' ? undefined : `the operation was aborted: ${why}`, { op, cause: reason });
}

/**
 * A step of the allocation: traced, abortable before it starts, and its errors carry
 * the step's op — the finer ops a step reports itself (`ccg.query` inside `ccg.add`'s
 * step) are kept.
 */
async function step<T>(ops: readonly [string, ...string[]], signal: AbortSignal | undefined, fn: () => Promise<T>, inStep: InStep): Promise<T> {
  if (signal?.aborted) throw aborted(ops[0], signal.reason);
  try {
    return await inStep(ops[0], () => traceStep(ops[0], 'step', fn));
  } catch (err) {
    const e = asWcowError(err);
    if (e.op !== undefined && ops.includes(e.op)) throw e;
    throw errorFor(e.code, e.message, { ...e.details(), op: ops[0], cause: e });
  }
}

/** How a step runs: as it is, or (a rehearsal, lib/plan) inside a scope that names it. */
export type InStep = <T>(op: string, fn: () => Promise<T>) => Promise<T>;

const run: InStep = (_op, fn) => fn();

/**
 * What a plan rehearses the allocation against (lib/plan): the calls go to a rehearsal of
 * the host, while the preflight checks the live one — its containers, its journals — and
 * nothing is journaled.
 */
interface Rehearsing {
  live: Host;
  journalDir: string | undefined;
  inStep: InStep;
}

interface Context {
  id: string;
  host: Host;
  /** The host as the caller passed it (`host` is the same one wrapped for tracing and the journal); for a plan the live one. */
  callerHost: Host;
  /** Where the preflight looks for other processes' containers. */
  journalDir: string | undefined;
  state: UvmState | undefined;
  validated: ValidatedSpec;
  schemaVersion: SchemaVersionRequest;
  isSandbox: boolean;
  inStep: InStep;
  /** What the engine mounts (LayerFolders or the rootfs mount, one typed value). */
  layers: WcowLayers;
  /** The requested scratch size, bytes (0: as created). */
  scratchSize: bigint;
}

function prepare(o: PlanOptions, at: Rehearsing): Context {
  const state = o.uvm === undefined ? undefined : uvmState(o.host, o.uvm);
  const schemaVersion = determineSchemaVersion(o.host.build, state !== undefined, o.schemaVersion);
  const parsed = o.rootfs === undefined ? undefined : rootfsLayers(o.rootfs, o.spec);
  if (parsed?.kind === 'forked-cim' && state !== undefined) {
    // wcow_mount.go:37-41 (hcsshim main); refused before anything is created.
    throw new InvalidSpecError("failed to mount container storage: hyperv isolated containers aren't supported with forked cim layers", { resource: 'rootfs' });
  }
  const validated = validateSpec(o.spec, {
    hypervisorIsolated: state !== undefined,
    schemaVersion,
    ...(o.isSandbox !== undefined && { isSandbox: o.isSandbox }),
    ...(parsed !== undefined && { layerFolders: layerFoldersOf(parsed) }),
  });
  const layers: WcowLayers =
    parsed?.kind === 'forked-cim' ? { ...parsed, scratch: validated.scratchFolder } : fromLayerFolders(validated.layerFolders);
  // A preset Root.Path with CIM layers must be a volume path (resources_wcow.go:49-55, main).
  if (layers.kind === 'forked-cim' && !validated.mountLayers) premountedCimLayers(validated.rootPath);
  const id = o.id === '' ? randomUUID() : o.id;
  const scratchSize = rootfsSizeFromLabels(o.snapshotLabels);
  return { id, host: o.host, callerHost: at.live, journalDir: at.journalDir, state, validated, schemaVersion, isSandbox: validated.isSandbox, layers, scratchSize, inStep: at.inStep };
}

/** The checks that need the host but change nothing: done before the first side effect (docs/differences.md#difference-1). */
async function preflight(c: Context): Promise<MountsConfig | undefined> {
  await hostPreflight({ host: c.callerHost, id: c.id, validated: c.validated, ...(c.journalDir !== undefined && { journalDir: c.journalDir }) });
  if (c.state !== undefined) {
    // addSpecGuestDrivers stats every directory before sharing any (docs/layers.md#the-driver-annotation).
    await checkDriverDirectories(c.state, c.validated.driverDirectories);
    return undefined;
  }
  // Process isolation: createMountsConfig resolves every mount source on the host, in
  // hcsshim after all allocations (a failure there rolls them back, docs/mounts.md#mounts-in-the-container-document step 3,
  // V5/V8). Nothing is hot-added for these mounts, so the answer is the same now.
  return createMountsConfig(c.host, undefined, c.validated.mounts, []);
}

/** validate: errors read as lib/oci words them, with op `validate`. */
function validate(o: PlanOptions, at: Rehearsing): Context {
  try {
    return prepare(o, at);
  } catch (err) {
    const e = asWcowError(err);
    throw errorFor(e.code, e.message, { ...e.details(), op: 'validate', cause: e });
  }
}

/**
 * allocateWindowsResources. On failure everything acquired so far is released
 * (`release({ all: true })`, as CreateContainer's deferred ReleaseResources does) and
 * the step's error is thrown — with the rollback's failures appended when it failed too.
 */
export async function allocateWindowsResources(o: AllocateOptions): Promise<Allocation> {
  return (await allocate(o, undefined)).allocation;
}

function allocate(o: AllocateOptions, rehearsing: Rehearsing | undefined): Promise<{ allocation: Allocation; context: Context }> {
  const trace = o.logger === undefined ? { containerId: o.id } : { containerId: o.id, logger: o.logger };
  return withTraceContext(trace, () => withAbortSignal(o.signal, () => journalScope(o.journal !== undefined, async (bindJournal) => {
    const signal = o.signal;
    if (signal?.aborted) throw aborted('validate', signal.reason);
    // Host calls are published as `call` steps (UVM calls are traced by lib/uvm).
    const at: Rehearsing = rehearsing ?? { live: o.host, journalDir: o.journal, inStep: run };
    const c = await traceStep('validate', 'step', async () => validate({ ...o, host: abortableHost(journalHost(traceHost(o.host))) }, at));
    const { host, state, validated } = c;
    const stage = <T>(ops: readonly [string, ...string[]], fn: () => Promise<T>): Promise<T> => step(ops, signal, fn, c.inStep);
    // The journal is written under a temporary name while the preflight runs (its thread-pool
    // round trips overlap it) and becomes the container's journal at `journal.open`.
    const draft = o.journal === undefined ? undefined : Journal.begin(o.journal, c.id, hostIdentity(o.host));
    let argonMounts: MountsConfig | undefined;
    let reservation: Reservation;
    const resources = new Resources(c.id);
    try {
      argonMounts = await stage(['preflight', 'drivers.install', 'mounts.resolve'], () => preflight(c));
      reservation = reserve(o.host, c.id, validated, resources);
    } catch (err) {
      await draft?.discard();
      throw err;
    }
    // Root.Path is set below, before anything can return the spec.
    const spec = structuredClone(validated.spec) as AllocatedSpec;
    if (draft !== undefined) {
      // From here on every acquisition is journaled before it is attempted.
      resources.journal = await stage(['journal.open'], () => draft.open()).catch(async (err: unknown) => {
        await draft.discard();
        reservation.drop();
        throw err;
      });
      bindJournal(resources.journal);
    }
    let sandboxLayers: Closer | undefined;
    let sandboxUndos: Undo[] = [];
    try {
      const rootInUvm = state === undefined ? undefined : containerRootInUvm(state);
      if (rootInUvm !== undefined) resources.containerRootInUvm = rootInUvm;

      // hcsshim main ensures a scratch VHD for WCIFS layers only: a CIM scratch is the
      // snapshotter's (wcow_mount.go:131); LayerFolders keep v0.11.4's behaviour.
      if (c.layers.kind === 'wcifs') {
        await stage(['scratch.create', 'scratch.expand'], () => ensureScratch(host, validated.scratchFolder, validated.parentLayers, c.scratchSize));
      }

      // Default Root (docs/behaviour.md#allocation-order step 5); a preset Root.Path means the client mounted the layers.
      spec.root = { ...spec.root, path: validated.rootPath };
      if (validated.mountLayers) {
        const mounted = await stage(['layers.mount'], () => mountLayers(host, state, c.layers, rootInUvm, c.id));
        spec.root.path = mounted.rootPath;
        // Pod sandbox in a UVM: its layers belong to the UVM, not to the container
        // (docs/behaviour.md#allocation-order step 6): never in `resources`, so release does not remove them;
        // they go with the UVM (lib/layers/README.md). A failed allocation does (below).
        if (!(c.isSandbox && state !== undefined)) resources.setLayers(mounted.closer);
        else {
          sandboxLayers = mounted.closer;
          sandboxUndos = resources.journal?.heldUndos() ?? [];
        }
      }

      let disks: MappedDirectory[] = [];
      if (state !== undefined) {
        disks = await stage(['mounts', 'mounts.scsi', 'mounts.vsmb', 'mounts.pipe', 'mounts.sandbox'], () =>
          setupMounts(state, validated.mounts, resources),
        );
      }

      // Only a JSON string counts, and only schema 2.1 sets up an instance; a v1
      // document carries the spec itself (docs/behaviour.md#allocation-order step 8, docs/layers.md#schema-10).
      let credentialGuard: ContainerCredentialGuardState | undefined;
      const credentialSpec = validated.credentialSpec;
      if (credentialSpec !== undefined && isV21(c.schemaVersion)) {
        credentialGuard = await stage(['ccg.add', 'ccg.query', 'hvsocket.update'], () =>
          setupCredentialGuard(host, state, c.id, credentialSpec, resources),
        );
      }

      // Process isolation: devices go to the document unchanged (docs/layers.md#devices-in-the-container-document).
      let devices: readonly OciWindowsDevice[] = validated.devices;
      if (state !== undefined) {
        if (validated.devices.length > 0) {
          const assigned = await stage(['devices.assign'], () => assignDevices(host, state, validated.devices));
          resources.add(...assigned.closers);
          devices = assigned.devices;
          spec.windows = { ...spec.windows, devices: assigned.devices };
        }
        const drivers = await stage(['drivers.install'], () => installGuestDrivers(state, validated.driverDirectories));
        resources.add(...drivers);
      }

      // What hcsdoc_wcow reads back after allocation (docs/behaviour.md#the-container-document, docs/mounts.md#mounts-in-the-container-document).
      const document = await stage(['document', 'mounts.resolve'], async () => ({
        layers: await storageLayers(host, state, c.layers, c.id, validated.mountLayers ? undefined : validated.rootPath),
        mounts: argonMounts ?? (await createMountsConfig(host, state, validated.mounts, disks)),
      }));
      const rootPath = spec.root.path;
      // The sandbox's layers are the UVM's: once the sandbox is released its journal no
      // longer answers for them (until then recover takes them back after a crash).
      resources.uvmOwned = sandboxUndos;
      reservation.settle();
      const allocation: Allocation = {
        spec,
        containerRootInUvm: rootInUvm,
        mappedDirectories: disks,
        credentialGuard,
        resources,
        containerDocument: () => buildContainerDocument(state === undefined, document.layers, rootPath, document.mounts, credentialGuard, devices),
      };
      return { allocation, context: c };
    } catch (err) {
      // The UVM keeps a pod sandbox's layers only once the sandbox exists: a failed sandbox
      // allocation takes them back, or they would stay in the UVM with nobody to remove them.
      if (sandboxLayers !== undefined) resources.setLayers(sandboxLayers);
      // What a step's own rollback could not undo is the container's to release now.
      resources.add(...leftoversOf(err));
      const failed = await rollback(err, resources);
      // What a failed rollback left was handed to recover(): its journal, if any, tells.
      reservation.drop();
      throw failed;
    }
  })));
}

/** CreateContainer's deferred ReleaseResources(all=true) after a failed step. */
async function rollback(err: unknown, resources: Resources): Promise<WcowError> {
  try {
    await traceStep('rollback', 'step', () => resources.release({ all: true }));
    return asWcowError(err);
  } catch (releaseErr) {
    // The caller gets no Resources to retry with: what is left goes to recover().
    await resources.abandon().catch(() => undefined);
    return withRollbackErrors(err, releaseErr instanceof ReleaseError ? releaseErr.errors.map((e) => asWcowError(e)) : [asWcowError(releaseErr)]);
  }
}

/**
 * The v2 Container fields (schema2.Container order: Storage, MappedDirectories,
 * MappedPipes, ContainerCredentialGuard, AssignedDevices), empty ones left out.
 * Argon's Storage.Path is the volume path with its trailing `\` (hcsdoc_wcow.go adds
 * it when missing, docs/behaviour.md#the-container-document).
 */
function buildContainerDocument(
  processIsolated: boolean,
  layers: readonly LayerSpec[],
  rootPath: string,
  mounts: MountsConfig,
  credentialGuard: ContainerCredentialGuardState | undefined,
  devices: readonly OciWindowsDevice[],
): ContainerDocument {
  const path = processIsolated && !rootPath.endsWith('\\') ? rootPath + '\\' : rootPath;
  const doc: ContainerDocument = { Storage: storage(layers, path) };
  if (mounts.MappedDirectories.length > 0) doc.MappedDirectories = mounts.MappedDirectories;
  if (mounts.MappedPipes.length > 0) doc.MappedPipes = mounts.MappedPipes;
  if (credentialGuard !== undefined) doc.ContainerCredentialGuard = credentialGuard;
  const assigned: Device[] = devices.map((d) => assignedDevice(d.idType, d.id));
  if (assigned.length > 0) doc.AssignedDevices = assigned;
  return structuredClone(doc);
}

// ---------------------------------------------------------------------------
// Plan

export type { PlannedCall } from './plan';

export interface Plan {
  id: string;
  isolation: 'process' | 'hypervisor';
  schemaVersion: SchemaVersionRequest;
  /** Every call the allocation will make, in order, with its document (lib/plan). */
  calls: PlannedCall[];
  /** What the spec asks for that Windows will not do as written (mount options it does not read). */
  warnings: SpecWarning[];
}

/**
 * Validate everything allocateWindowsResources validates and list the calls it will make, in
 * order, by running it against a rehearsal of the host and of the UVM's state in this
 * process (lib/plan), which send nothing: a disk or share this process holds already is
 * reused in the plan as it will be by the allocation. The preflight reads the live host
 * (Stat; the crash journals of `journal`) as the allocation's does; nothing is journaled.
 */
export async function planWindowsResources(o: PlanOptions): Promise<Plan> {
  const id = o.id === '' ? randomUUID() : o.id;
  const r = await rehearse(o.host, o.uvm);
  // The rehearsal's UVM handle instead of the caller's, and no journal (the preflight still reads `o.journal`).
  const { uvm: _uvm, journal: _journal, ...rest } = o;
  const { context: c } = await allocate(
    { ...rest, id, host: r.host, ...(r.uvm !== undefined && { uvm: r.uvm }) },
    { live: o.host, journalDir: o.journal, inStep: r.inStep },
  );
  return { id, isolation: c.state === undefined ? 'process' : 'hypervisor', schemaVersion: c.schemaVersion, calls: r.calls(), warnings: c.validated.warnings };
}
