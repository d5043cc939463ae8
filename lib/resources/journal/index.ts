// The crash journal (docs/differences.md#difference-8): see README.md.
export { Journal, currentJournal, journalScope, withJournal } from './journal';
export type { Entry } from './format';
export { journalHost, journalUtilityVm, holdReference, dropReference } from './decorate';
export { listJournals, readJournal } from './replay';
export type { Held, JournalListing, JournalState } from './replay';
export { currentOwner, isAlive } from './owner';
export { checkDirectory, hostIdentity } from './trust';
export type { Owner } from './owner';
export type { Undo } from './undo';
