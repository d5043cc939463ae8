// The `wcow-resources` command tree (commander). Each command lives in
// commands/<name>.ts and runs inside action.ts; this file wires them together
// and turns commander's own failures into the usage exit code.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../native';
import { allocateCommand } from './commands/allocate';
import { planCommand } from './commands/plan';
import { stateCommands } from './commands/state';
import { vhdxCommand } from './commands/vhdx';
import { ExitCode, exitCodeForCommander } from './exit';

const EXIT_CODES_HELP = `
Across processes: an allocation outlives the command that made it. The state directory
(--state-dir, default <root>.state beside the simulated drives) keeps the simulated host's
HCS state and one crash journal per allocated container; in a later process
"release <id>" undoes a container from its journal, "recover" undoes whatever exited or
killed processes left, and "status" shows the host and the pending journals.

Exit codes:
  0  success
  1  the operation failed (HCS, guest, I/O, release; see "error ERR_CODE: …" on stderr)
  2  usage error (ERR_USAGE: unknown command or option, missing argument, bad value)
  3  invalid input, rejected before any side effect (ERR_INVALID_SPEC, ERR_INVALID_MOUNT,
     ERR_UNSUPPORTED_MOUNT_TYPE, ERR_INVALID_ARGUMENT; unreadable or non-JSON config file)

Output: human-readable by default; --json prints one JSON document on stdout (on failure
{"error": {"code", "message", …}}). Errors go to stderr as "error ERR_CODE: message" and a hint.`;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('wcow-resources')
    .description(
      'Allocate and release the resources of a Windows container (WCOW) on the Host Compute Service from an OCI ' +
        'runtime spec. On Windows the native HCS is used; elsewhere an embedded simulated host.',
    )
    .version(version())
    .showHelpAfterError('hint: run the command with --help for its usage')
    // Usage errors read like every other error: `error CODE: message`.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'error ERR_USAGE: ')) })
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride();
  // Subcommands made with .command() inherit exitOverride and showHelpAfterError.
  planCommand(program);
  allocateCommand(program);
  stateCommands(program);
  vhdxCommand(program);
  return program;
}

/** Parse and run; resolves to the exit code (action.ts sets it for commands that ran). */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return exitCodeForCommander(err);
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
}
