// Host preflight: what the host must look like for an allocation to succeed, checked by
// both planWindowsResources and allocateWindowsResources before the first side effect
// (docs/differences.md#difference-9, README.md in this folder). Validation (lib/oci) knows the spec
// alone; this knows the host: every failure here would otherwise surface half-way through
// an allocation, blamed on another path (a missing layer reads as a CreateSandboxLayer
// failure of the scratch, a taken scratch as 0xc0370105 from PrepareLayer) and rolled back.
//
// Only reads: Stat, the crash journals of `journalDir`, and this process's own allocations.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { AlreadyExistsError, InvalidMountError, InvalidSpecError, NotFoundError, wrap, type WcowError } from '../errors';
import { formatMount } from '../mounts/classify';
import type { Host } from '../host/types';
import { isAbs, join } from '../host/winpath';
import { SANDBOX_VHDX } from '../layers';
import type { Resources } from '../resources/resources';
import { listJournals, readJournal, type JournalState } from '../resources/journal';
import { Journal, journalName } from '../resources/journal/journal';
import type { ValidatedSpec } from '../oci/validate';
import { hostPathNotFound } from '../uvm/vsmb';

const OP = 'preflight';

export interface PreflightInput {
  /** The host as the caller gave it (this process's allocations are kept per host object). */
  host: Host;
  id: string;
  validated: ValidatedSpec;
  /** The journal directory of the allocation, when it has one: other processes' containers are found there. */
  journalDir?: string;
}

// ---------------------------------------------------------------------------
// This process's allocations, per host: the container ids and scratch folders in use.

interface Holder {
  id: string;
  scratch: string;
  resources: Resources;
  /** false while the allocation runs: it holds its id and scratch before it holds anything. */
  settled: boolean;
}

const holders = new WeakMap<Host, Set<Holder>>();

/** Windows paths compare case-insensitively, as NTFS and vmcompute compare them. */
function samePath(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Running, or holding something not handed to recover() (whose journal then tells). */
function live(h: Holder): boolean {
  const r = h.resources;
  return !h.settled || (!r.abandoned && (r.closers.length > 0 || r.layers !== undefined));
}

function liveHolders(host: Host): Holder[] {
  return [...(holders.get(host) ?? [])].filter(live);
}

/** A running allocation's claim on its id and scratch; `settle` once allocated, `drop` when it failed. */
export interface Reservation {
  settle(): void;
  drop(): void;
}

/** This process's live claim on `id`, or on the scratch (when the allocation mounts its layers). */
function checkMine(host: Host, id: string, scratch: string | undefined): void {
  for (const h of liveHolders(host)) {
    if (h.id === id) {
      throw new AlreadyExistsError(`container '${id}' is already allocated on this host: release its resources first, or use another id`, {
        op: OP,
        resource: id,
      });
    }
    if (scratch !== undefined && samePath(h.scratch, scratch)) throw scratchTaken(scratch, h.id);
  }
}

/**
 * Claims `id` and the scratch for an allocation about to start, checking again in the same
 * tick so that two concurrent allocations cannot both pass hostPreflight and both start.
 */
export function reserve(host: Host, id: string, validated: ValidatedSpec, resources: Resources): Reservation {
  checkMine(host, id, validated.mountLayers ? validated.scratchFolder : undefined);
  let set = holders.get(host);
  if (set === undefined) holders.set(host, (set = new Set()));
  for (const h of set) if (!live(h)) set.delete(h);
  const h: Holder = { id, scratch: validated.scratchFolder, resources, settled: false };
  set.add(h);
  return {
    settle: () => {
      h.settled = true;
    },
    drop: () => {
      set.delete(h);
    },
  };
}

// ---------------------------------------------------------------------------
// Other processes' allocations: their crash journals.

type Journaled = Pick<JournalState, 'path' | 'id' | 'held'>;

/**
 * The journals of `dir` that can be read (one being written or torn is another process's
 * business); those this process is writing are known in memory, without reading them. Read
 * synchronously, like the journals themselves: a directory listing takes microseconds, a
 * thread-pool round trip far more on a loaded machine (lib/resources/journal README "Cost").
 */
function journals(dir: string): Journaled[] {
  let paths: string[];
  try {
    paths = listJournals(dir).journals;
  } catch {
    return [];
  }
  return paths.flatMap((path) => {
    const here = Journal.openAt(path);
    if (here !== undefined) return [{ path, id: here.id, held: here.held() }];
    try {
      return [readJournal(path)];
    } catch {
      return [];
    }
  });
}

/** The layer paths a journal holds activated or prepared (process isolation: the scratch is one). */
function journaledLayers(j: Journaled): string[] {
  return j.held.flatMap((h) => (h.undo.op === 'layer.deactivate' || h.undo.op === 'layer.unprepare' ? [h.undo.path] : []));
}

function scratchTaken(scratch: string, holder: string): AlreadyExistsError {
  return new AlreadyExistsError(
    `scratch folder ${scratch} is in use by container '${holder}', which has not been released: every container needs its own scratch folder (the last entry of windows.layerFolders)`,
    { op: OP, resource: scratch },
  );
}

/**
 * A container id names one allocation per host: a second one would share its CCG instance
 * id and make `release <id>` ambiguous. Refused when a journal in `journalDir` holds the id
 * (a live process's, or a dead one's not yet recovered); `releaseHint` says how to release it.
 * A journal's name is its id's hash (journal.ts journalName), so only that file is read.
 */
export async function checkJournaledId(journalDir: string, id: string, releaseHint: string): Promise<void> {
  const path = nodePath.join(journalDir, journalName(id));
  let taken: JournalState | undefined;
  // Usually there is none: a look first, cheaper than the error a failed read builds.
  if (fs.existsSync(path)) {
    try {
      taken = readJournal(path);
    } catch {
      // Being written or torn: another process's business (creating ours fails then).
    }
  }
  if (taken !== undefined) {
    throw new AlreadyExistsError(`container '${id}' is already allocated (journal ${taken.path}); release it first: ${releaseHint}`, { op: OP, resource: id });
  }
}

/** Other processes' containers, from their journals: the id, and (process isolation) the scratch's layer. */
async function checkJournals(journalDir: string, id: string, scratch: string | undefined): Promise<void> {
  await checkJournaledId(journalDir, id, 'recover({ dir }) undoes what an exited process left');
  if (scratch === undefined) return;
  const holder = journals(journalDir).find((j) => journaledLayers(j).some((p) => samePath(p, scratch)));
  if (holder !== undefined) throw scratchTaken(scratch, holder.id);
}

// ---------------------------------------------------------------------------
// Paths

/** Why `p` is not a Windows absolute path, or undefined when it is one. */
function notWindowsAbsolute(p: string): string | undefined {
  if (isAbs(p)) return undefined;
  if (p.startsWith('/')) return 'is a POSIX path';
  return 'is a relative path';
}

function pathError(kind: 'spec' | 'mount', what: string, p: string, why: string): WcowError {
  const example = kind === 'spec' ? 'C:\\layers\\base' : 'C:\\data\\logs';
  const message = `${what} '${p}' ${why}: Windows containers need a Windows absolute path like ${example}`;
  return kind === 'spec' ? new InvalidSpecError(message, { op: OP, resource: p }) : new InvalidMountError(message, { op: OP, resource: p });
}

async function checkLayerFolders(host: Host, v: ValidatedSpec): Promise<void> {
  const field = (i: number): string => `windows.layerFolders[${i}]`;
  const all = v.layerFolders;
  all.forEach((p, i) => {
    const why = notWindowsAbsolute(p);
    if (why !== undefined) throw pathError('spec', `layer folder ${field(i)}`, p, why);
    const first = all.findIndex((q) => samePath(q, p));
    if (first !== i) {
      const role = i === all.length - 1 ? 'the scratch folder' : 'a layer';
      throw new InvalidSpecError(`invalid OCI spec - ${field(i)} '${p}' is ${role} and already ${field(first)}: each folder may appear once`, {
        op: OP,
        resource: p,
      });
    }
  });
  if (!v.mountLayers) return;
  for (const [i, p] of v.parentLayers.entries()) {
    const st = await host.stat(p);
    if (st === undefined) {
      throw new NotFoundError(
        `layer folder ${field(i)} '${p}' does not exist (windows.layerFolders lists the image layers, topmost first, then the scratch folder last)`,
        { op: OP, resource: p },
      );
    }
    if (!st.isDirectory) throw new InvalidSpecError(`invalid OCI spec - layer folder ${field(i)} '${p}' is a file, not a layer folder`, { op: OP, resource: p });
    if ((await host.stat(join(p, SANDBOX_VHDX))) !== undefined) {
      throw new InvalidSpecError(
        `invalid OCI spec - ${field(i)} '${p}' holds ${SANDBOX_VHDX}: it is a container's scratch folder, not an image layer; the scratch folder goes last in windows.layerFolders`,
        { op: OP, resource: p },
      );
    }
  }
  const scratch = await host.stat(v.scratchFolder);
  if (scratch !== undefined && !scratch.isDirectory) {
    throw new InvalidSpecError(`invalid OCI spec - the scratch folder ${field(all.length - 1)} '${v.scratchFolder}' is a file`, {
      op: OP,
      resource: v.scratchFolder,
    });
  }
}

/**
 * Hypervisor isolation: every mount source hcsshim stats or opens as a file on the host
 * before hot-adding it — directory and file shares (os.Stat in setupMounts, with hcsshim's
 * message) and virtual disks (GrantVmAccess opens the VHDX). Physical drives are opened by
 * HCS itself; pipes, sandbox:// and evd:// sources are not host files. Process isolation:
 * allocate's preflight resolves every source right after this (createMountsConfig), with
 * hcsshim's message; only the path syntax is checked here.
 */
async function checkMountSources(host: Host, v: ValidatedSpec): Promise<void> {
  for (const [i, m] of v.mounts.entries()) {
    const cls = m.classification;
    const vhdx = cls.kind === 'scsi' && cls.attachmentType === 'VirtualDisk';
    if (cls.kind !== 'vsmb' && !vhdx) continue;
    const what = vhdx ? `virtual disk of mounts[${i}]` : `source of mounts[${i}]`;
    const why = notWindowsAbsolute(m.source);
    if (why !== undefined) throw pathError('mount', what, m.source, why);
    if (!v.hypervisorIsolated || (await host.stat(m.source)) !== undefined) continue;
    if (!vhdx) throw wrap(hostPathNotFound(m.source, OP), `failed to add VSMB share to utility VM for mount ${formatMount(m)}`, { op: OP, resource: m.source });
    throw new NotFoundError(`adding SCSI mount ${formatMount(m)}: the ${what} '${m.source}' does not exist on the host`, { op: OP, resource: m.source });
  }
}

/**
 * Everything above, in spec order: layer folders, then mount sources, then what other
 * containers hold (the id, the scratch). The first failure is thrown; `resource` is the
 * path (or id) that is wrong.
 */
export async function hostPreflight(input: PreflightInput): Promise<void> {
  const { host, validated, id, journalDir } = input;
  await checkLayerFolders(host, validated);
  await checkMountSources(host, validated);
  const scratch = validated.mountLayers ? validated.scratchFolder : undefined;
  checkMine(host, id, scratch);
  if (journalDir !== undefined) await checkJournals(journalDir, id, scratch);
}
