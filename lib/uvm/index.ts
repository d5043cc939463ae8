// Per-UVM state and managers (hcsshim internal/uvm, v0.11.4). See README.md for the rules.
export { uvmState, UvmState } from './state';
export type { ExecOptions, UvmRefcounts } from './state';
export type { ModifyOptions } from './modify';
export { ScsiMount } from './scsi';
export type { ScsiAddOptions, ScsiRefcount } from './scsi';
export { VsmbShare, statHostPath } from './vsmb';
export type { VsmbRefcount } from './vsmb';
export { PipeMount } from './pipes';
export { VpciDevice } from './vpci';
export type { VpciRefcount } from './vpci';
