// How the simulated host fails: the model throws a `Rejection` (an HRESULT and
// what was wrong), and the API that received the call turns it into the error its
// real counterpart produces, through lib/hcs/errors.ts so that it reads exactly
// like the native host's:
// - compute-system and service calls: `hcs::System::Modify pod1@vm: <text>` with
//   the HCS result document `{Error, ErrorMessage, ErrorEvents}` (layers-scratch
//   Appendix B; hcs/errors.go);
// - vmcompute calls: `hcsshim::PrepareLayer failed in Win32: <text> (0x<code>)`
//   (layers-scratch §2.1), with hcsshim's titles (`CreateSandboxLayer` reports as
//   `hcsshim::CreateScratchLayer`, `DeactivateLayer` as `hcsshim::DeactivateLayer-
//   failed`, §3.2);
// - guest requests and processes: the GCS bridge's `guest RPC failure: <message>`
//   (hcsshim internal/gcs rpcError).

import { GuestError, IoError, NotFoundError, formatHresult, type HcsResultDocument, type WcowError } from '../../errors';
import { ERROR_FILE_NOT_FOUND_HR, hcsOperationError, hresultText, vmcomputeError } from '../../hcs/errors';

export const ERROR_PATH_NOT_FOUND_HR = 0x80070003 | 0;
export const E_ACCESSDENIED = 0x80070005 | 0;
export const E_HANDLE = 0x80070006 | 0;
export const ERROR_SHARING_VIOLATION_HR = 0x80070020 | 0;
export const ERROR_FILE_EXISTS_HR = 0x80070050 | 0;
export const ERROR_ALREADY_EXISTS_HR = 0x800700b7 | 0;
/** hcsshim ErrElementNotFound: what HCS answers for a resource that is not there. */
export const ERROR_NOT_FOUND_HR = 0x80070490 | 0;

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

/** HCS operation names (hcsshim's SystemError / HcsError `Op`) of the compute-system and service APIs. */
const hcsOps: Record<string, string> = {
  HcsModifyComputeSystem: 'hcs::System::Modify',
  HcsCreateComputeSystem: 'hcs::CreateComputeSystem',
  HcsOpenComputeSystem: 'hcs::OpenComputeSystem',
  HcsCloseComputeSystem: 'hcs::System::Close',
  HcsModifyServiceSettings: 'hcs::ModifyServiceSettings',
  HcsGetServiceProperties: 'hcs::GetServiceProperties',
};

/** hcsshim's hcserror titles of the vmcompute calls. */
const vmcomputeTitles: Record<string, string> = {
  NameToGuid: 'hcsshim::NameToGuid',
  CreateSandboxLayer: 'hcsshim::CreateScratchLayer',
  ExpandSandboxSize: 'hcsshim::ExpandSandboxSize',
  ActivateLayer: 'hcsshim::ActivateLayer',
  DeactivateLayer: 'hcsshim::DeactivateLayer- failed',
  PrepareLayer: 'hcsshim::PrepareLayer',
  UnprepareLayer: 'hcsshim::UnprepareLayer',
  GetLayerMountPath: 'hcsshim::GetLayerMountPath',
  GrantVmAccess: 'hcsshim::GrantVmAccess',
};

/** The HCS result document of a rejection: its own, else one error event with the detail. */
export function resultDocument(r: Rejection): HcsResultDocument {
  return r.result ?? { Error: r.hresult, ErrorMessage: hresultText(r.hresult), ErrorEvents: [{ Message: r.detail }] };
}

/** The error `api` reports for a rejected call addressed to `target`. */
export function errorFor(api: string, target: string | undefined, r: Rejection): WcowError {
  const op = hcsOps[api];
  if (op !== undefined) {
    const id = api === 'HcsModifyServiceSettings' || api === 'HcsGetServiceProperties' ? undefined : target;
    return hcsOperationError(op, id, r.hresult, resultDocument(r), { resource: target });
  }
  const title = vmcomputeTitles[api];
  if (title !== undefined) return vmcomputeError(title, r.hresult, { resource: target });
  const details = { op: api, resource: target, hresult: formatHresult(r.hresult) };
  switch (api) {
    case 'GuestRequest':
    case 'Exec':
      return new GuestError(`guest RPC failure: ${r.result?.ErrorMessage ?? r.detail}`, details);
    case 'ResolvePath':
      // go-winio fs.ResolvePath: os.PathError{Op: "CreateFile"}.
      return r.hresult === ERROR_FILE_NOT_FOUND_HR || r.hresult === ERROR_PATH_NOT_FOUND_HR
        ? new NotFoundError(`CreateFile ${target}: ${hresultText(r.hresult)}`, details)
        : new IoError(`CreateFile ${target}: ${hresultText(r.hresult)}`, details);
    default:
      // os.MkdirAll: os.PathError{Op: "mkdir"}.
      return new IoError(`mkdir ${target}: ${r.detail}`, details);
  }
}
