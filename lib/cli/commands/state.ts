// `status`, `release <id>` and `recover`: the commands that look at, or undo, what
// earlier processes allocated. The state directory holds the simulated host's HCS
// state (so a new process sees the same machine) and one crash journal per allocated
// container; an allocating process has exited by the time these run, so its journal
// is the record of what its container holds, and recover() undoes it.

import type { Command } from 'commander';
import { JournalError, NotFoundError, ReleaseError } from '../../errors';
import type { HostSnapshot } from '../../host/simulated';
import { recover, type RecoverReport } from '../../resources/recover';
import { action, type CommandOutput, type JsonOption } from '../action';
import { fields, table } from '../format';
import { isLive, pendingJournals, type PendingJournal } from '../journals';
import { openMachine, type Machine } from '../machine';
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

function undoneText(report: RecoverReport): string {
  let text = `undone: ${report.undone.length}\n`;
  if (report.undone.length > 0) {
    text += table([{ header: 'op' }, { header: 'resource' }, { header: 'outcome' }], report.undone.map((u) => [u.op, u.resource, u.outcome]));
  }
  if (report.keptForLive.length > 0) {
    text += `\nleft to containers of running processes: ${report.keptForLive.length}\n`;
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
  const text = hostLine(info) + '\n' + (snapshot === null ? 'host state: listed for the simulated host only\n' : snapshotText(snapshot)) + '\n' + journalsText(journals);
  return { json: { host: info, snapshot, journals }, text };
}

async function release(machine: Machine, id: string): Promise<CommandOutput> {
  const journals = (await pendingJournals(machine.journalDir)).filter((j) => j.id === id);
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
    undoneText(report);
  return { json: { host: info, id, journals: journals.map((j) => j.path), undone: report.undone, keptForLive: report.keptForLive }, text };
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

export function stateCommands(program: Command): void {
  stateCommand(program, 'status', 'the host state (UVMs, LUNs used/free, shares, activated layers, CCG instances) and the pending crash journals').action(
    action(async (_io, o: StateOptions) => status(openMachine(o))),
  );
  stateCommand(program, 'release <id>', 'release everything container <id> holds, allocated by a process that has exited (from its crash journal)').action(
    action(async (_io, o: StateOptions, id: string) => release(openMachine(o), id)),
  );
  stateCommand(program, 'recover', 'release what every exited or killed process left allocated (all crash journals whose owner is gone)').action(
    action(async (_io, o: StateOptions) => recoverAll(openMachine(o))),
  );
}
