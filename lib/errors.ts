// Coded errors. Every failure the package reports is a WcowError subclass with a
// stable `code`, the failing step (`op`), the resource it concerned, and for
// HCS failures the HRESULT and the HCS result document. Messages keep
// hcsshim v0.11.4's wording so that a search for an error finds both.

/** The error document HCS returns with a failing operation (hcs/errors.go). */
import { redact, redactText } from './credentials/redact';

export interface HcsErrorEvent {
  Message?: string;
  StackTrace?: string;
  Provider?: string;
  EventId?: number;
  Flags?: number;
  Source?: string;
}

export interface HcsResultDocument {
  Error?: number;
  ErrorMessage?: string;
  ErrorEvents?: HcsErrorEvent[];
}

export type WcowErrorCode =
  | 'ERR_INVALID_SPEC'
  | 'ERR_INVALID_MOUNT'
  | 'ERR_UNSUPPORTED_MOUNT_TYPE'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_SCSI_NO_SLOT'
  | 'ERR_WRITABLE_SHARE_DENIED'
  | 'ERR_OPERATION_DENIED'
  | 'ERR_HCS'
  | 'ERR_GUEST'
  | 'ERR_NOT_FOUND'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_PLATFORM_UNSUPPORTED'
  | 'ERR_NATIVE_MISSING'
  | 'ERR_RELEASE'
  | 'ERR_ABORTED'
  | 'ERR_VHDX_EXISTS'
  | 'ERR_VHDX_CORRUPT'
  | 'ERR_IO'
  | 'ERR_JOURNAL'
  | 'ERR_INTERNAL';

export interface WcowErrorDetails {
  /** The failing step, e.g. `layers.mount`, `scsi.add`, `vhdx.create`. */
  op?: string | undefined;
  /** What the step concerned: a path, share name, LUN, instance id. */
  resource?: string | undefined;
  /** HRESULT as `0x8007000E` (8 upper-case hex digits). */
  hresult?: string | undefined;
  /** The HCS result/error document, when HCS returned one. */
  result?: HcsResultDocument | undefined;
  /** errno name for I/O errors (`ENOENT`, …). */
  errno?: string | undefined;
  /** Exit code of a guest process. */
  exitCode?: number | undefined;
  /** The undos that failed in the rollback after this failure (what they left is reported, not forgotten). */
  rollbackErrors?: readonly WcowError[] | undefined;
  cause?: unknown;
}

export class WcowError extends Error {
  readonly code: WcowErrorCode;
  readonly op?: string;
  readonly resource?: string;
  readonly hresult?: string;
  readonly result?: HcsResultDocument;
  readonly errno?: string;
  readonly exitCode?: number;
  readonly rollbackErrors?: readonly WcowError[];

  /** Message and result document are redacted (lib/credentials/redact.ts): errors leave the engine. */
  constructor(code: WcowErrorCode, message: string, details: WcowErrorDetails = {}) {
    super(redactText(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    if (details.op !== undefined) this.op = details.op;
    if (details.resource !== undefined) this.resource = details.resource;
    if (details.hresult !== undefined) this.hresult = details.hresult;
    if (details.result !== undefined) this.result = redact(details.result) as HcsResultDocument;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.exitCode !== undefined) this.exitCode = details.exitCode;
    if (details.rollbackErrors !== undefined) this.rollbackErrors = details.rollbackErrors;
  }

  /** The details of this error, for re-wrapping with another message. */
  details(): WcowErrorDetails {
    const d: WcowErrorDetails = {};
    if (this.op !== undefined) d.op = this.op;
    if (this.resource !== undefined) d.resource = this.resource;
    if (this.hresult !== undefined) d.hresult = this.hresult;
    if (this.result !== undefined) d.result = this.result;
    if (this.errno !== undefined) d.errno = this.errno;
    if (this.exitCode !== undefined) d.exitCode = this.exitCode;
    if (this.rollbackErrors !== undefined) d.rollbackErrors = this.rollbackErrors;
    return d;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details() };
  }
}

/** A WcowError class with a fixed code (and optionally a default message, hcsshim's text). */
function coded(code: WcowErrorCode, defaultMessage?: string) {
  return class extends WcowError {
    constructor(message: string = defaultMessage ?? code, details?: WcowErrorDetails) {
      super(code, message, details);
    }
  };
}

export class InvalidSpecError extends coded('ERR_INVALID_SPEC') {}
export class InvalidMountError extends coded('ERR_INVALID_MOUNT') {}
export class UnsupportedMountTypeError extends coded('ERR_UNSUPPORTED_MOUNT_TYPE') {}
export class InvalidArgumentError extends coded('ERR_INVALID_ARGUMENT') {}
export class ScsiNoSlotError extends coded('ERR_SCSI_NO_SLOT', 'no available location') {}
export class WritableShareDeniedError extends coded('ERR_WRITABLE_SHARE_DENIED', 'adding writable shares is denied: operation denied') {}
export class OperationDeniedError extends coded('ERR_OPERATION_DENIED') {}
/** A failed HCS / vmcompute / virtdisk call (carries `hresult` and `result`). */
export class HcsError extends coded('ERR_HCS') {}
/** A failed request to, or process in, the utility VM's guest. */
export class GuestError extends coded('ERR_GUEST') {}
export class NotFoundError extends coded('ERR_NOT_FOUND') {}
export class AlreadyExistsError extends coded('ERR_ALREADY_EXISTS') {}
export class PlatformUnsupportedError extends coded('ERR_PLATFORM_UNSUPPORTED', 'the Windows Host Compute Service is not available on this platform') {}
/** The addon was not built for this platform and no prebuild matches (an install with --ignore-scripts). */
export class NativeMissingError extends coded('ERR_NATIVE_MISSING') {}
export class AbortedError extends coded('ERR_ABORTED', 'the operation was aborted') {}
export class VhdxExistsError extends coded('ERR_VHDX_EXISTS') {}
export class VhdxCorruptError extends coded('ERR_VHDX_CORRUPT') {}
export class IoError extends coded('ERR_IO') {}
export class JournalError extends coded('ERR_JOURNAL') {}
class InternalError extends coded('ERR_INTERNAL') {}

/**
 * Release ran to the end and some steps failed: `errors` holds every failure,
 * in the order they happened (docs/differences.md#difference-2).
 */
export class ReleaseError extends WcowError {
  readonly errors: readonly Error[];
  constructor(errors: readonly Error[], message = 'failed to release one or more container resources', details?: WcowErrorDetails) {
    super('ERR_RELEASE', `${message}: ${errors.map((e) => e.message).join('; ')}`, details);
    this.errors = errors;
  }
}

const constructors: Record<WcowErrorCode, new (message: string, details?: WcowErrorDetails) => WcowError> = {
  ERR_INVALID_SPEC: InvalidSpecError,
  ERR_INVALID_MOUNT: InvalidMountError,
  ERR_UNSUPPORTED_MOUNT_TYPE: UnsupportedMountTypeError,
  ERR_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_SCSI_NO_SLOT: ScsiNoSlotError,
  ERR_WRITABLE_SHARE_DENIED: WritableShareDeniedError,
  ERR_OPERATION_DENIED: OperationDeniedError,
  ERR_HCS: HcsError,
  ERR_GUEST: GuestError,
  ERR_NOT_FOUND: NotFoundError,
  ERR_ALREADY_EXISTS: AlreadyExistsError,
  ERR_PLATFORM_UNSUPPORTED: PlatformUnsupportedError,
  ERR_NATIVE_MISSING: NativeMissingError,
  // A release failure rebuilt from its message alone (errorFor/wrap): no `errors` list.
  ERR_RELEASE: coded('ERR_RELEASE'),
  ERR_ABORTED: AbortedError,
  ERR_VHDX_EXISTS: VhdxExistsError,
  ERR_VHDX_CORRUPT: VhdxCorruptError,
  ERR_IO: IoError,
  ERR_JOURNAL: JournalError,
  ERR_INTERNAL: InternalError,
};

/** A new error of the same class as `code`. */
export function errorFor(code: WcowErrorCode, message: string, details?: WcowErrorDetails): WcowError {
  return new constructors[code](message, details);
}

/**
 * hcsshim's `errors.Wrap(err, prefix)` / `fmt.Errorf("prefix: %w")`: a new error of the
 * same code, message `<prefix>: <cause message>`, keeping HRESULT/result/resource, with
 * `op` replaced when given. Non-WcowError causes become ERR_INTERNAL.
 */
export function wrap(err: unknown, prefix: string, details: WcowErrorDetails = {}): WcowError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof WcowError) {
    return errorFor(err.code, `${prefix}: ${message}`, { ...err.details(), ...details, cause: err });
  }
  return errorFor('ERR_INTERNAL', `${prefix}: ${message}`, { ...details, cause: err });
}

/** Any thrown value as a WcowError (unchanged when it already is one). */
export function asWcowError(err: unknown, details: WcowErrorDetails = {}): WcowError {
  if (err instanceof WcowError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e === 'object' && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    return new IoError(e.message, { ...details, errno: e.code, cause: err });
  }
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.code.startsWith('ERR_') && e.code in constructors) {
    // Native errors carry their details as own properties.
    const n = err as Record<string, unknown>;
    const d: WcowErrorDetails = { ...details, cause: err };
    if (typeof n.errno === 'string') d.errno = n.errno;
    if (typeof n.hresult === 'string') d.hresult = n.hresult;
    if (typeof n.resource === 'string') d.resource = n.resource;
    if (n.result !== undefined && n.result !== null && typeof n.result === 'object') d.result = n.result as HcsResultDocument;
    return errorFor(e.code as WcowErrorCode, e.message, d);
  }
  return errorFor('ERR_INTERNAL', err instanceof Error ? err.message : String(err), { ...details, cause: err });
}

/** `0x8007000E` form of an HRESULT given as a (possibly negative) 32-bit integer. */
export function formatHresult(hr: number): string {
  return '0x' + (hr >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
