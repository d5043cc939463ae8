// What the CLI reads from its arguments: OCI config files and sizes. The spec's
// content is validated by the engine (planWindowsResources); here only what the
// engine cannot see: whether the file exists and is a JSON object at all.

import { promises as fsp } from 'node:fs';
import { InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { InvalidArgumentError, InvalidSpecError } from '../errors';

/** Read `path` as a JSON object: a missing file is a bad argument, bad JSON a bad spec (both exit 3). */
export async function readJsonObject(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(`cannot read ${what} ${path}: ${(err as Error).message}`, {
      op: 'cli.read',
      resource: path,
      ...(errno === undefined ? {} : { errno }),
      cause: err,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidSpecError(`invalid OCI spec - ${path} is not valid JSON: ${(err as Error).message}`, {
      op: 'cli.read',
      resource: path,
      cause: err,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidSpecError(`invalid OCI spec - ${path} must hold a JSON object`, { op: 'cli.read', resource: path });
  }
  return value as Record<string, unknown>;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|K|M|G|T)?$/i;
const FACTORS: Record<string, number> = { b: 1, k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tib: 2 ** 40 };

/**
 * `N[B|KiB|MiB|GiB|TiB]` (K/M/G/T accepted; binary units, as Hyper-V counts disk
 * sizes) to bytes. A commander argument parser: a bad value is a usage error (exit 2).
 */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new CommanderInvalidArgument(`expected a size like 1GiB, 512MiB or 1048576, got '${text}'`);
  const bytes = Number(m[1]) * (FACTORS[(m[2] ?? 'b').toLowerCase()] as number);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new CommanderInvalidArgument(`size '${text}' is not a positive whole number of bytes`);
  }
  return bytes;
}

/** A whole number of milliseconds, 0 or more. A commander argument parser: a bad value is a usage error (exit 2). */
export function parseMilliseconds(text: string): number {
  const ms = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(ms)) throw new CommanderInvalidArgument(`expected a whole number of milliseconds, got '${text}'`);
  return ms;
}
