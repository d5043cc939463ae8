// Public API of wcow-resources: the API of docs/behaviour.md#public-api, the VHDX engine, the trace API, the error
// classes and the types a caller needs to call them (or to implement Host). Everything else
// is internal; test/api/exports.test.ts pins this list.

// The allocation (docs/behaviour.md#public-api).
export { allocateWindowsResources, planWindowsResources } from './allocate';
export type { AllocateOptions, Allocation, Plan, PlanOptions, PlannedCall, SchemaVersionRequest } from './allocate';
export type { RootfsMount } from './layers';
export type { Resources } from './resources';
export { recover } from './recover';
export type { RecoverAction, RecoverOptions, RecoverReport, RecoveredJournal } from './recover';
export type { AllocatedSpec, OciConfig, OciMount, OciSpec, OciWindowsDevice } from './oci/types';
export type { SpecWarning } from './oci/strict';
export type {
  ContainerCredentialGuardState,
  ContainerDocument,
  GuestModificationRequest,
  MappedDirectory,
  ModifySettingRequest,
  ProcessParameters,
  ServiceModificationRequest,
  ServiceProperties,
  ServicePropertyQuery,
} from './hcs/schema';

// Hosts.
export { createHost, defaultSimulatedRoot, stateLayout } from './host/index';
export type { CreateHostOptions, StateLayout } from './host/index';
export type { ExecOptions, ExecResult, Host, HostCall, HostHandle, HostStat, LayerDescriptor, OverlayLayerData, Rehearsal, UtilityVm, UtilityVmOptions } from './host/types';
export { NativeHost } from './host/native';
export type { GuestTransport, NativeHostOptions, OpenUtilityVmOptions } from './host/native';
export { SimulatedHost } from './host/simulated';
export type { FaultHandle, FaultSpec, HostSnapshot, LatencyOptions, ScsiSnapshot, SimulatedCall, SimulatedHostOptions, UvmSnapshot } from './host/simulated';

// Errors (README "Errors": one class per code).
export {
  AbortedError,
  AlreadyExistsError,
  GuestError,
  HcsError,
  InvalidArgumentError,
  InvalidMountError,
  InvalidSpecError,
  IoError,
  JournalError,
  NativeMissingError,
  NotFoundError,
  OperationDeniedError,
  PlatformUnsupportedError,
  ReleaseError,
  ScsiNoSlotError,
  UnsupportedMountTypeError,
  VhdxCorruptError,
  VhdxExistsError,
  WcowError,
  WritableShareDeniedError,
} from './errors';
export type { HcsErrorEvent, HcsResultDocument, WcowErrorCode, WcowErrorDetails } from './errors';

// The VHDX engine (README "The VHDX engine").
export { createDifferencingVhdx, createVhdx, expandVhdx, inspectVhdx, readVhdx, writeVhdx } from './vhdx/index';
export type {
  CreateDifferencingVhdxOptions,
  CreateVhdxOptions,
  VhdxBatInfo,
  VhdxHeaderInfo,
  VhdxInfo,
  VhdxMetadataItem,
  VhdxParentLocator,
  VhdxRegionEntry,
  VhdxRegionTableInfo,
} from './vhdx/index';

// Tracing (README: steps on diagnostics_channel, a pino-compatible logger).
export { onStep, STEP_CHANNEL } from './trace';
export type { Logger, StepContext } from './trace';
