// Exit codes and error reporting of the command-line tool. A script that drives
// the CLI branches on the exit code, a person reads the error line and its hint;
// both are decided here, in one place, from the error's stable `code`.

import { CommanderError } from 'commander';
import { asWcowError, type WcowError, type WcowErrorCode } from '../errors';

/** The documented exit codes (lib/cli/README.md, `wcow-resources --help`). */
export const ExitCode = {
  /** The command did what it was asked. */
  OK: 0,
  /** The operation was attempted and failed (HCS, guest, I/O, release, …). */
  FAILED: 1,
  /** The command line itself is wrong: unknown command or option, missing argument, bad value. */
  USAGE: 2,
  /** The input was rejected before any side effect: invalid spec, mount, argument or config file. */
  INVALID_INPUT: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

// The codes that mean "what you gave me is wrong" rather than "what I tried failed":
// validation runs before the first side effect (docs/differences.md#difference-1), so these
// leave the host untouched and retrying without changing the input is pointless.
const INPUT_CODES: ReadonlySet<WcowErrorCode> = new Set<WcowErrorCode>([
  'ERR_INVALID_SPEC',
  'ERR_INVALID_MOUNT',
  'ERR_UNSUPPORTED_MOUNT_TYPE',
  'ERR_INVALID_ARGUMENT',
]);

/** One line of advice per code, printed under the error (a Record so a new code cannot be forgotten). */
const HINTS: Record<WcowErrorCode, string> = {
  ERR_INVALID_SPEC: 'the OCI config.json is malformed or incomplete: fix the field the message names (its path is the error\'s resource, --json)',
  ERR_INVALID_MOUNT: 'each mount needs a source and a destination; check the mount named in the message',
  ERR_UNSUPPORTED_MOUNT_TYPE: "WCOW mounts take type '' (directory, file, pipe, sandbox://), physical-disk, virtual-disk or extensible-virtual-disk",
  ERR_INVALID_ARGUMENT: 'check the command-line arguments and the paths they name',
  ERR_SCSI_NO_SLOT: 'the utility VM has 64 LUNs on its one SCSI controller and LUN 0 is its scratch; release containers or disk mounts, or use another UVM',
  ERR_WRITABLE_SHARE_DENIED: 'the utility VM was created with writable file shares disabled; mount the directory read-only (options ["ro"])',
  ERR_OPERATION_DENIED: 'the host or the utility VM refused the operation by policy',
  ERR_HCS: 'the Host Compute Service failed the call; the HRESULT and HCS result document are in the details (--json)',
  ERR_GUEST: 'a request to the utility VM guest, or a process in it, failed; see the exit code and output in the message',
  ERR_NOT_FOUND: 'the named container, utility VM or share does not exist; `wcow-resources status` lists the containers and UVMs there are',
  ERR_ALREADY_EXISTS: 'the name is taken; pick another id or release the existing one first',
  ERR_PLATFORM_UNSUPPORTED: 'the native Host Compute Service exists only on Windows; elsewhere the simulated host is used',
  ERR_NATIVE_MISSING: 'run `npm rebuild wcow-resources` in the project that installed it (installs with --ignore-scripts skip the build)',
  ERR_RELEASE: 'release ran to the end but some steps failed; each failure is listed, the rest was released',
  ERR_ABORTED: 'the operation was cancelled before it finished; what it had acquired was released',
  ERR_VHDX_EXISTS: 'the target file already exists; choose another path or delete it first',
  ERR_VHDX_CORRUPT: 'the file is not a valid VHDX (bad signature, checksum or region table); `vhdx inspect` shows what was read',
  ERR_IO: 'a file-system operation failed; check the path, free space and permissions',
  ERR_JOURNAL: 'the crash journal (in --state-dir) could not be used; the message says why',
  ERR_INTERNAL: 'this is a bug in wcow-resources; please report it with the command line and --json output',
};

/**
 * The hint for one error: where the failing step tells more than the code (a path missing on
 * the host, a spec that asks for a UVM, a taken scratch), the fix for that; else the code's.
 */
export function hintFor(err: WcowError): string {
  if (err.op === 'preflight' && err.code === 'ERR_NOT_FOUND') {
    return 'create it on the host or correct the path in config.json (for an example, --setup creates what its setup.json lists); `plan` checks every path without side effects';
  }
  if (err.op === 'preflight' && err.code === 'ERR_ALREADY_EXISTS') {
    return err.message.startsWith('scratch folder')
      ? 'give this container a scratch folder of its own (the last entry of windows.layerFolders), or release the container the message names first'
      : 'use another --id, or release the container with that id first (`wcow-resources status` lists them)';
  }
  if (err.code === 'ERR_INVALID_SPEC' && err.resource === 'Spec.Windows.HyperV') {
    return 'the spec asks for hypervisor isolation (windows.hyperv): add --hyperv (a new utility VM <id>@vm) or --uvm <id>, or remove windows.hyperv for process isolation';
  }
  if (err.code === 'ERR_INVALID_SPEC' && err.message.startsWith('invalid OCI spec - unknown key')) {
    return "rename the key as the message says: config.json's keys are the OCI runtime-spec's lowerCamel names, and they are case-sensitive";
  }
  return HINTS[err.code];
}

export function exitCodeFor(err: WcowError): ExitCode {
  return INPUT_CODES.has(err.code) ? ExitCode.INVALID_INPUT : ExitCode.FAILED;
}

/** Where a failed command writes: stderr always gets the human lines, stdout the JSON document under --json. */
export interface ErrorSink {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * Report a failure: `error ERR_CODE: message` and `hint: …` on stderr; under --json
 * also `{"error": {...}}` on stdout, so a machine reading stdout always gets one document.
 */
export function reportError(thrown: unknown, json: boolean, sink: ErrorSink): ExitCode {
  const err = asWcowError(thrown);
  sink.stderr(`error ${err.code}: ${err.message}\n`);
  const nested = (err as { errors?: unknown }).errors;
  if (Array.isArray(nested)) {
    for (const e of nested) sink.stderr(`  - ${e instanceof Error ? e.message : String(e)}\n`);
  }
  sink.stderr(`hint: ${hintFor(err)}\n`);
  if (json) sink.stdout(JSON.stringify({ error: err.toJSON() }, null, 2) + '\n');
  return exitCodeFor(err);
}

/** Commander's own exits: help and version are success, everything else is a usage error. */
export function exitCodeForCommander(err: CommanderError): ExitCode {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
    return ExitCode.OK;
  }
  return ExitCode.USAGE;
}
