// Resources of one container and the closers that release them (docs/behaviour.md#releasing-resources).
export { ReleaseGuard, closer } from './closer';
export type { CcgRecord, Closer, CombinedLayersRecord, LayersRecord, PipeRecord, ResourceRecord, ScsiRecord, VpciRecord, VsmbRecord } from './closer';
export { Resources } from './resources';
export type { ResourcesJson } from './resources';
export { Journal, readJournal } from './journal';
export type { JournalState, Owner, Undo } from './journal';
