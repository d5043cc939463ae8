// Shared set-up of the lib/uvm tests: the state S0 of the mount vectors (docs/mounts.md#vectors):
// UVM pod1@vm whose image layers took shares s1 and s2; host directories C:\data\rw,
// C:\data\ro, C:\data\cfg (with app.json and b.json), C:\disks\data.vhdx.

import { uvmState, type UvmState } from '../../lib/uvm';
import { FakeHost, type FakeUvm, type Recorder } from './fakes';

export interface World {
  host: FakeHost;
  vm: FakeUvm;
  uvm: UvmState;
  rec: Recorder;
}

export function world(): World {
  const host = new FakeHost();
  for (const d of ['C:\\data\\rw', 'C:\\data\\ro', 'C:\\data\\cfg', 'C:\\layers\\l1', 'C:\\layers\\l2', 'C:\\disks']) host.files.set(d, 'dir');
  for (const f of ['C:\\data\\cfg\\app.json', 'C:\\data\\cfg\\b.json', 'C:\\disks\\data.vhdx']) host.files.set(f, 'file');
  const vm = host.uvm('pod1@vm');
  return { host, vm, uvm: uvmState(host, vm), rec: host.rec };
}

/** S0: the two image-layer shares s1, s2 are in place and the call log is empty. */
export async function s0(): Promise<World> {
  const w = world();
  for (const l of ['C:\\layers\\l1', 'C:\\layers\\l2']) await w.uvm.addVsmb(l, { ...w.uvm.defaultVsmbOptions(true), TakeBackupPrivilege: true });
  w.rec.clear();
  return w;
}

export const SH = '\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}';
export const SCSI0 = 'VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments';

/** `<api> <compact JSON>` — the form the expected sequences are written in. */
export function line(api: string, doc: unknown): string {
  return `${api} ${JSON.stringify(doc)}`;
}
