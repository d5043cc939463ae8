// Who owns a journal: the process id plus something that tells a live process from a later
// one that got the same pid. recover() never touches a journal whose owner still runs.

import * as fs from 'node:fs';

export interface Owner {
  pid: number;
  /**
   * Linux: the process start time in clock ticks since boot (/proc/<pid>/stat field 22),
   * which a reused pid does not share. Elsewhere undefined: only the pid is compared.
   */
  start?: string;
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
function startTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

let self: Owner | undefined;

export function currentOwner(): Owner {
  if (self === undefined) {
    const start = startTime(process.pid);
    self = start === undefined ? { pid: process.pid } : { pid: process.pid, start };
  }
  return self;
}

/** Whether the owner's process still runs: the pid exists (EPERM means it does) and started when recorded. */
export function isAlive(o: Owner): boolean {
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (o.start === undefined) return true;
  const now = startTime(o.pid);
  return now === undefined || now === o.start;
}
