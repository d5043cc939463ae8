// `status`, `release <id>` and `recover`: the commands that look at, or undo, what
// earlier processes allocated. The state directory holds the simulated host's HCS
// state (so a new process sees the same machine) and one crash journal per allocated
// container; an allocating process has exited by the time these run, so its journal
// is the record of what its container holds, and recover() undoes it.

import type { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, JournalError, NotFoundError, ReleaseError } from '../../errors';
import type { HostSnapshot } from '../../host/simulated';
import { PROBE_PREFIX } from '../../host/simulated/dirindex';
import { recover, type RecoverReport } from '../../recover';
import { action, type CommandOutput, type JsonOption } from '../action';
import { commandLine, fields, table } from '../format';
import { isLive, pendingJournals, type PendingJournal } from '../journals';
import { machineFlags, openMachine, type Machine } from '../machine';
import { ROOT_HELP, STATE_DIR_HELP, hostInfo, hostLine } from './spec';

/** LUNs per SCSI controller of a WCOW UVM (one controller; LUN 0 is the UVM scratch). */
const LUNS = 64;

interface StateOptions extends JsonOption {
  root?: string;
  stateDir?: string;
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

function snapshotText(s: HostSnapshot): string {
  const uvms = Object.values(s.uvms);
  let text = `utility VMs: ${uvms.length}\n`;
  if (uvms.length > 0) {
    text += table(
      [
        { header: 'id' },
        { header: 'LUNs used', align: 'right' },
        { header: 'free', align: 'right' },
        { header: 'VSMB shares', align: 'right' },
        { header: 'pipes', align: 'right' },
        { header: 'VPCI', align: 'right' },
        { header: 'containers', align: 'right' },
      ],
      uvms.map((u) => [
        u.id,
        String(u.scsi.length),
        String(LUNS - u.scsi.length),
        String(u.vsmbShares.length),
        String(u.mappedPipes.length),
        String(u.vpciDevices.length),
        String(u.guest.combinedLayers.length),
      ]),
    );
  }
  for (const u of uvms) {
    text += `\n${u.id}: SCSI\n`;
    text += table(
      [{ header: 'LUN', align: 'right' }, { header: 'type' }, { header: 'read-only' }, { header: 'path' }, { header: 'in guest' }],
      u.scsi.map((d) => [String(d.lun), d.type, yesNo(d.readOnly), d.path, d.guestPath ?? '']),
    );
    text += `${u.id}: VSMB shares\n`;
    text += table(
      [{ header: 'name' }, { header: 'read-only' }, { header: 'path' }],
      u.vsmbShares.map((v) => [v.name, yesNo(v.options.ReadOnly === true), v.path]),
    );
    if (u.mappedPipes.length > 0) text += `${u.id}: mapped pipes: ${u.mappedPipes.join(', ')}\n`;
  }
  text += `\nactivated layers: ${s.layers.length}\n`;
  if (s.layers.length > 0) {
    text += table(
      [{ header: 'path' }, { header: 'activations', align: 'right' }, { header: 'prepared' }],
      s.layers.map((l) => [l.path, String(l.activations), yesNo(l.prepared)]),
    );
  }
  text += `\nCCG instances: ${s.ccgInstances.length}\n`;
  if (s.ccgInstances.length > 0) text += table([{ header: 'id' }, { header: 'transport' }], s.ccgInstances.map((c) => [c.id, c.transport]));
  return text;
}

/** Who holds a CIM mount or an overlay filter: the pending journal recording it ('' when none does). */
function holder(journals: readonly PendingJournal[], match: (u: PendingJournal['holds'][number]['undo']) => boolean): string {
  return journals.find((j) => j.holds.some((h) => match(h.undo)))?.id ?? '';
}

/** A CIM mount or an overlay filter, and the container whose journal holds it ('' when none does). */
interface CimMountRow {
  volumeGuid: string;
  /** Known from the simulated host's state; the native host has no listing of it. */
  cimPath?: string;
  container: string;
}

interface OverlayFilterRow {
  volumePath: string;
  filterType?: string;
  layers?: { Id: string; Path: string }[];
  container: string;
}

/**
 * The process-isolated CimFS storage of the containers (hcsshim main's forked CIM mounts and
 * UnionFS filters) — what recover would dismount and detach. The simulated host lists what is
 * mounted; the native host has no such listing, so there the journals say.
 */
function cimStorage(snapshot: HostSnapshot | null, journals: readonly PendingJournal[]): { cimMounts: CimMountRow[]; overlayFilters: OverlayFilterRow[] } {
  const held = journals.flatMap((j) => j.holds.map((h) => h.undo));
  const mounts = snapshot?.cimMounts ?? held.flatMap((u) => (u.op === 'cim.dismount' ? [{ volumeGuid: u.volumeGuid }] : []));
  const filters = snapshot?.overlayFilters ?? held.flatMap((u) => (u.op === 'overlay.detach' ? [{ volumePath: u.volumePath }] : []));
  const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  return {
    cimMounts: mounts.map((m) => ({ ...m, container: holder(journals, (u) => u.op === 'cim.dismount' && same(u.volumeGuid, m.volumeGuid)) })),
    overlayFilters: filters.map((f) => ({ ...f, container: holder(journals, (u) => u.op === 'overlay.detach' && same(u.volumePath, f.volumePath)) })),
  };
}

function cimStorageText(storage: ReturnType<typeof cimStorage>): string {
  const { cimMounts, overlayFilters } = storage;
  let text = `\nCIM mounts: ${cimMounts.length}\n`;
  if (cimMounts.length > 0) {
    text += table([{ header: 'volume GUID' }, { header: 'CIM' }, { header: 'container' }], cimMounts.map((m) => [m.volumeGuid, m.cimPath ?? '', m.container]));
  }
  text += `\noverlay filters: ${overlayFilters.length}\n`;
  if (overlayFilters.length > 0) {
    text += table(
      [{ header: 'volume' }, { header: 'filter' }, { header: 'layers' }, { header: 'container' }],
      overlayFilters.map((f) => [f.volumePath, f.filterType ?? '', (f.layers ?? []).map((l) => l.Path).join(', '), f.container]),
    );
  }
  return text;
}

/** What `recover` would undo now: the holds of journals whose owner is gone (or gave them up). */
function recoverableText(journals: readonly PendingJournal[]): string {
  const rows = journals.filter((j) => !isLive(j)).flatMap((j) => j.holds.map((h) => [j.id, h.op, h.resource]));
  let text = `\nrecover would undo: ${rows.length}\n`;
  if (rows.length > 0) text += table([{ header: 'container' }, { header: 'op' }, { header: 'resource' }], rows);
  return text;
}

function journalsText(journals: readonly PendingJournal[]): string {
  let text = `pending journals: ${journals.length}\n`;
  if (journals.length === 0) return text;
  return (
    text +
    table(
      [{ header: 'container' }, { header: 'owner pid', align: 'right' }, { header: 'owner' }, { header: 'held', align: 'right' }, { header: 'journal' }],
      journals.map((j) => [
        j.id,
        String(j.pid),
        j.error !== undefined ? `unreadable: ${j.error}` : j.alive ? (j.abandoned ? 'running, abandoned it' : 'running') : 'exited',
        String(j.held),
        j.path,
      ]),
    )
  );
}

/** `kept` words what keptForLive holds: recover leaves it to running processes, release to any other container. */
function undoneText(report: RecoverReport, kept = 'left to containers of running processes'): string {
  let text = `undone: ${report.undone.length}\n`;
  if (report.undone.length > 0) {
    text += table([{ header: 'op' }, { header: 'resource' }, { header: 'outcome' }], report.undone.map((u) => [u.op, u.resource, u.outcome]));
  }
  if (report.keptForLive.length > 0) {
    text += `\n${kept}: ${report.keptForLive.length}\n`;
    text += table([{ header: 'op' }, { header: 'resource' }], report.keptForLive.map((k) => [k.op, k.resource]));
  }
  return text;
}

/** A report with failed undos is a failed release: each failure listed, the journals kept for a rerun. */
function throwIfFailed(report: RecoverReport, what: string, op: string): void {
  if (report.errors.length > 0) {
    throw new ReleaseError(report.errors, `${what} could not undo everything (the journals are kept: run it again)`, { op });
  }
}

function stateCommand(program: Command, nameAndArgs: string, description: string): Command {
  return program
    .command(nameAndArgs)
    .description(description)
    .option('--root <dir>', ROOT_HELP)
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .option('--json', 'print one JSON document');
}

async function status(machine: Machine): Promise<CommandOutput> {
  const info = hostInfo(machine);
  const journals = await pendingJournals(machine.journalDir);
  // The native host has no snapshot: HCS is asked per compute system, not as a whole.
  const snapshot = machine.simulated?.snapshot() ?? null;
  const storage = cimStorage(snapshot, journals);
  const text =
    hostLine(info) +
    '\n' +
    (snapshot === null ? 'host state: listed for the simulated host only\n' : snapshotText(snapshot)) +
    cimStorageText(storage) +
    '\n' +
    journalsText(journals) +
    recoverableText(journals);
  const listed = journals.map((j) => ({ ...j, holds: j.holds.map(({ op, resource }) => ({ op, resource })) }));
  return { json: { host: info, snapshot, ...storage, journals: listed }, text };
}

async function release(machine: Machine, id: string): Promise<CommandOutput> {
  const pending = await pendingJournals(machine.journalDir);
  const journals = pending.filter((j) => j.id === id);
  if (journals.length === 0) {
    throw new NotFoundError(`no allocated container '${id}' in ${machine.stateDir}: nothing to release`, { op: 'cli.release', resource: id });
  }
  const live = journals.find(isLive);
  if (live !== undefined) {
    throw new JournalError(
      `container '${id}' belongs to process ${live.pid}, which is still running (${live.path}): ` +
        'it releases the container itself; run release again once it has exited',
      { op: 'cli.release', resource: id },
    );
  }
  const report: RecoverReport = { journals: [], undone: [], keptForLive: [], errors: [] };
  for (const j of journals) {
    const r = await recover({ journal: j.path, host: machine.host });
    report.journals.push(...r.journals);
    report.undone.push(...r.undone);
    report.keptForLive.push(...r.keptForLive);
    report.errors.push(...r.errors);
  }
  throwIfFailed(report, `release of container '${id}'`, 'cli.release');
  const info = hostInfo(machine);
  const text =
    hostLine(info) +
    fields([
      ['container', id],
      ['state', 'released'],
      ...journals.map((j) => ['journal', `${j.path} (owner pid ${j.pid}, exited), deleted`] as const),
    ]) +
    '\n' +
    undoneText(report, keptBy(pending.filter((j) => j.id !== id && j.id !== '')));
  return { json: { host: info, id, journals: journals.map((j) => j.path), undone: report.undone, keptForLive: report.keptForLive }, text };
}

/**
 * What `release <id>` leaves: resources shared with other allocated containers (a layer share
 * two containers of one UVM use), live or exited — each goes with the last container holding it.
 */
function keptBy(others: readonly PendingJournal[]): string {
  const who = others.map((j) => `'${j.id}' (${isLive(j) ? `process ${j.pid}, running` : 'exited'})`).join(', ');
  return `kept, still used by ${others.length === 1 ? 'container' : 'containers'} ${who}; released with the last of them`;
}

async function recoverAll(machine: Machine): Promise<CommandOutput> {
  const report = await recover({ dir: machine.journalDir, host: machine.host });
  throwIfFailed(report, 'recover', 'cli.recover');
  const info = hostInfo(machine);
  let text = hostLine(info) + `journals: ${report.journals.length}\n`;
  if (report.journals.length > 0) {
    text += table(
      [{ header: 'container' }, { header: 'owner pid', align: 'right' }, { header: 'status' }, { header: 'journal' }],
      report.journals.map((j) => [j.id, String(j.owner.pid), j.status, j.path]),
    );
  }
  text += '\n' + undoneText(report);
  const { journals, undone, keptForLive } = report;
  return { json: { host: info, journals, undone, keptForLive }, text };
}

/** The entries of `dir` ([] when it does not exist). */
async function entries(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * `reset`: the simulated machine as new — its drives and its state directory deleted. Only
 * what a simulated machine holds is deleted (drive folders `A`…`Z`; the host state and the
 * journals), so a mistyped --root never removes someone's directory; a journal whose owner
 * still runs is that process's, and reset waits for it.
 */
async function reset(machine: Machine): Promise<CommandOutput> {
  const sim = machine.simulated;
  if (sim === undefined) {
    throw new InvalidArgumentError('reset clears the simulated host only: on Windows release containers with `release` or `recover`', { op: 'cli.reset' });
  }
  const live = (await pendingJournals(machine.journalDir)).find(isLive);
  if (live !== undefined) {
    throw new JournalError(`container '${live.id}' belongs to process ${live.pid}, which is still running: it releases the container itself; reset once it has exited`, {
      op: 'cli.reset',
      resource: live.path,
    });
  }
  const foreign = [
    // Drive folders, and the timestamp probe's folder a killed process may have left (dirindex.ts).
    ...(await entries(sim.root)).filter((e) => !/^[A-Z]$/.test(e) && !e.startsWith(PROBE_PREFIX)).map((e) => path.join(sim.root, e)),
    ...(await entries(machine.stateDir)).filter((e) => !/^(journal|host-state\.json(\.\d+\.tmp)?)$/.test(e)).map((e) => path.join(machine.stateDir, e)),
  ];
  if (foreign.length > 0) {
    throw new InvalidArgumentError(`reset deletes simulated machines only, and ${foreign[0]} is not part of one: check --root and --state-dir`, {
      op: 'cli.reset',
      resource: foreign[0]!,
    });
  }
  for (const dir of [sim.root, machine.stateDir]) await fsp.rm(dir, { recursive: true, force: true });
  const info = hostInfo(machine);
  const text = hostLine(info) + fields([['drives', `${sim.root} deleted`], ['state', `${machine.stateDir} deleted`]]);
  return { json: { host: info, deleted: [sim.root, machine.stateDir] }, text };
}

/** `uvm rm <id>`: terminate a utility VM of the simulated host, once no allocated container is in it. */
async function removeUvm(machine: Machine, id: string, o: StateOptions): Promise<CommandOutput> {
  const sim = machine.simulated;
  if (sim === undefined) {
    throw new InvalidArgumentError('uvm rm terminates utility VMs of the simulated host only; the native host does not terminate compute systems', { op: 'cli.uvm.rm', resource: id });
  }
  if (sim.snapshot().uvms[id] === undefined) {
    throw new NotFoundError(`there is no utility VM '${id}' on this machine (\`wcow-resources status\` lists them)`, { op: 'cli.uvm.rm', resource: id });
  }
  const user = (await pendingJournals(machine.journalDir)).find((j) => j.uvms.includes(id));
  if (user !== undefined) {
    throw new InvalidArgumentError(
      `utility VM ${id} holds container '${user.id}'; release it first: ${commandLine(['wcow-resources', 'release', user.id, ...machineFlags(o)])}`,
      { op: 'cli.uvm.rm', resource: id },
    );
  }
  await sim.terminateUtilityVm(id);
  const info = hostInfo(machine);
  return { json: { host: info, removed: id }, text: hostLine(info) + fields([['utility VM', `${id} terminated`]]) };
}

export function stateCommands(program: Command): void {
  stateCommand(program, 'reset', 'simulated host: delete the simulated machine — its drives and its state (UVMs, journals) — to start again').action(
    action(async (_io, o: StateOptions) => reset(openMachine(o))),
  );
  const uvm = program.command('uvm').description('utility VMs of the simulated host');
  stateCommand(uvm, 'rm <id>', 'terminate utility VM <id> (refused while an allocated container is in it)').action(
    action(async (_io, o: StateOptions, id: string) => removeUvm(openMachine(o), id, o)),
  );
  stateCommand(program, 'status', 'the host state (UVMs, LUNs used/free, shares, activated layers, CCG instances, CIM mounts and overlay filters) and the pending crash journals with what recover would undo').action(
    action(async (_io, o: StateOptions) => status(openMachine(o))),
  );
  stateCommand(program, 'release <id>', 'release everything container <id> holds, allocated by a process that has exited (from its crash journal)').action(
    action(async (_io, o: StateOptions, id: string) => release(openMachine(o), id)),
  );
  stateCommand(program, 'recover', 'release what every exited or killed process left allocated (all crash journals whose owner is gone)').action(
    action(async (_io, o: StateOptions) => recoverAll(openMachine(o))),
  );
}
