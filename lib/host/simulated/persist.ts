// SimulatedHost({ stateDir }): the model's state on disk, so that a second process sees what
// a first one — killed or not — left in HCS, as the real service outlives its clients. The
// whole state (host.toJSON()) is written after every state change: to a temporary file, then
// renamed over `host-state.json`, so a reader (or a process killed mid-write) never sees half
// of it. The write is synchronous: nothing else runs between a call's change and its write.
//
// One process changes the state at a time: each process loads the state when its host is
// constructed and does not merge what another process writes later (the tests hand the
// machine from one process to the next).

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { secretReplacer } from '../../credentials/redact';
import type { HostState } from './state';

const STATE_FILE = 'host-state.json';

export interface Persistence {
  /** The persisted state, if any. */
  loaded: HostState | undefined;
  save(state: HostState): void;
}

export function persistence(stateDir: string): Persistence {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = nodePath.join(stateDir, STATE_FILE);
  const tmp = nodePath.join(stateDir, `${STATE_FILE}.${process.pid}.tmp`);
  let loaded: HostState | undefined;
  try {
    loaded = JSON.parse(fs.readFileSync(file, 'utf8')) as HostState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return {
    loaded,
    save(state) {
      // The model keeps CCG instances' specs in memory only (lib/credentials/redact.ts).
      fs.writeFileSync(tmp, JSON.stringify(state, secretReplacer), { mode: 0o600 });
      fs.renameSync(tmp, file);
    },
  };
}
