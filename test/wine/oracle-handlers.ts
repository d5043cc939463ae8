// The server side of the hcsshim oracle's own vmcompute.dll exports
// (standins/vmcompute-hcs.c; the oracle's README "DLL contract"): its fake guest
// connection hands every guest request and guest process to the UVM's model, and
// its step notes mark which phase the calls that follow belong to.

import type { GuestModificationRequest, ProcessParameters } from '../../lib/hcs/schema';
import type { Handlers } from './server';

function parseNote(text: string): Record<string, unknown> {
  const note: unknown = JSON.parse(text);
  if (note === null || typeof note !== 'object' || Array.isArray(note)) throw new Error(`OracleStep: not a JSON object: ${text}`);
  return note as Record<string, unknown>;
}

export const oracleHandlers: Handlers = {
  /** GCS ModifySettings: the same request the package's GuestTransport.guestRequest gets. */
  OracleGuestModify: async (server, [uvmId = '', request = '']) => {
    await server.systemById(uvmId).guestRequest(JSON.parse(request) as GuestModificationRequest);
    return [];
  },
  /** GCS ExecuteProcess, run to its end: stdout, stderr, exit code. */
  OracleGuestExec: async (server, [uvmId = '', params = '']) => {
    const r = await server.systemById(uvmId).exec(JSON.parse(params) as ProcessParameters);
    return [r.stdout, r.stderr, String(r.exitCode)];
  },
  OracleStep: async (server, [text = '']) => {
    const note = parseNote(text);
    // wine resolves the container scratch to its own volume of C: (GetFinalPathNameByHandle).
    if (note.op === 'begin' && typeof note.volumeC === 'string' && note.volumeC !== '') await server.mapVolume(note.volumeC);
    server.steps.push({ note, at: server.host.calls.length });
    server.onStepNote?.(note);
    return [];
  },
};
