// How the simulated host fails: the model throws a `Rejection` (an HRESULT and
// what was wrong), and the API that received the call turns it into the error its
// real counterpart produces, through lib/hcs/errors.ts so that it reads exactly
// like the native host's:
// - compute-system and service calls: `hcs::System::Modify pod1@vm: <text>` with
//   the HCS result document `{Error, ErrorMessage, ErrorEvents}` (
//   docs/behaviour.md#hcs-calls-and-their-errors; hcs/errors.go);
// - vmcompute calls: `hcsshim::PrepareLayer failed in Win32: <text> (0x<code>)`
//   (docs/layers.md#creating-the-scratch), with hcsshim's titles (`CreateSandboxLayer` reports as
//   `hcsshim::CreateScratchLayer`, `DeactivateLayer` as `hcsshim::DeactivateLayer-
//   failed`, docs/layers.md#layers-on-the-host);
// - guest requests and processes: the GCS bridge's `guest RPC failure: <message>`
//   (hcsshim internal/gcs rpcError).
// The wording per API lives in lib/hcs/errors.ts `apiFailure`, shared with the native host.

import type { HcsResultDocument, WcowError } from '../../errors';
import { apiFailure } from '../../hcs/errors';

/** The model refused a call: the HRESULT the real service returns and why. */
export class Rejection extends Error {
  constructor(
    readonly hresult: number,
    readonly detail: string,
    readonly result?: HcsResultDocument,
  ) {
    super(detail);
  }
}

/** The error `api` reports for a rejected call addressed to `target`. */
export function errorFor(api: string, target: string | undefined, r: Rejection): WcowError {
  return apiFailure(api, target, r.hresult, r.detail, r.result);
}
