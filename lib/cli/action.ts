// The frame every command runs in: one result printed either as text or as one
// JSON document, failures reported with their exit code (exit.ts). Commands
// return what to print; none of them writes to the terminal or exits itself. Everything
// printed goes through the credential-spec redaction (lib/credentials/redact.ts).

import { redactText, secretReplacer } from '../credentials/redact';
import { ExitCode, reportError } from './exit';
import { Progress } from './progress';

export interface CommandOutput {
  /** The `--json` document (one per invocation, on stdout). */
  json: unknown;
  /** The human-readable rendering. */
  text: string;
}

export interface CommandIo {
  json: boolean;
  progress: Progress;
  /** A side note (stderr in human mode, so stdout stays the result; dropped under --json). */
  note(text: string): void;
}

export interface JsonOption {
  json?: boolean;
}

/** Sets process.exitCode rather than exiting, so that pending output is flushed first. */
export function action<A extends unknown[], O extends JsonOption>(
  run: (io: CommandIo, options: O, ...args: A) => Promise<CommandOutput>,
): (...args: [...A, O, unknown]) => Promise<void> {
  return async (...all) => {
    // commander passes the positional arguments, then the options, then the Command.
    const options = all[all.length - 2] as O;
    const args = all.slice(0, -2) as A;
    const json = options.json === true;
    const progress = new Progress(process.stderr);
    const io: CommandIo = {
      json,
      progress,
      note: (text) => {
        if (!json) process.stderr.write(redactText(text.endsWith('\n') ? text : text + '\n'));
      },
    };
    try {
      const out = await run(io, options, ...args);
      progress.stop();
      process.stdout.write(json ? JSON.stringify(out.json, jsonReplacer, 2) + '\n' : redactText(out.text));
      process.exitCode = ExitCode.OK;
    } catch (err) {
      progress.stop();
      process.exitCode = reportError(err, json, {
        stdout: (t) => process.stdout.write(redactText(t)),
        stderr: (t) => process.stderr.write(redactText(t)),
      });
    }
  };
}

/**
 * bigint (VHDX sizes, sandbox sizes) as a JSON number when exact, else a string; credential
 * specs redacted (the container document, the spec and the host calls all carry them).
 */
function jsonReplacer(key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  return typeof value === 'string' ? redactText(secretReplacer(key, value) as string) : secretReplacer(key, value);
}
