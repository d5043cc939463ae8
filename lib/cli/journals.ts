// The crash journals of a state directory as the commands see them: one per container
// that a process allocated and has not released. A CLI allocation ends with its process,
// so its journal's owner is dead from then on, and the journal is the only record of
// what the container holds (lib/resources/journal/README.md).

import { InvalidArgumentError, asWcowError } from '../errors';
import { checkJournaledId } from '../preflight';
import { isAlive, listJournals, readJournal, type Undo } from '../resources/journal';
import { describeUndo } from '../resources/journal/undo';

export interface PendingJournal {
  path: string;
  /** The container id; '' for a journal killed before its owner record, or unreadable. */
  id: string;
  pid: number;
  /** The owner process still runs. */
  alive: boolean;
  /** The owner gave up on it (a failed rollback): recover may take over although it runs. */
  abandoned: boolean;
  /** Resources it still holds. */
  held: number;
  /** What recover would undo for it, as recover reports it: op and resource (the undo itself in `undo`). */
  holds: { op: Undo['op']; resource: string; undo: Undo }[];
  /** The utility VMs those resources are in. */
  uvms: string[];
  /** Why it could not be read back (recover reports it as corrupt and keeps it). */
  error?: string;
}

/** Every journal in `dir`, oldest name first; none when the directory does not exist yet. */
export async function pendingJournals(dir: string): Promise<PendingJournal[]> {
  return listJournals(dir).journals.map((file) => {
    try {
      const j = readJournal(file);
      const uvms = new Set(j.held.flatMap((h) => ('uvmId' in h.undo ? [h.undo.uvmId] : [])));
      const holds = j.held.map((h) => ({ op: h.undo.op, resource: describeUndo(h.undo), undo: h.undo }));
      return { path: file, id: j.id, pid: j.owner.pid, alive: isAlive(j.owner), abandoned: j.abandoned, held: j.held.length, holds, uvms: [...uvms].sort() };
    } catch (err) {
      return { path: file, id: '', pid: 0, alive: false, abandoned: false, held: 0, holds: [], uvms: [], error: asWcowError(err).message };
    }
  });
}

/** Whether recover and release must leave the journal alone: its owner runs and still answers for it. */
export function isLive(j: PendingJournal): boolean {
  return j.alive && !j.abandoned;
}

/**
 * What a new allocation must not collide with, checked before any side effect:
 * - its id: a second allocation under a pending one's id would make `release <id>` ambiguous;
 * - with `--uvm` (or the `<id>@vm` that `--hyperv` reuses), a UVM that holds another process's container: the SCSI slots, share
 *   names and container counters of a UVM are the bookkeeping of the process that filled
 *   it (lib/uvm, as hcsshim's are the shim's), so a new process would pick names that are
 *   taken and fail half-way.
 */
export async function checkFree(dir: string, id: string, uvm: { id: string; option: string } | undefined, releaseWith: (id: string) => string): Promise<void> {
  const uvmId = uvm?.id;
  await checkJournaledId(dir, id, releaseWith(id));
  const user = uvmId === undefined ? undefined : (await pendingJournals(dir)).find((j) => j.uvms.includes(uvmId));
  if (user !== undefined) {
    throw new InvalidArgumentError(
      `${uvm?.option} ${uvmId}: container '${user.id}' of process ${user.pid} is allocated in it, and the UVM's slots and share names are that ` +
        `process's bookkeeping; release it first (${releaseWith(user.id)}) or use another UVM`,
      { op: 'cli.allocate', resource: uvmId },
    );
  }
}
