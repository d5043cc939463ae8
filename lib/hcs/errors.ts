// How HCS and vmcompute failures read. Both hosts (native and simulated) build
// their errors here, so a failure reads the same whichever host produced it:
// - vmcompute-era calls: hcsshim's hcserror, `<title> failed in Win32: <text> (0x<code>)`
//   (internal/hcserror/hcserror.go:18-31; the code is the Win32 code for
//   FACILITY_WIN32 HRESULTs, else the whole HRESULT, in lower-case hex);
// - compute-system and service calls: hcsshim's HcsError / SystemError,
//   `<op>[ <id>]: <text>` plus one `[Event Detail: …]` line per error event
//   (internal/hcs/errors.go:95-218).

import { GuestError, HcsError, IoError, NotFoundError, formatHresult, type HcsErrorEvent, type HcsResultDocument, type WcowError, type WcowErrorDetails } from '../errors';

/** FormatMessage texts for the codes this package meets. */
const win32Text: Record<number, string> = {
  0x0: 'The operation completed successfully.',
  0x2: 'The system cannot find the file specified.',
  0x3: 'The system cannot find the path specified.',
  0x5: 'Access is denied.',
  0x6: 'The handle is invalid.',
  0x13: 'The media is write protected.',
  0x15: 'The device is not ready.',
  0x20: 'The process cannot access the file because it is being used by another process.',
  0x32: 'The request is not supported.',
  0x50: 'The file exists.',
  0x57: 'The parameter is incorrect.',
  0xb7: 'Cannot create a file when that file already exists.',
  0x7b: 'The filename, directory name, or volume label syntax is incorrect.',
  0x7e: 'The specified module could not be found.',
  0x7f: 'The specified procedure could not be found.',
  0x103: 'No more data is available.',
  0x48f: 'The device is not connected.',
  0x490: 'Element not found.',
  0x4c7: 'The operation was canceled by the user.',
  0x5b4: 'This operation returned because the timeout period expired.',
};

// hcsshim's named HCS errors (internal/hcs/errors.go), and virtdisk's own codes, with their
// FormatMessage texts.
const hcsText: Record<number, string> = {
  0xc03a0015: 'The specified disk is not a virtual disk.',
  0xc0370103: 'The operation is pending.',
  0xc0370105: 'The requested virtual machine or container operation is not valid in the current state.',
  0xc0370106: 'The virtual machine or container exited unexpectedly.',
  0xc037010d: 'The JSON document is invalid.',
  0xc037010e: 'A virtual machine or container with the specified identifier does not exist.',
  0xc037010f: 'A virtual machine or container with the specified identifier already exists.',
  0xc0370110: 'The virtual machine or container with the specified identifier is not running.',
};

export const E_INVALIDARG = 0x80070057 | 0;
export const E_FAIL = 0x80004005 | 0;
export const ERROR_FILE_NOT_FOUND_HR = 0x80070002 | 0;
export const ERROR_PATH_NOT_FOUND_HR = 0x80070003 | 0;
export const E_ACCESSDENIED = 0x80070005 | 0;
export const E_HANDLE = 0x80070006 | 0;
export const ERROR_SHARING_VIOLATION_HR = 0x80070020 | 0;
export const ERROR_FILE_EXISTS_HR = 0x80070050 | 0;
export const ERROR_ALREADY_EXISTS_HR = 0x800700b7 | 0;
/** hcsshim ErrElementNotFound: what HCS answers for a resource that is not there. */
export const ERROR_NOT_FOUND_HR = 0x80070490 | 0;
export const ERROR_NOT_READY_HR = 0x80070015 | 0;
export const ERROR_WRITE_PROTECT_HR = 0x80070013 | 0;
export const ERROR_INVALID_NAME_HR = 0x8007007b | 0;
/** virtdisk's ERROR_VIRTDISK_NOT_VIRTUAL_DISK (returned as is, not as a FACILITY_WIN32 HRESULT). */
export const ERROR_VIRTDISK_NOT_VIRTUAL_DISK = 0xc03a0015 | 0;
export const ERROR_DEVICE_NOT_CONNECTED_HR = 0x8007048f | 0;
export const HCS_E_SYSTEM_NOT_FOUND = 0xc037010e | 0;
export const HCS_E_SYSTEM_ALREADY_EXISTS = 0xc037010f | 0;
export const HCS_E_INVALID_STATE = 0xc0370105 | 0;

/** The Win32 code of a FACILITY_WIN32 HRESULT, else the HRESULT itself (unsigned). */
export function win32FromHresult(hr: number): number {
  const u = hr >>> 0;
  return (u & 0x1fff0000) === 0x00070000 ? u & 0xffff : u;
}

/** What FormatMessage would say for an HRESULT. */
export function hresultText(hr: number): string {
  const u = hr >>> 0;
  const hcs = hcsText[u];
  if (hcs !== undefined) return hcs;
  const w = win32FromHresult(hr);
  if (w !== u || u < 0x10000) {
    const t = win32Text[w];
    if (t !== undefined) return t;
  }
  if (u === (E_FAIL >>> 0)) return 'Unspecified error';
  return `HRESULT ${formatHresult(hr)}`;
}

/** hcsshim's ErrorEvent.String(). */
export function formatErrorEvent(ev: HcsErrorEvent): string {
  let s = '[Event Detail: ' + (ev.Message ?? '');
  if (ev.StackTrace) s += ' Stack Trace: ' + ev.StackTrace;
  if (ev.Provider) s += ' Provider: ' + ev.Provider;
  if (ev.EventId) s += ` EventID: ${ev.EventId}`;
  if (ev.Flags) s += ` flags: ${ev.Flags}`;
  if (ev.Source) s += ' Source: ' + ev.Source;
  return s + ']';
}

function eventLines(result: HcsResultDocument | undefined): string {
  return (result?.ErrorEvents ?? []).map((ev) => '\n' + formatErrorEvent(ev)).join('');
}

/**
 * A vmcompute / virtdisk call failed: `hcsshim::PrepareLayer failed in Win32: The device
 * is not ready. (0x15)`.
 */
export function vmcomputeError(title: string, hresult: number, details: WcowErrorDetails = {}): HcsError {
  const sep = title.length > 0 && !title.endsWith(' ') ? ' ' : '';
  const code = win32FromHresult(hresult).toString(16);
  return new HcsError(`${title}${sep}failed in Win32: ${hresultText(hresult)} (0x${code})`, {
    op: title,
    ...details,
    hresult: formatHresult(hresult),
  });
}

/**
 * A compute-system call failed: `hcs::System::Modify pod1@vm: <text>` + event lines
 * (SystemError), or without an id for service calls
 * (`hcs::ModifyServiceSettings: <text>`, HcsError).
 */
export function hcsOperationError(
  op: string,
  id: string | undefined,
  hresult: number,
  result?: HcsResultDocument,
  details: WcowErrorDetails = {},
): HcsError {
  const text = result?.ErrorMessage || hresultText(hresult);
  const head = id === undefined ? `${op}: ${text}` : `${op} ${id}: ${text}`;
  const d: WcowErrorDetails = { op, ...details, hresult: formatHresult(hresult) };
  if (result !== undefined) d.result = result;
  return new HcsError(head + eventLines(result), d);
}

/** Whether an error is a vmcompute failure with one of the given Win32 codes. */
export function hasWin32Code(err: unknown, ...codes: number[]): boolean {
  if (!(err instanceof HcsError) || err.hresult === undefined) return false;
  return codes.includes(win32FromHresult(parseInt(err.hresult, 16)));
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
  // The title of hcsshim's ExpandScratchSize (internal/wclayer/expandscratchsize.go:19).
  ExpandSandboxSize: 'hcsshim::ExpandScratchSize',
  ActivateLayer: 'hcsshim::ActivateLayer',
  DeactivateLayer: 'hcsshim::DeactivateLayer- failed',
  PrepareLayer: 'hcsshim::PrepareLayer',
  UnprepareLayer: 'hcsshim::UnprepareLayer',
  GetLayerMountPath: 'hcsshim::GetLayerMountPath',
  GrantVmAccess: 'hcsshim::GrantVmAccess',
};

/**
 * The error an API reports when the call addressed to `target` failed with `hresult`
 * — the same from the native and the simulated host. `result` is HCS's result
 * document when there is one; without it, `detail` says what was wrong (as the one
 * error event of a compute-system failure).
 */
export function apiFailure(api: string, target: string | undefined, hresult: number, detail: string, result?: HcsResultDocument): WcowError {
  const op = hcsOps[api];
  if (op !== undefined) {
    const id = api === 'HcsModifyServiceSettings' || api === 'HcsGetServiceProperties' ? undefined : target;
    const doc = result ?? { Error: hresult, ErrorMessage: hresultText(hresult), ErrorEvents: [{ Message: detail }] };
    return hcsOperationError(op, id, hresult, doc, { resource: target });
  }
  const title = vmcomputeTitles[api];
  if (title !== undefined) return vmcomputeError(title, hresult, { resource: target });
  const details = { op: api, resource: target, hresult: formatHresult(hresult) };
  switch (api) {
    case 'CimMountImage':
    case 'CimDismountImage':
    case 'HcsAttachOverlayFilter':
    case 'HcsDetachOverlayFilter':
      // hcsshim main's generated cimfs / computestorage wrappers return the bare
      // syscall.Errno (FACILITY_WIN32 reduced to the Win32 code); callers add the context.
      return new HcsError(hresultText(hresult), details);
    // virtdisk and the volume calls of ExpandScratchSize (hcsshim main
    // internal/wclayer/expandscratchsize.go): go-winio's and Go's own wording for the open and
    // the attach; the bare text for the rest, to which the caller adds `<call> <volume>: `.
    case 'OpenVirtualDisk':
      return new HcsError(`OpenVirtualDisk ${target}: ${hresultText(hresult)}`, details);
    case 'AttachVirtualDisk':
      return new HcsError(`failed to attach virtual disk: ${hresultText(hresult)}`, details);
    case 'CreateFile':
      return new IoError(`open ${target}: ${hresultText(hresult)}`, details);
    case 'IOCTL_DISK_GET_LENGTH_INFO':
    case 'GetDiskFreeSpaceEx':
    case 'FSCTL_EXTEND_VOLUME':
    case 'CloseHandle':
      return new IoError(hresultText(hresult), details);
    case 'GuestRequest':
    case 'Exec':
      return new GuestError(`guest RPC failure: ${result?.ErrorMessage ?? detail}`, details);
    case 'ResolvePath':
      // go-winio fs.ResolvePath: os.PathError{Op: "CreateFile"}.
      return hresult === ERROR_FILE_NOT_FOUND_HR || hresult === ERROR_PATH_NOT_FOUND_HR
        ? new NotFoundError(`CreateFile ${target}: ${hresultText(hresult)}`, details)
        : new IoError(`CreateFile ${target}: ${hresultText(hresult)}`, details);
    default:
      // os.MkdirAll: os.PathError{Op: "mkdir"}.
      return new IoError(`mkdir ${target}: ${detail}`, details);
  }
}
