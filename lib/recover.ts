// recover(): release what killed processes left behind, from their crash journals
// (docs/differences.md#difference-8; resources/journal/README.md). hcsshim keeps its release list only in memory:
// when the shim dies, whatever it had added to HCS stays until the UVM or vmcompute goes.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { JournalError, asWcowError, formatHresult, type WcowError } from './errors';
import {
  ccgRemoveInstance,
  combinedLayersRemove,
  hvSocketServiceRemove,
  mappedPipeRemove,
  mappedVirtualDiskGuest,
  scsiAttachmentRemove,
  virtualPciRemove,
  vsmbShareRemove,
} from './hcs/documents';
import { ERROR_FILE_NOT_FOUND_HR, HCS_E_INVALID_STATE, HCS_E_SYSTEM_NOT_FOUND } from './hcs/errors';
import type { Host, UtilityVm } from './host/types';
import { overlayFilterDetach } from './layers/cimfs';
import type { Logger } from './trace';
import { RecoverProgress, syncDirectory } from './resources/journal/journal';
import { isHeld, lockWithin } from './resources/journal/lock';
import { isAlive, type Owner } from './resources/journal/owner';
import { checkDirectory, hostIdentity } from './resources/journal/trust';
import { listJournals, readJournal, type JournalState } from './resources/journal/replay';
import { describeUndo, isCounted, type Undo } from './resources/journal/undo';

export interface RecoverOptions {
  /** A directory of journals: every journal in it whose owner is gone. */
  dir?: string;
  /** One journal file (its owner must be gone too, or have abandoned it). */
  journal?: string;
  host: Host;
  /** Told about every undo and failure (resource identities only, never documents). */
  logger?: Logger;
}

export interface RecoveredJournal {
  path: string;
  /** The container id. */
  id: string;
  owner: Owner;
  /**
   * `live`: the owner still runs, not touched. `recovered`: everything undone (or left to a
   * live holder), file deleted. `incomplete`: some undo failed, file kept for the next run.
   * `corrupt`: unreadable, kept. `foreign`: it belongs to another host (another simulated
   * root, another machine) or names resources this host's state cannot have: refused, kept.
   */
  status: 'live' | 'recovered' | 'incomplete' | 'corrupt' | 'foreign';
}

export interface RecoverAction {
  /** What was undone, e.g. `vsmb.remove`. */
  op: Undo['op'];
  /** The resource: `uvm id` + LUN / share name / …, or the layer path or CCG instance id. */
  resource: string;
  /** The dead journals that held it (undone once for all of them). */
  journals: string[];
  /**
   * `removed`; `already-gone` when HCS no longer had it (a call that never happened, a crash
   * after the removal); `uvm-gone` when its utility VM no longer exists (a terminated UVM
   * took it with it).
   */
  outcome: 'removed' | 'already-gone' | 'uvm-gone';
}

export interface RecoverReport {
  journals: RecoveredJournal[];
  undone: RecoverAction[];
  /**
   * Held by a dead journal and by a live one — or, when one journal is recovered, by any
   * other journal of its directory: left to that holder.
   */
  keptForLive: { op: Undo['op']; resource: string }[];
  /** Undos that failed; their journals are kept, so another recover() retries them. */
  errors: WcowError[];
}

/** HRESULTs that mean "not there": the undo's work is done already. */
const GONE = new Set(
  [0x80070490 | 0, ERROR_FILE_NOT_FOUND_HR, 0x80070003 | 0, HCS_E_SYSTEM_NOT_FOUND].map((h) => formatHresult(h)),
);
/** vmcompute answers HCS_E_INVALID_STATE for unpreparing a layer that is not prepared, deactivating one that is not active. */
const LAYER_GONE = formatHresult(HCS_E_INVALID_STATE);

function isGone(undo: Undo, err: WcowError): boolean {
  if (err.code === 'ERR_NOT_FOUND') return true;
  if (err.hresult === undefined) return false;
  if (GONE.has(err.hresult)) return true;
  return (undo.op === 'layer.unprepare' || undo.op === 'layer.deactivate') && err.hresult === LAYER_GONE;
}

/**
 * Dependents before what they depend on: the guest's union of layers before the scratch
 * disk and the layer shares; the guest's mount of a disk before its attachment; the prepare
 * of a layer before its activation. Within a rank, newest first (reverse acquisition order).
 */
const RANK: Record<Undo['op'], number> = {
  'combined-layers.remove': 0,
  'guest.disk.remove': 1,
  'scsi.remove': 2,
  'vsmb.remove': 3,
  'pipe.remove': 4,
  'vpci.remove': 5,
  'hvsocket.remove': 6,
  'ccg.remove': 7,
  'layer.unprepare': 8,
  // hcsshim main's release order for forked CIMs: detach the filter, deactivate, dismount.
  'overlay.detach': 8,
  'layer.deactivate': 9,
  'cim.dismount': 10,
};

/** The UVM handles recover opens, once each; a UVM that no longer exists took its resources with it. */
class Uvms {
  readonly #host: Host;
  readonly #open = new Map<string, Promise<UtilityVm | undefined>>();

  constructor(host: Host) {
    this.#host = host;
  }

  get(id: string): Promise<UtilityVm | undefined> {
    let vm = this.#open.get(id);
    if (vm === undefined) {
      vm = this.#host.openUtilityVm(id).catch((err: unknown) => {
        const e = asWcowError(err);
        if (e.hresult === formatHresult(HCS_E_SYSTEM_NOT_FOUND)) return undefined;
        throw e;
      });
      this.#open.set(id, vm);
    }
    return vm;
  }

  async close(): Promise<void> {
    const handles = await Promise.all([...this.#open.values()].map((p) => p.catch(() => undefined)));
    await Promise.all(handles.map((vm) => vm?.close().catch(() => undefined)));
  }
}

/** One undo, as the call that takes the resource away. Returns false when the UVM is gone. */
async function undoOnce(host: Host, uvms: Uvms, u: Undo): Promise<boolean> {
  switch (u.op) {
    case 'layer.unprepare':
      await host.unprepareLayer(u.path);
      return true;
    case 'layer.deactivate':
      await host.deactivateLayer(u.path);
      return true;
    case 'ccg.remove':
      await host.modifyServiceSettings(ccgRemoveInstance(u.id));
      return true;
    case 'cim.dismount':
      await host.cimDismountImage(u.volumeGuid);
      return true;
    case 'overlay.detach':
      await host.detachOverlayFilter(u.volumePath, overlayFilterDetach());
      return true;
  }
  const vm = await uvms.get(u.uvmId);
  if (vm === undefined) return false;
  switch (u.op) {
    case 'scsi.remove':
      await vm.modify(scsiAttachmentRemove(u.controller, u.lun));
      break;
    case 'guest.disk.remove':
      await vm.guestRequest(mappedVirtualDiskGuest('Remove', u.containerPath, u.lun));
      break;
    case 'vsmb.remove':
      await vm.modify(vsmbShareRemove(u.name));
      break;
    case 'pipe.remove':
      await vm.modify(mappedPipeRemove(u.hostPath));
      break;
    case 'vpci.remove':
      await vm.modify(virtualPciRemove(u.vmBusGuid));
      break;
    case 'hvsocket.remove':
      await vm.modify(hvSocketServiceRemove(u.serviceId));
      break;
    case 'combined-layers.remove':
      await vm.guestRequest(combinedLayersRemove(u.containerRootPath));
      break;
  }
  return true;
}

interface Group {
  key: string;
  undo: Undo;
  /** journal path → references (activations) it holds. */
  holders: Map<string, number>;
  at: number;
}

/** How long a recover waits for another one on the same directory (a release from another process, say). */
const LOCK_WAIT_MS = 30_000;

/**
 * Only one recover at a time per directory: two would undo the same things twice. A second
 * one waits for the first, then reads the journals afresh (those the first finished are
 * gone). The lock is written complete before it is visible (lock.ts), so a concurrent
 * recover never takes a lock being written for a stale one.
 */
async function lock(dir: string): Promise<() => void> {
  const path = nodePath.join(dir, 'recover.lock');
  let l;
  try {
    l = await lockWithin(path, LOCK_WAIT_MS);
  } catch (err) {
    throw new JournalError(`cannot lock ${path}: ${(err as Error).message}`, { op: 'recover.lock', resource: path, cause: err });
  }
  if (!isHeld(l)) throw new JournalError(`another recover (pid ${l.pid}) is running on ${dir}`, { op: 'recover.lock', resource: path });
  return () => l.release();
}

/**
 * A UVM's own resources — its scratch at LUN 0, its `os` boot share — come with the UVM and
 * no container acquires them: a journal naming them is not believed (docs/differences.md#difference-8).
 */
function isUvmBaseline(u: Undo): boolean {
  return (u.op === 'scsi.remove' && u.controller === 0 && u.lun === 0) || (u.op === 'vsmb.remove' && u.name.toLowerCase() === 'os');
}

/**
 * Whether the host is a simulated one whose state was never written (in memory only, or a
 * state directory no change ever reached) and holds nothing: no compute system, layer, file or
 * CIM mount it ever made. A journal naming resources there was given the wrong state directory
 * (the real one holds them); "already gone" answers would delete the only record of them. A
 * written state that is empty again is trusted: a process killed between its journal record
 * and the call leaves exactly that.
 */
function isEmptySimulatedState(host: Host): boolean {
  const snapshot = (host as { snapshot?: unknown }).snapshot;
  if (host.kind !== 'simulated' || typeof snapshot !== 'function') return false;
  const written = (host as { stateWritten?: unknown }).stateWritten;
  if (typeof written === 'function' && (written as () => boolean).call(host)) return false;
  type Lists = 'layers' | 'ccgInstances' | 'filesCreated' | 'cimMounts' | 'overlayFilters';
  const s = (snapshot as () => { uvms?: object } & Partial<Record<Lists, unknown[]>>).call(host);
  const lists: Lists[] = ['layers', 'ccgInstances', 'filesCreated', 'cimMounts', 'overlayFilters'];
  return Object.keys(s.uvms ?? {}).length === 0 && lists.every((k) => (s[k] ?? []).length === 0);
}

/** Temporary files of journal creators and lock writers that died before finishing. */
async function removeDeadTemporaries(dir: string): Promise<void> {
  for (const t of listJournals(dir).temporaries) {
    if (t.pid !== undefined && !isAlive({ pid: t.pid })) await fs.promises.rm(t.path, { force: true });
  }
}

/**
 * The journals to recover, and the other journals of the directory whose holdings must
 * stay: recovering one container's journal must not take away a share or disk that
 * another container (live or not recovered now) still holds through its own journal.
 */
async function journalPaths(o: RecoverOptions): Promise<{ dir: string; paths: string[]; others: string[] }> {
  if (o.journal !== undefined) {
    const dir = nodePath.dirname(o.journal);
    const self = nodePath.resolve(o.journal);
    return { dir, paths: [o.journal], others: listJournals(dir).journals.filter((p) => nodePath.resolve(p) !== self) };
  }
  if (o.dir === undefined) throw new JournalError('recover needs a journal directory or a journal file', { op: 'recover' });
  return { dir: o.dir, paths: listJournals(o.dir).journals, others: [] };
}

/**
 * Release everything the journals of dead (or abandoned) allocations still hold: each
 * resource once however many dead journals hold it, dependents first and newest first,
 * "already gone" answers counted as done. A resource a live journal holds too is left to
 * its live owner. Progress goes into the journals as it is made, so an interrupted recover
 * is simply run again; a journal is deleted once nothing of it is left.
 */
export async function recover(o: RecoverOptions): Promise<RecoverReport> {
  const report: RecoverReport = { journals: [], undone: [], keptForLive: [], errors: [] };
  const listed = await journalPaths(o);
  if (listed.paths.length === 0) return report;
  const dir = listed.dir;
  try {
    checkDirectory(dir, false);
  } catch (err) {
    // Anyone who can write there could have planted what the journals name.
    report.errors.push(asWcowError(err));
    report.journals.push(...listed.paths.map((path) => ({ path, id: '', owner: { pid: 0 }, status: 'foreign' as const })));
    return report;
  }
  const unlock = await lock(dir);
  const uvms = new Uvms(o.host);
  const here = hostIdentity(o.host);
  try {
    // Under the lock: a recover that ran meanwhile has finished some of them.
    const { paths, others } = await journalPaths(o);
    const exists = (p: string): boolean => fs.existsSync(p);
    await removeDeadTemporaries(dir);
    const dead: JournalState[] = [];
    const liveKeys = new Set<string>();
    for (const path of others) {
      try {
        for (const h of readJournal(path).held) liveKeys.add(h.key);
      } catch {
        // An unreadable journal holds nothing we could keep for it; its own recover reports it.
      }
    }
    const refuse = (state: JournalState, why: string): void => {
      report.errors.push(new JournalError(`crash journal ${state.path} (container '${state.id}') ${why}; refused, kept`, { op: 'recover', resource: state.path }));
      report.journals.push({ path: state.path, id: state.id, owner: state.owner, status: 'foreign' });
    };
    const empty = isEmptySimulatedState(o.host);
    for (const path of paths.filter(exists)) {
      let state: JournalState;
      try {
        state = readJournal(path);
      } catch (err) {
        const e = asWcowError(err);
        report.errors.push(e);
        report.journals.push({ path, id: '', owner: { pid: 0 }, status: 'corrupt' });
        continue;
      }
      if (!state.abandoned && isAlive(state.owner)) {
        for (const h of state.held) liveKeys.add(h.key);
        report.journals.push({ path, id: state.id, owner: state.owner, status: 'live' });
      } else if (state.host !== here) {
        refuse(state, `belongs to another host (${state.host}, this is ${here})`);
      } else if (empty && state.held.length > 0) {
        refuse(state, `names ${state.held.length} resource(s) but the simulated host's state is empty: is this the state directory it was allocated with?`);
      } else if (state.held.some((h) => isUvmBaseline(h.undo))) {
        refuse(state, "names a utility VM's own scratch (LUN 0) or `os` share, which no container acquires");
      } else {
        dead.push(state);
      }
    }

    const groups = new Map<string, Group>();
    for (const j of dead) {
      for (const h of j.held) {
        let g = groups.get(h.key);
        if (g === undefined) groups.set(h.key, (g = { key: h.key, undo: h.undo, holders: new Map(), at: h.at }));
        g.holders.set(j.path, h.count);
        g.at = Math.min(g.at, h.at);
      }
    }
    const order = [...groups.values()].sort((a, b) => RANK[a.undo.op] - RANK[b.undo.op] || b.at - a.at);

    const incomplete = new Set<string>();
    const ends = new Map(dead.map((j) => [j.path, j.end]));
    const appenders = new Map<string, RecoverProgress>();
    const progress = (path: string, undo: Undo): void => {
      let a = appenders.get(path);
      if (a === undefined) appenders.set(path, (a = new RecoverProgress(path, ends.get(path) ?? 0)));
      a.removed(undo);
    };
    try {
      for (const g of order) {
        const resource = describeUndo(g.undo);
        if (liveKeys.has(g.key)) {
          report.keptForLive.push({ op: g.undo.op, resource });
          o.logger?.info({ op: g.undo.op, resource }, 'recover: left to its live holder');
          continue;
        }
        // A counted resource (layer activations) is undone once per reference each journal holds.
        const holders = [...g.holders.entries()].flatMap(([path, count]) => Array.from({ length: isCounted(g.undo) ? count : 1 }, () => path));
        let outcome: RecoverAction['outcome'] = 'removed';
        try {
          for (const path of holders) {
            try {
              if (!(await undoOnce(o.host, uvms, g.undo))) outcome = 'uvm-gone';
            } catch (err) {
              const e = asWcowError(err);
              if (!isGone(g.undo, e)) throw e;
              outcome = 'already-gone';
            }
            progress(path, g.undo);
          }
        } catch (err) {
          const e = asWcowError(err, { op: 'recover', resource });
          report.errors.push(e);
          for (const path of g.holders.keys()) incomplete.add(path);
          o.logger?.warn({ op: g.undo.op, resource, code: e.code, hresult: e.hresult, message: e.message }, 'recover: undo failed');
          continue;
        }
        report.undone.push({ op: g.undo.op, resource, journals: [...g.holders.keys()], outcome });
        o.logger?.info({ op: g.undo.op, resource, outcome }, 'recover: undone');
      }
    } finally {
      for (const a of appenders.values()) {
        try {
          a.close();
        } catch {
          // The progress is an optimisation: a rerun redoes an undo whose record was lost, and finds it gone.
        }
      }
    }

    for (const j of dead) {
      const done = !incomplete.has(j.path);
      if (done) await fs.promises.rm(j.path, { force: true });
      report.journals.push({ path: j.path, id: j.id, owner: j.owner, status: done ? 'recovered' : 'incomplete' });
    }
    await syncDirectory(dir);
  } finally {
    await uvms.close();
    unlock();
  }
  return report;
}
