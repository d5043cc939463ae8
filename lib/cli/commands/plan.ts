// `wcow-resources plan <config.json>`: validate the spec and list every call
// allocateWindowsResources would make, in order, with its document
// (planWindowsResources rehearses the allocation). Nothing is sent: the host calls made
// while planning are reported (reads only) so that this can be checked.

import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { planWindowsResources } from '../../allocate';
import { InvalidArgumentError } from '../../errors';
import type { UtilityVm } from '../../host/types';
import { action } from '../action';
import { table } from '../format';
import { openMachine, scratchSimulatedHost, uvmOptionsFor, type Machine } from '../machine';
import { STATE_CHANGING_APIS } from '../../host/simulated/calls';
import { checkIsolation, containerCommand, loadRootfs, hostInfo, hostLine, loadSpec, type ContainerOptions } from './spec';

type PlanOptions = ContainerOptions;

/**
 * The UVM to plan against. `--uvm` opens an existing one (a read). `--hyperv` models a
 * fresh `<id>@vm` on a simulated host that lives only in this process, sharing the
 * drives: planning must not create a compute system on the host the user addresses.
 */
async function planningUvm(machine: Machine, o: PlanOptions, id: string, spec: Record<string, unknown>): Promise<{ machine: Machine; uvm?: UtilityVm; uvmId?: string }> {
  if (o.uvm !== undefined) return { machine, uvm: await machine.host.openUtilityVm(o.uvm), uvmId: o.uvm };
  if (o.hyperv !== true) return { machine };
  if (machine.simulated === undefined) {
    throw new InvalidArgumentError('plan --hyperv cannot model a new utility VM on the native host: pass --uvm <id> of an existing one', { op: 'cli.plan' });
  }
  const scratch = scratchSimulatedHost({ root: machine.simulated.root });
  // Physical drives are host state, not files: the model must know the same ones.
  for (const n of machine.simulated.snapshot().physicalDrives) scratch.addPhysicalDrive(n);
  const uvmId = `${id}@vm`;
  const uvm = await scratch.createUtilityVm(uvmOptionsFor(uvmId, spec));
  scratch.clearCalls();
  return { machine: { ...machine, host: scratch, simulated: scratch }, uvm, uvmId };
}

export function planCommand(program: Command): void {
  containerCommand(
    program,
    'plan',
    'validate an OCI config.json and print every call and document allocation would send, in order (no side effects)',
    'plan for hypervisor isolation in a new utility VM <id>@vm (modelled, not created)',
  ).action(
      action(async (io, o: PlanOptions, configPath: string) => {
        checkIsolation(o, 'cli.plan');
        const addressed = openMachine(o);
        const loaded = await loadSpec(io, configPath, o.setup === true, addressed.simulated);
        const id = o.id ?? randomUUID();
        const { machine, uvm, uvmId } = await planningUvm(addressed, o, id, loaded.raw);
        const before = machine.simulated?.calls.length ?? 0;
        const rootfs = await loadRootfs(o);
        const plan = await planWindowsResources({ id, spec: loaded.spec, ...rootfs, host: machine.host, ...(uvm === undefined ? {} : { uvm }) });
        const hostCalls = machine.simulated?.calls.slice(before) ?? [];

        const info = hostInfo(addressed);
        const where = uvmId === undefined ? '' : ` in ${uvmId}${o.hyperv === true ? ' (new, modelled)' : ''}`;
        // What changes state; the reads in between (NameToGuid, ResolvePath, …) are in the JSON plan.
        const calls = plan.calls.filter((c) => STATE_CHANGING_APIS.has(c.api));
        let text = hostLine(info);
        for (const w of plan.warnings) io.note(`warning: ${w.path}: ${w.message}`);
        text += `plan for container ${plan.id}: ${plan.isolation}-isolated${where}, schema ${plan.schemaVersion.major}.${plan.schemaVersion.minor}, ${calls.length} state-changing calls\n\n`;
        text += table(
          [{ header: '#', align: 'right' }, { header: 'step' }, { header: 'api' }, { header: 'target' }, { header: 'resource' }],
          calls.map((c, i) => [String(i + 1), c.op, c.api, c.target ?? '', c.resource ?? '']),
        );
        text += `\ndocuments allocate would send:\n`;
        text += calls
          .map((c, i) => {
            const body = c.document ?? c.args;
            const aside = c.withheld !== undefined ? ` (document withheld: ${c.withheld})` : c.note !== undefined ? ` (${c.note})` : '';
            return `#${i + 1} ${c.api} ${c.target ?? ''}${aside}\n${body === undefined ? '' : JSON.stringify(body, null, 2) + '\n'}`;
          })
          .join('');
        if (plan.warnings.length > 0) text += `\nwarnings:\n${plan.warnings.map((w) => `  ${w.path}: ${w.message}\n`).join('')}`;
        const mutating = hostCalls.filter((c) => c.mutating);
        text += `\nhost calls while planning: ${hostCalls.length} (${mutating.length} changing state)\n`;
        return {
          json: {
            host: info,
            ...(loaded.setup === undefined ? {} : { setup: loaded.setup }),
            uvm: uvmId ?? null,
            plan,
            calls,
            warnings: plan.warnings,
            hostCalls,
          },
          text,
        };
      }),
    );
}
