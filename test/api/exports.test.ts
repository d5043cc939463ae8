// The package root exports the API of docs/behaviour.md#public-api and its documented extras, and nothing else
// (issue 13 point 4): what is not listed here is internal, and tests reach it by path.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../../lib/index';

/** Values a caller uses at run time. */
const VALUES = [
  // docs/behaviour.md#public-api
  'allocateWindowsResources',
  'planWindowsResources',
  'recover',
  'SimulatedHost',
  'createHost',
  'NativeHost',
  'defaultSimulatedRoot',
  'stateLayout',
  // errors: one class per code
  'WcowError',
  'ReleaseError',
  'AbortedError',
  'AlreadyExistsError',
  'GuestError',
  'HcsError',
  'InvalidArgumentError',
  'InvalidMountError',
  'InvalidSpecError',
  'IoError',
  'JournalError',
  'NativeMissingError',
  'NotFoundError',
  'OperationDeniedError',
  'PlatformUnsupportedError',
  'ScsiNoSlotError',
  'UnsupportedMountTypeError',
  'VhdxCorruptError',
  'VhdxExistsError',
  'WritableShareDeniedError',
  // the VHDX engine
  'createVhdx',
  'createDifferencingVhdx',
  'inspectVhdx',
  'expandVhdx',
  'readVhdx',
  'writeVhdx',
  // tracing
  'onStep',
  'STEP_CHANNEL',
] as const;

/** Types in the signatures of the values above (or of Host, for a caller implementing one). */
const TYPES = [
  'AllocateOptions',
  'Allocation',
  'Plan',
  'PlanOptions',
  'PlannedCall',
  'SchemaVersionRequest',
  'RootfsMount',
  'Resources',
  'RecoverAction',
  'RecoverOptions',
  'RecoverReport',
  'RecoveredJournal',
  'AllocatedSpec',
  'OciConfig',
  'OciMount',
  'OciSpec',
  'OciWindowsDevice',
  'SpecWarning',
  'ContainerCredentialGuardState',
  'ContainerDocument',
  'GuestModificationRequest',
  'MappedDirectory',
  'ModifySettingRequest',
  'ProcessParameters',
  'ServiceModificationRequest',
  'ServiceProperties',
  'ServicePropertyQuery',
  'CreateHostOptions',
  'StateLayout',
  'ExecOptions',
  'ExecResult',
  'Host',
  'HostCall',
  'HostHandle',
  'HostStat',
  'LayerDescriptor',
  'OverlayLayerData',
  'Rehearsal',
  'UtilityVm',
  'UtilityVmOptions',
  'GuestTransport',
  'NativeHostOptions',
  'OpenUtilityVmOptions',
  'FaultHandle',
  'FaultSpec',
  'HostSnapshot',
  'LatencyOptions',
  'ScsiSnapshot',
  'SimulatedCall',
  'SimulatedHostOptions',
  'UvmSnapshot',
  'HcsErrorEvent',
  'HcsResultDocument',
  'WcowErrorCode',
  'WcowErrorDetails',
  'CreateDifferencingVhdxOptions',
  'CreateVhdxOptions',
  'VhdxBatInfo',
  'VhdxHeaderInfo',
  'VhdxInfo',
  'VhdxMetadataItem',
  'VhdxParentLocator',
  'VhdxRegionEntry',
  'VhdxRegionTableInfo',
  'Logger',
  'StepContext',
] as const;

const sorted = (names: Iterable<string>): string[] => [...names].sort();

/**
 * The names the emitted declaration file exports, as `{ values, types }`. Every export of
 * the root is a named list (`export { … } from`, `export type { … } from`), so a wildcard or
 * any other form is itself a failure: it would export names nobody chose.
 */
function declaredExports(): { values: string[]; types: string[] } {
  const text = fs.readFileSync(path.join(__dirname, '../../lib/index.d.ts'), 'utf8');
  const values: string[] = [];
  const types: string[] = [];
  const statement = /export\s+(type\s+)?\{([^}]*)\}\s*from\s*'[^']+';/g;
  for (const m of text.matchAll(statement)) {
    const names = m[2]!.split(',').map((n) => n.trim()).filter((n) => n !== '');
    (m[1] === undefined ? values : types).push(...names);
  }
  const rest = text.replace(statement, '').replace(/\/\/.*$/gm, '');
  assert.doesNotMatch(rest, /\bexport\b/, 'every export of the root is a named list');
  return { values, types };
}

describe('package root', () => {
  it('exports the API of docs/behaviour.md#public-api, the VHDX engine, the trace API and the error classes as values, and no other value', () => {
    assert.deepEqual(sorted(Object.keys(api)), sorted(VALUES));
    for (const name of VALUES) if (name !== 'STEP_CHANNEL') assert.equal(typeof api[name], 'function', name);
    assert.equal(api.STEP_CHANNEL, 'wcow-resources:step');
  });

  it('declares exactly those values and the types their signatures need', () => {
    const declared = declaredExports();
    assert.deepEqual(sorted(declared.values), sorted(VALUES));
    assert.deepEqual(sorted(declared.types), sorted(TYPES));
  });

  it('createHost gives the simulated host off Windows', () => {
    if (process.platform === 'win32') return;
    assert.ok(api.createHost() instanceof api.SimulatedHost);
  });
});
