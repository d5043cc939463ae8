// What the commands share: the config file and `--setup` (plan, allocate), the
// options that address the machine, and the description of the host they ran on.

import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors';
import type { SimulatedHost } from '../../host/simulated';
import type { RootfsMount } from '../../layers';
import type { OciSpec } from '../../oci/types';
import type { CommandIo, JsonOption } from '../action';
import { fields } from '../format';
import { readJsonObject } from '../input';
import { readSetupManifest, setupMachine, type Machine, type SetupAction } from '../machine';

export interface HostInfo {
  kind: 'simulated' | 'native';
  /** The simulated drives' real directory. */
  root?: string;
  /** Crash journals, and the simulated host's HCS state. */
  stateDir: string;
}

export function hostInfo(machine: Machine): HostInfo {
  const { stateDir } = machine;
  return machine.simulated === undefined ? { kind: machine.host.kind, stateDir } : { kind: 'simulated', root: machine.simulated.root, stateDir };
}

export function hostLine(info: HostInfo): string {
  return info.root === undefined
    ? `host: ${info.kind}, journals in ${info.stateDir}\n`
    : `host: simulated, drives in ${info.root}, state in ${info.stateDir}\n`;
}

export interface LoadedSpec {
  /** The config as read; the engine validates it (exit 3 with ERR_INVALID_SPEC when it is not a spec). */
  spec: OciSpec;
  raw: Record<string, unknown>;
  setup?: SetupAction[];
}

/** Read the config and, with `--setup`, prepare the simulated machine for it. */
export async function loadSpec(io: CommandIo, configPath: string, setup: boolean, simulated: SimulatedHost | undefined): Promise<LoadedSpec> {
  const raw = await readJsonObject(configPath, 'OCI config');
  const loaded: LoadedSpec = { spec: raw as OciSpec, raw };
  if (!setup) return loaded;
  if (simulated === undefined) {
    io.note('--setup ignored: it prepares the simulated host only');
    return loaded;
  }
  loaded.setup = await setupMachine(simulated, raw, await readSetupManifest(configPath));
  const made = loaded.setup.filter((a) => a.created);
  io.note(`setup: ${made.length} created, ${loaded.setup.length - made.length} already there`);
  if (made.length > 0 && !io.json) io.note(fields(made.map((a) => [a.kind, a.path] as const)).trimEnd().replace(/^/gm, '  '));
  return loaded;
}

export const ROOT_HELP = 'simulated host: the directory holding its drives (default: see README)';
export const STATE_DIR_HELP = 'where the crash journals and the simulated host state are kept (default: <root>.state)';

/** The options `plan` and `allocate` share. */
export interface ContainerOptions extends JsonOption {
  id?: string;
  hyperv?: boolean;
  uvm?: string;
  root?: string;
  stateDir?: string;
  setup?: boolean;
  rootfs?: string;
  snapshotLabel?: string[];
}

/**
 * `--rootfs <mounts.json>`: containerd's rootfs mounts, `{ "rootfs": [{ type, source, options }] }`
 * as in CreateTaskRequest; `--snapshot-label k=v`: the snapshot labels that size the scratch.
 * The engine checks and parses both (lib/layers/rootfs.ts, labels.ts).
 */
export async function loadRootfs(o: ContainerOptions): Promise<{ rootfs?: RootfsMount[]; snapshotLabels?: Record<string, string> }> {
  const labels = o.snapshotLabel === undefined ? {} : { snapshotLabels: Object.fromEntries(o.snapshotLabel.map(labelPair)) };
  if (o.rootfs === undefined) return labels;
  return { rootfs: (await readJsonObject(o.rootfs, 'rootfs mounts')).rootfs as RootfsMount[], ...labels };
}

/** `key=value`, split at the first `=` (a value may hold more). */
function labelPair(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`--snapshot-label ${text}: expected <key>=<value>`, { op: 'cli.input', resource: text });
  return [text.slice(0, at), text.slice(at + 1)];
}

/** `<name> <config>` with the options every container command takes; `hyperv` words the --hyperv help. */
export function containerCommand(program: Command, name: string, description: string, hyperv: string): Command {
  return program
    .command(`${name} <config>`)
    .description(description)
    .option('--id <id>', 'container id (default: a random GUID, as hcsshim)')
    .option('--hyperv', hyperv)
    .option('--uvm <id>', 'hypervisor isolation in this existing utility VM')
    .option('--root <dir>', ROOT_HELP)
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .option('--setup', 'simulated host: first create the files the example needs (its setup.json)')
    .option('--rootfs <mounts.json>', "containerd 2.x rootfs mounts ({ rootfs: [...] }) instead of the spec's windows.layerFolders")
    .option(
      '--snapshot-label <key=value>',
      'a containerd snapshot label, repeatable: containerd.io/snapshot/windows/rootfs.sizebytes=<bytes> expands a scratch created here',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--json', 'print one JSON document');
}

export function checkIsolation(o: ContainerOptions, op: string): void {
  if (o.hyperv === true && o.uvm !== undefined) throw new InvalidArgumentError('--hyperv and --uvm exclude each other', { op });
}
