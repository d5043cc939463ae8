// `status`, `release <id>` and `recover`: the commands that look at, or undo,
// what earlier processes allocated.
//
// They need two pieces the engine does not have yet: the simulated host's state
// persisted in a state directory (SimulatedHost `stateDir`), and the crash journal
// (allocateWindowsResources `journal`, `recover()`). Until both exist an allocation
// lives exactly as long as the process that made it, so `release` and `recover`
// fail with ERR_JOURNAL and say so, and `status` shows this process's host.

import type { Command } from 'commander';
import { JournalError } from '../../errors';
import type { HostSnapshot } from '../../host/simulated';
import { action, type JsonOption } from '../action';
import { table } from '../format';
import { openMachine } from '../machine';
import { hostInfo, hostLine } from './spec';

/** LUNs per SCSI controller of a WCOW UVM (one controller; LUN 0 is the UVM scratch). */
const LUNS = 64;

interface StateOptions extends JsonOption {
  root?: string;
  stateDir?: string;
}

const CROSS_PROCESS =
  'the crash journal and persistent simulated host state are not in this build yet: an allocation lives only as ' +
  'long as the process that made it, so there is nothing to %s (use `allocate --release` to release in the same process)';

function crossProcessUnavailable(op: string, verb: string, resource?: string): JournalError {
  return new JournalError(CROSS_PROCESS.replace('%s', verb), { op, ...(resource === undefined ? {} : { resource }) });
}

function statusText(s: HostSnapshot): string {
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
  text += `\nactivated layers: ${s.layers.length}\n`;
  if (s.layers.length > 0) {
    text += table(
      [{ header: 'path' }, { header: 'activations', align: 'right' }, { header: 'prepared' }],
      s.layers.map((l) => [l.path, String(l.activations), l.prepared ? 'yes' : 'no']),
    );
  }
  text += `\nCCG instances: ${s.ccgInstances.length}\n`;
  if (s.ccgInstances.length > 0) text += table([{ header: 'id' }, { header: 'transport' }], s.ccgInstances.map((c) => [c.id, c.transport]));
  return text;
}

export function stateCommands(program: Command): void {
  program
    .command('status')
    .description('live state of the simulated host: UVMs, LUNs used/free, shares, activated layers, CCG instances, pending journals')
    .option('--root <dir>', 'simulated host: the directory holding its drives')
    .option('--state-dir <dir>', 'where host state and crash journals are kept (not in this build yet)')
    .option('--json', 'print one JSON document')
    .action(
      action(async (_io, o: StateOptions) => {
        const machine = openMachine(o.root === undefined ? {} : { root: o.root });
        const info = hostInfo(machine);
        if (machine.simulated === undefined) {
          // The native host has no snapshot: HCS is asked per compute system, not as a whole.
          return { json: { host: info, snapshot: null, journals: null }, text: hostLine(info) + 'status lists the simulated host only\n' };
        }
        const snapshot = machine.simulated.snapshot();
        const scope = 'state: this process only (no persistent host state or crash journals in this build yet)\n';
        return {
          json: { host: info, persistent: false, snapshot, journals: null },
          text: hostLine(info) + scope + '\n' + statusText(snapshot) + '\npending journals: none kept (not in this build yet)\n',
        };
      }),
    );

  program
    .command('release <id>')
    .description("release everything container <id> holds (from its crash journal)")
    .option('--root <dir>', 'simulated host: the directory holding its drives')
    .option('--state-dir <dir>', 'where host state and crash journals are kept')
    .option('--json', 'print one JSON document')
    .action(
      action(async (_io, _o: StateOptions, id: string) => {
        throw crossProcessUnavailable('cli.release', 'release', id);
      }),
    );

  program
    .command('recover')
    .description('release what killed processes left allocated (every pending crash journal)')
    .option('--root <dir>', 'simulated host: the directory holding its drives')
    .option('--state-dir <dir>', 'where host state and crash journals are kept')
    .option('--json', 'print one JSON document')
    .action(
      action(async () => {
        throw crossProcessUnavailable('cli.recover', 'recover');
      }),
    );
}
