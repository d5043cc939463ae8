// What the per-UVM managers need from their UVM: its id, the host (GrantVmAccess, stat) and
// hcsshim's uvm.modify. UvmState implements it; a manager never sees the raw UtilityVm.

import type { ModifySettingRequest } from '../hcs/schema';
import type { Host } from '../host/types';

export interface UvmBackend {
  readonly id: string;
  readonly host: Host;
  modify(req: ModifySettingRequest): Promise<void>;
}
