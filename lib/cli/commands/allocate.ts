// `wcow-resources allocate <config.json>`: allocateWindowsResources on the host
// (simulated by default off Windows), printing the container root, the container
// document and a per-step timing table built from the trace events. The allocation
// is journaled in the state directory and outlives the process: `release <id>` in
// another process undoes it from that journal (commands/state.ts).

import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { allocateWindowsResources } from '../../allocate';
import { HCS_E_SYSTEM_NOT_FOUND } from '../../hcs/errors';
import { formatHresult, WcowError } from '../../errors';
import type { Host, UtilityVm } from '../../host/types';
import { action } from '../action';
import { commandLine, fields } from '../format';
import { parseMilliseconds } from '../input';
import { checkFree } from '../journals';
import { machineFlags, openMachine, uvmOptionsFor } from '../machine';
import { StepRecorder, stepsTable } from '../steps';
import { checkIsolation, containerCommand, hostInfo, hostLine, loadRootfs, loadSpec, type ContainerOptions } from './spec';

interface AllocateOptions extends ContainerOptions {
  release?: boolean;
  latency?: number;
}

/**
 * `--hyperv`: the UVM `<id>@vm`, created with the spec's annotations — or, when a former run
 * left it (a UVM outlives its containers, as on Windows), opened again, so that the same
 * command can be run twice.
 */
async function openOrCreateUvm(host: Host, uvmId: string, spec: Record<string, unknown>): Promise<{ uvm: UtilityVm; reused: boolean }> {
  try {
    return { uvm: await host.openUtilityVm(uvmId), reused: true };
  } catch (err) {
    if (!(err instanceof WcowError && err.hresult === formatHresult(HCS_E_SYSTEM_NOT_FOUND))) throw err;
  }
  return { uvm: await host.createUtilityVm(uvmOptionsFor(uvmId, spec)), reused: false };
}

export function allocateCommand(program: Command): void {
  containerCommand(
    program,
    'allocate',
    'allocate the container resources of an OCI config.json and print the root, the container document and step timings',
    'hypervisor isolation in a new utility VM <id>@vm (options from the spec annotations)',
  )
    .option('--release', 'release everything again before exiting, and time that too')
    .option('--latency <ms>', 'simulated host: every host call and guest request takes this long (to watch or interrupt an allocation)', parseMilliseconds)
    .action(
      action(async (io, o: AllocateOptions, configPath: string) => {
        checkIsolation(o, 'cli.allocate');
        const machine = openMachine(o);
        const info = hostInfo(machine);
        io.note(hostLine(info));
        const id = o.id ?? randomUUID();
        const releaseWith = (c: string): string => commandLine(['wcow-resources', 'release', c, ...machineFlags(o)]);
        const uvmToUse = o.uvm !== undefined ? { id: o.uvm, option: '--uvm' } : o.hyperv === true ? { id: `${id}@vm`, option: '--hyperv' } : undefined;
        await checkFree(machine.journalDir, id, uvmToUse, releaseWith);
        const loaded = await loadSpec(io, configPath, o.setup === true, machine.simulated);

        let uvm: UtilityVm | undefined;
        let uvmReused = false;
        if (o.uvm !== undefined) uvm = await machine.host.openUtilityVm(o.uvm);
        else if (o.hyperv === true) {
          ({ uvm, reused: uvmReused } = await openOrCreateUvm(machine.host, `${id}@vm`, loaded.raw));
          io.note(
            uvmReused
              ? `reusing utility VM ${uvm.id}, which exists already (remove it with: ${commandLine(['wcow-resources', 'uvm', 'rm', uvm.id, ...machineFlags(o)])})`
              : `created utility VM ${uvm.id}`,
          );
        }

        // The engine traces every call the host receives (host calls in lib/allocate,
        // UVM calls in lib/uvm); the timing table is built from that trace.
        const recorder = new StepRecorder(io.progress);
        const before = machine.simulated?.calls.length ?? 0;
        let steps;
        let allocation;
        let releaseAtMs: number | undefined;
        try {
          allocation = await allocateWindowsResources({ id, spec: loaded.spec, ...(await loadRootfs(o)), host: machine.host, journal: machine.journalDir, ...(uvm === undefined ? {} : { uvm }) });
          if (o.release === true) {
            releaseAtMs = recorder.now();
            await allocation.resources.release();
          }
        } finally {
          steps = recorder.stop();
        }
        const hostCalls = machine.simulated?.calls.slice(before) ?? [];
        const document = allocation.containerDocument();
        const rootPath = allocation.spec.root?.path ?? '';
        const released = o.release === true;

        let text = fields([
          ['container', id],
          ['isolation', uvm === undefined ? 'process' : `hypervisor, in ${uvm.id}`],
          ['root path', rootPath],
          ...(allocation.containerRootInUvm === undefined ? [] : [['root in UVM', allocation.containerRootInUvm] as const]),
          ['state', released ? 'released (--release)' : `allocated; release with: ${releaseWith(id)}`],
          ...(released ? [] : [['journal', allocation.resources.journal?.path ?? ''] as const]),
        ]);
        text += `\ncontainer document (v2 Container fields):\n${JSON.stringify(document, null, 2)}\n`;
        text += `\nsteps and host calls (${steps.length}; ${hostCalls.length} calls received by the host):\n${stepsTable(steps, hostCalls, releaseAtMs)}`;
        return {
          json: {
            host: info,
            ...(loaded.setup === undefined ? {} : { setup: loaded.setup }),
            id,
            uvm: uvm?.id ?? null,
            uvmReused,
            released,
            journal: released ? null : (allocation.resources.journal?.path ?? null),
            releaseWith: released ? null : releaseWith(id),
            rootPath,
            containerRootInUvm: allocation.containerRootInUvm ?? null,
            mappedDirectories: allocation.mappedDirectories,
            containerDocument: document,
            spec: allocation.spec,
            steps,
            hostCalls,
          },
          text,
        };
      }),
    );
}
