// What a journal directory and its files must be before anything in them is believed
// (README.md "Trust"): a recover that believes a planted journal removes what it names.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { JournalError } from '../../errors';
import { makeDirectory } from '../../host/directory';
import type { Host } from '../../host/types';

const POSIX = process.platform !== 'win32';

function mode(m: number): string {
  return '0' + (m & 0o777).toString(8).padStart(3, '0');
}

/**
 * The directory exists (created 0700 when `create`), is a directory (not a link to one),
 * is owned by this user and is not group- or world-writable: anyone else who can write
 * there can plant a journal that recover would act on. Windows has neither owner ids nor
 * mode bits here; its ACLs are the caller's to set.
 */
export function checkDirectory(dir: string, create: boolean): void {
  let st = fs.lstatSync(dir, { throwIfNoEntry: !create });
  if (st === undefined) {
    makeDirectory(dir, 0o700);
    st = fs.lstatSync(dir);
  }
  const refuse = (why: string): never => {
    throw new JournalError(`journal directory ${dir} ${why}; it must be a directory owned by this user, mode 0700`, { op: 'journal.trust', resource: dir });
  };
  if (!st.isDirectory()) refuse(st.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory');
  if (!POSIX) return;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) refuse(`is owned by uid ${st.uid}, not ${uid}`);
  if ((st.mode & 0o022) !== 0) refuse(`is mode ${mode(st.mode)} (group/world-writable)`);
}

/**
 * Open a journal file without following a symbolic link (a planted `x.journal` link would
 * make recover write to, and delete, whatever it points at) and check it is a regular file.
 */
export function openJournalFile(path: string, flags: number): number {
  let fd: number;
  try {
    fd = fs.openSync(path, flags | (POSIX ? fs.constants.O_NOFOLLOW : 0));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ELOOP' ? 'is a symbolic link' : e.message;
    throw new JournalError(`crash journal ${path}: ${why}`, { op: 'journal.open', resource: path, ...(e.code !== undefined && { errno: e.code }), cause: err });
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new JournalError(`crash journal ${path} is not a regular file`, { op: 'journal.open', resource: path });
  }
  return fd;
}

let machine: string | undefined;

/**
 * The host a journal belongs to: a simulated host is its root directory (two roots are two
 * machines); anything else is this machine, by name. recover refuses a journal of another
 * host: what it names there (a UVM id, a layer path) may be something else here.
 */
export function hostIdentity(host: Host): string {
  const root = (host as { root?: unknown }).root;
  if (host.kind === 'simulated' && typeof root === 'string') return `simulated:${root}`;
  machine ??= `machine:${os.hostname().toLowerCase()}`;
  return machine;
}
