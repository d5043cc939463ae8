// Creating a directory and its missing parents one level at a time. Node's recursive
// mkdir loops forever, at 100% CPU, when mkdir answers ENOENT for a parent that exists
// (`/proc/1/x`), and it is what a state or journal directory was made with; here each
// level is one mkdir, so every failure is reported once, with its errno.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { InvalidArgumentError, asWcowError } from '../errors';

/** mkdir -p that always ends: throws the errno error of the first level that cannot be made. */
export function makeDirectory(dir: string, mode: number): void {
  const missing: string[] = [];
  for (let d = nodePath.resolve(dir); ; d = nodePath.dirname(d)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    if (stat !== undefined) {
      if (!stat.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.push(d);
    if (nodePath.dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** The state directory of a host, made before anything is written there (ERR_INVALID_ARGUMENT when it cannot be). */
export function makeStateDirectory(dir: string): void {
  try {
    makeDirectory(dir, 0o700);
  } catch (err) {
    const e = asWcowError(err);
    throw new InvalidArgumentError(`the state directory ${dir} cannot be created: ${e.message}`, {
      op: 'host.stateDir',
      resource: dir,
      ...(e.errno === undefined ? {} : { errno: e.errno }),
      cause: err,
    });
  }
}
