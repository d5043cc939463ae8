// OCI mount vectors (docs/mounts.md#vectors V1-V19, docs/mounts.md#combined-scenario-m1-m8). Each starts from S0: UVM
// `pod1@vm`, first container (root C:\c\1), 2-layer image (shares s1, s2), container
// scratch at LUN 1, mount counter 0.

import * as assert from 'node:assert/strict';
import { allocateWindowsResources, type Allocation } from '../../lib/allocate';
import { ReleaseError } from '../../lib/errors';
import { SimulatedHost, type SimulatedCall } from '../../lib/host/simulated';
import type { UtilityVm } from '../../lib/host/types';
import type { OciMount } from '../../lib/oci/types';
import { uvmState } from '../../lib/uvm';
import { bench, json, L1, L3, mountSources, S, SCSI0, SH, spec, VSMB_SHARES, type Bench, rejects } from '../allocate/fixtures';

const ATT = (lun: number): string => `VirtualMachine/Devices/Scsi/${SCSI0}/Attachments/${lun}`;
const RW: OciMount = { source: 'C:\\data\\rw', destination: 'C:\\rw' };
const RO: OciMount = { source: 'C:\\data\\ro', destination: 'C:\\ro', options: ['RO'] };
const FILE: OciMount = { source: 'C:\\data\\cfg\\app.json', destination: 'C:\\app\\app.json' };
const PIPE: OciMount = { source: '\\\\.\\pipe\\foo', destination: '\\\\.\\pipe\\bar' };
const SANDBOX: OciMount = { source: 'sandbox:///a/b', destination: 'C:\\sb' };
const PHYSICAL: OciMount = { source: '\\\\.\\PHYSICALDRIVE2', destination: 'C:\\pd', type: 'physical-disk' };
const VHD: OciMount = { source: 'C:\\disks\\data.vhdx', destination: 'C:\\vd', type: 'virtual-disk', options: ['ro'] };
const EVD: OciMount = { source: 'evd://space/{pool-id}{vdisk-id}', destination: 'C:\\evd', type: 'extensible-virtual-disk' };

/** The calls a mount made: those after the layers' CombinedLayers request, before the document's NameToGuid. */
function mountCalls(calls: readonly SimulatedCall[], from = 0): string[] {
  const after = calls.slice(from);
  const start = after.findIndex((c) => c.api === 'GuestRequest' && json(c.document).includes('"CombinedLayers"')) + 1;
  return after
    .slice(start)
    .filter((c) => c.api !== 'NameToGuid')
    .map((c) => `${c.api} ${c.api === 'GrantVmAccess' ? c.target : json(c.document)}`);
}

function released(b: Bench, before: number): string[] {
  return b.host.calls.slice(before).map((c) => `${c.api} ${json(c.document)}`);
}

describe('mounts: hypervisor-isolated vectors (docs/mounts.md#vectors)', () => {
  let b: Bench;
  let vm: UtilityVm;
  beforeEach(async () => {
    b = await bench();
    await mountSources(b);
    vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
  });
  afterEach(() => b.done());

  const allocate = (mounts: OciMount[], id = 'c1', scratch = S): Promise<Allocation> =>
    allocateWindowsResources({ id, spec: spec([L3, L1, scratch], { mounts }), host: b.host, uvm: vm });

  async function releaseAndCheckBaseline(a: Allocation): Promise<void> {
    await a.resources.release({ all: true });
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
    // The client-side refcounts are back to a fresh UVM's: only its own scratch.
    assert.deepEqual(uvmState(b.host, vm).refcounts(), { scsi: [{ controller: 0, lun: 0, hostPath: '', uvmPath: '', refCount: 1 }], vsmb: [], vpci: [] });
  }

  it('V1 bind dir rw: share s3 with empty options, MappedDirectory to its guest path, Remove s3 on release', async () => {
    const a = await allocate([RW]);
    assert.deepEqual(mountCalls(b.host.calls), [
      `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's3', Path: 'C:\\data\\rw', Options: {} } })}`,
    ]);
    assert.equal(json(a.containerDocument().MappedDirectories), json([{ HostPath: SH + '\\s3', ContainerPath: 'C:\\rw' }]));
    assert.deepEqual(a.mappedDirectories, []);
    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.equal(released(b, before)[0], `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's3' } })}`);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('V2 bind dir ro via "RO": read-only options and ReadOnly mapping', async () => {
    const a = await allocate([RO]);
    assert.deepEqual(mountCalls(b.host.calls), [
      `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's3', Path: 'C:\\data\\ro', Options: { ReadOnly: true, ShareRead: true, CacheIo: true, PseudoOplocks: true } } })}`,
    ]);
    assert.equal(json(a.containerDocument().MappedDirectories), json([{ HostPath: SH + '\\s3', ContainerPath: 'C:\\ro', ReadOnly: true }]));
    await releaseAndCheckBaseline(a);
  });

  it('V3 single file rw: the directory shared with AllowedFiles; docs/differences.md#difference-3: its release removes s3', async () => {
    const a = await allocate([FILE]);
    assert.deepEqual(mountCalls(b.host.calls), [
      `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's3', Path: 'C:\\data\\cfg', AllowedFiles: ['C:\\data\\cfg\\app.json'], Options: { RestrictFileAccess: true, SingleFileMapping: true } } })}`,
    ]);
    assert.equal(json(a.containerDocument().MappedDirectories), json([{ HostPath: SH + '\\s3\\app.json', ContainerPath: 'C:\\app\\app.json' }]));
    const before = b.host.calls.length;
    // v0.11.4 would fail here with `failed to remove VSMB share: C:\data\cfg is not present as a VSMB share in pod1@vm, cannot remove`.
    await a.resources.release({ all: true });
    assert.equal(released(b, before)[0], `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's3' } })}`);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('V3b: a second file of the same directory Updates s3 with both AllowedFiles (refcount 2)', async () => {
    await b.file('C:\\data\\cfg\\b.json');
    const a1 = await allocate([FILE]);
    const from = b.host.calls.length;
    const a2 = await allocate([{ source: 'C:\\data\\cfg\\b.json', destination: 'C:\\b.json' }], 'c2', 'C:\\layers\\scratch2');
    assert.deepEqual(mountCalls(b.host.calls, from), [
      `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Update', Settings: { Name: 's3', Path: 'C:\\data\\cfg', AllowedFiles: ['C:\\data\\cfg\\app.json', 'C:\\data\\cfg\\b.json'], Options: { RestrictFileAccess: true, SingleFileMapping: true } } })}`,
    ]);
    await a1.resources.release({ all: true });
    await releaseAndCheckBaseline(a2);
  });

  it('V4 named pipe: MappedPipes Add by full path, MappedPipe through IPC$, no MappedDirectory, Remove on release', async () => {
    const a = await allocate([PIPE]);
    assert.deepEqual(mountCalls(b.host.calls), [`HcsModifyComputeSystem ${json({ ResourcePath: 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo', RequestType: 'Add' })}`]);
    const doc = a.containerDocument();
    assert.equal(json(doc.MappedPipes), json([{ ContainerPipeName: 'bar', HostPath: SH + '\\IPC$\\foo' }]));
    assert.equal(doc.MappedDirectories, undefined);
    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.equal(released(b, before)[0], `HcsModifyComputeSystem ${json({ ResourcePath: 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo', RequestType: 'Remove' })}`);
  });

  it('V5 sandbox: cmd /c mkdir P & dir P as SYSTEM in C:\\, nothing to release, mapped to the sandbox path', async () => {
    const a = await allocate([SANDBOX]);
    assert.deepEqual(mountCalls(b.host.calls), [
      `Exec ${json({ CommandLine: 'cmd /c mkdir C:\\SandboxMounts\\a\\b & dir C:\\SandboxMounts\\a\\b', User: 'NT AUTHORITY\\SYSTEM', WorkingDirectory: 'C:\\', CreateStdErrPipe: true })}`,
    ]);
    assert.deepEqual(a.resources.toJSON().closers, []);
    assert.equal(json(a.containerDocument().MappedDirectories), json([{ HostPath: 'C:\\SandboxMounts\\a\\b', ContainerPath: 'C:\\sb' }]));
    await a.resources.release({ all: true });
  });

  it('V5 failure: exit code 1 with stderr X', async () => {
    b.host.injectFault({ api: 'Exec', exitCode: 1, stderr: 'X' });
    const err = await rejects(allocate([SANDBOX]));
    assert.equal(err.message, 'failed to create sandbox mount directory in utility VM with exit code 1 "X": process exited with exit code 1');
    assert.equal(err.op, 'mounts.sandbox');
    assert.equal(err.exitCode, 1);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('V6 physical disk: GrantVmAccess, SCSI 0:2 PassThru, guest C:\\mounts\\m1 Lun 2, mapped last; release guest then host', async () => {
    const a = await allocate([PHYSICAL]);
    assert.deepEqual(mountCalls(b.host.calls), [
      'GrantVmAccess \\\\.\\PHYSICALDRIVE2',
      `HcsModifyComputeSystem ${json({ ResourcePath: ATT(2), RequestType: 'Add', Settings: { Type: 'PassThru', Path: '\\\\.\\PHYSICALDRIVE2' } })}`,
      `GuestRequest ${json({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\mounts\\m1', Lun: 2 } })}`,
    ]);
    assert.equal(json(a.mappedDirectories), json([{ HostPath: 'C:\\mounts\\m1', ContainerPath: 'C:\\pd' }]));
    assert.equal(json(a.containerDocument().MappedDirectories), json(a.mappedDirectories));
    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.deepEqual(released(b, before).slice(0, 2), [
      `GuestRequest ${json({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\mounts\\m1', Lun: 2 } })}`,
      `HcsModifyComputeSystem ${json({ ResourcePath: ATT(2), RequestType: 'Remove' })}`,
    ]);
  });

  it('V7 virtual disk ro: ReadOnly attachment and mapping', async () => {
    const a = await allocate([VHD]);
    assert.deepEqual(mountCalls(b.host.calls), [
      'GrantVmAccess C:\\disks\\data.vhdx',
      `HcsModifyComputeSystem ${json({ ResourcePath: ATT(2), RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: 'C:\\disks\\data.vhdx', ReadOnly: true } })}`,
      `GuestRequest ${json({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\mounts\\m1', Lun: 2 } })}`,
    ]);
    assert.equal(json(a.mappedDirectories), json([{ HostPath: 'C:\\mounts\\m1', ContainerPath: 'C:\\vd', ReadOnly: true }]));
    await releaseAndCheckBaseline(a);
  });

  it('V8 EVD: no GrantVmAccess, the parsed path and type', async () => {
    const a = await allocate([EVD]);
    assert.deepEqual(mountCalls(b.host.calls), [
      `HcsModifyComputeSystem ${json({ ResourcePath: ATT(2), RequestType: 'Add', Settings: { Type: 'ExtensibleVirtualDisk', Path: '{pool-id}{vdisk-id}', ExtensibleVirtualDiskType: 'space' } })}`,
      `GuestRequest ${json({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\mounts\\m1', Lun: 2 } })}`,
    ]);
    assert.equal(json(a.mappedDirectories), json([{ HostPath: 'C:\\mounts\\m1', ContainerPath: 'C:\\evd' }]));
    await releaseAndCheckBaseline(a);
  });

  it('V9 (docs/differences.md#difference-1): Type bind is rejected before anything happens, even after valid mounts', async () => {
    const from = b.host.calls.length;
    const err = await rejects(allocate([RW, { source: 'C:\\data\\rw', destination: 'C:\\x', type: 'bind' }]));
    assert.equal(err.message, "invalid OCI spec - Type 'bind' not supported");
    assert.equal(err.code, 'ERR_UNSUPPORTED_MOUNT_TYPE');
    assert.equal(err.op, 'validate');
    assert.deepEqual(b.host.calls.slice(from), []);
    // No mount counter value consumed: the next mount is m1.
    const a = await allocate([PHYSICAL]);
    assert.equal(a.mappedDirectories[0]!.HostPath, 'C:\\mounts\\m1');
    await a.resources.release({ all: true });
  });

  it('V10 missing source', async () => {
    const err = await rejects(allocate([{ destination: 'C:\\x' } as OciMount]));
    assert.equal(err.message, 'invalid OCI spec - a mount must have both source and a destination: {Destination:C:\\x Type: Source: Options:[]}');
    assert.equal(err.code, 'ERR_INVALID_MOUNT');
  });

  it('V11 malformed EVD (docs/differences.md#difference-1): same text, but no side effect and no counter value burned', async () => {
    const from = b.host.calls.length;
    const err = await rejects(allocate([{ source: 'evd://space', destination: 'C:\\e', type: 'extensible-virtual-disk' }]));
    assert.equal(err.message, 'adding SCSI mount {Destination:C:\\e Type:extensible-virtual-disk Source:evd://space Options:[]}: invalid extensible vhd path: evd://space');
    assert.deepEqual(b.host.calls.slice(from), []);
    const a = await allocate([EVD]);
    assert.equal(a.mappedDirectories[0]!.HostPath, 'C:\\mounts\\m1');
    await a.resources.release({ all: true });
  });

  it('V12 (docs/differences.md#difference-6): sandbox:///../Windows and cmd.exe metacharacters are rejected, nothing runs', async () => {
    const from = b.host.calls.length;
    for (const source of ['sandbox:///../Windows', 'sandbox:///a&calc']) {
      const err = await rejects(allocate([{ source, destination: 'C:\\x' }]));
      assert.equal(err.code, 'ERR_INVALID_MOUNT');
      assert.equal(err.op, 'validate');
    }
    assert.deepEqual(b.host.calls.slice(from), []);
  });

  it('V13 same VHD in two containers: C2 grants again, reuses LUN 2 and C1\'s C:\\mounts\\m1 with its own ReadOnly', async () => {
    const a1 = await allocate([{ ...VHD, options: [] }]);
    const from = b.host.calls.length;
    const a2 = await allocate([RW, RO, VHD], 'c2', 'C:\\layers\\scratch2');
    const vhdCalls = mountCalls(b.host.calls, from).filter((c) => c.includes('data.vhdx') || c.includes('MappedVirtualDisk'));
    assert.deepEqual(vhdCalls, ['GrantVmAccess C:\\disks\\data.vhdx']);
    assert.equal(json(a2.mappedDirectories), json([{ HostPath: 'C:\\mounts\\m1', ContainerPath: 'C:\\vd', ReadOnly: true }]));
    let before = b.host.calls.length;
    await a1.resources.release({ all: true });
    assert.ok(!released(b, before).some((c) => c.includes(ATT(2))));
    before = b.host.calls.length;
    await a2.resources.release({ all: true });
    assert.deepEqual(released(b, before).slice(0, 2), [
      `GuestRequest ${json({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\mounts\\m1', Lun: 2 } })}`,
      `HcsModifyComputeSystem ${json({ ResourcePath: ATT(2), RequestType: 'Remove' })}`,
    ]);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('V14 ro and rw of one directory in two containers: two shares, two Adds', async () => {
    const a1 = await allocate([{ ...RW, options: ['ro'] }]);
    const from = b.host.calls.length;
    const a2 = await allocate([RW], 'c2', 'C:\\layers\\scratch2');
    assert.deepEqual(mountCalls(b.host.calls, from), [
      `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Add', Settings: { Name: 's4', Path: 'C:\\data\\rw', Options: {} } })}`,
    ]);
    await a1.resources.release({ all: true });
    await releaseAndCheckBaseline(a2);
  });

  it('V15 ro of one directory in two containers: one share, the second add and first release send nothing', async () => {
    const a1 = await allocate([RO]);
    const from = b.host.calls.length;
    const a2 = await allocate([RO], 'c2', 'C:\\layers\\scratch2');
    assert.deepEqual(mountCalls(b.host.calls, from), []);
    let before = b.host.calls.length;
    await a1.resources.release({ all: true });
    assert.ok(!released(b, before).some((c) => c.includes('"Name":"s3"')));
    before = b.host.calls.length;
    await a2.resources.release({ all: true });
    assert.equal(released(b, before)[0], `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's3' } })}`);
  });

  it('V16 NoWritableFileShares: writable share denied, the layers rolled back', async () => {
    const locked = await b.host.createUtilityVm({ id: 'pod2@vm', noWritableFileShares: true });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [RW] }), host: b.host, uvm: locked }));
    assert.equal(err.message, 'failed to add VSMB share to utility VM for mount {Destination:C:\\rw Type: Source:C:\\data\\rw Options:[]}: adding writable shares is denied: operation denied');
    assert.equal(err.code, 'ERR_WRITABLE_SHARE_DENIED');
    assert.equal(err.op, 'mounts.vsmb');
    assert.deepEqual(b.host.snapshot().uvms['pod2@vm'], SimulatedHost.baseline({ id: 'pod2@vm', noWritableFileShares: true }));
  });

  it('V17 out of SCSI slots: no available location after the grant; everything rolled back', async () => {
    const disks: OciMount[] = [];
    for (let i = 0; i < 63; i++) {
      await b.file(`C:\\disks\\d${i}.vhdx`, 'vhdx');
      disks.push({ source: `C:\\disks\\d${i}.vhdx`, destination: `C:\\d${i}`, type: 'virtual-disk' });
    }
    const err = await rejects(allocate(disks));
    assert.equal(err.message, `adding SCSI mount {Destination:C:\\d62 Type:virtual-disk Source:C:\\disks\\d62.vhdx Options:[]}: no available location`);
    assert.equal(err.code, 'ERR_SCSI_NO_SLOT');
    assert.ok(b.host.calls.some((c) => c.api === 'GrantVmAccess' && c.target === 'C:\\disks\\d62.vhdx'));
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('V18/V19: \\\\.\\PIPE\\foo (upper case) and a missing directory are VSMB mounts whose stat fails', async () => {
    for (const source of ['\\\\.\\PIPE\\foo', 'C:\\nope']) {
      const err = await rejects(allocate([{ source, destination: 'C:\\x' }]));
      assert.equal(err.message, `failed to add VSMB share to utility VM for mount {Destination:C:\\x Type: Source:${source} Options:[]}: GetFileAttributesEx ${source}: The system cannot find the file specified.`);
      // hcsshim's text, raised by the host preflight before any hot-add (docs/differences.md#difference-9).
      assert.equal(err.op, 'preflight');
    }
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });
});

describe('mounts: process isolation (validation only, resolved host paths)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
    await mountSources(b);
  });
  afterEach(() => b.done());

  it('V1/V2/V4: no hot-add; HostPath = ResolvePath(source), pipes as given', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [RW, RO, PIPE] }), host: b.host });
    assert.ok(!b.host.calls.some((c) => c.api === 'HcsModifyComputeSystem'));
    const doc = a.containerDocument();
    assert.equal(doc.MappedDirectories!.length, 2);
    assert.match(doc.MappedDirectories![0]!.HostPath!, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}\\data\\rw$/);
    assert.equal(doc.MappedDirectories![0]!.ContainerPath, 'C:\\rw');
    assert.equal(doc.MappedDirectories![0]!.ReadOnly, undefined);
    assert.match(doc.MappedDirectories![1]!.HostPath!, /\\data\\ro$/);
    assert.equal(doc.MappedDirectories![1]!.ReadOnly, true);
    assert.equal(json(doc.MappedPipes), json([{ ContainerPipeName: 'bar', HostPath: '\\\\.\\pipe\\foo' }]));
    await a.resources.release({ all: true });
  });

  it('V5/V8 (docs/differences.md#difference-1): an unresolvable source fails before the scratch is created', async () => {
    for (const m of [SANDBOX, EVD]) {
      b.host.clearCalls();
      const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [m] }), host: b.host }));
      assert.equal(err.message, `failed to resolve path for mount source "${m.source}": CreateFile ${m.source}: The system cannot find the file specified.`);
      assert.deepEqual(b.host.calls.map((c) => c.api), ['ResolvePath']);
    }
  });

  it('V9: Type bind is rejected for process-isolated containers too', async () => {
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [{ ...RW, type: 'bind' }] }), host: b.host }));
    assert.equal(err.message, "invalid OCI spec - Type 'bind' not supported");
  });
});

/** The UVM's baseline plus the sandbox directories, which are never removed (docs/mounts.md#sandbox-mounts). */
function baselineWithSandbox(): unknown {
  const base = SimulatedHost.baseline({ id: 'pod1@vm' });
  base.guest.directories = ['C:\\SandboxMounts', 'C:\\SandboxMounts\\a', 'C:\\SandboxMounts\\a\\b'];
  return base;
}

describe('mounts: combined scenario (docs/mounts.md#combined-scenario-m1-m8)', () => {
  let b: Bench;
  let vm: UtilityVm;
  beforeEach(async () => {
    b = await bench();
    await mountSources(b);
    vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
  });
  afterEach(() => b.done());
  const M = [RW, RO, FILE, PIPE, SANDBOX, PHYSICAL, VHD, EVD];
  const remove = (name: string) => `HcsModifyComputeSystem ${json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: name } })}`;
  const scsiRemove = (path: string, lun: number) => [
    `GuestRequest ${json({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: path, Lun: lun } })}`,
    `HcsModifyComputeSystem ${json({ ResourcePath: ATT(lun), RequestType: 'Remove' })}`,
  ];
  const pipeRemove = `HcsModifyComputeSystem ${json({ ResourcePath: 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo', RequestType: 'Remove' })}`;
  /** Release from M4 on: the pipe, the shares newest first, then the layers closer (docs/mounts.md#combined-scenario-m1-m8). */
  const fromM4 = [
    pipeRemove,
    remove('s5'),
    remove('s4'),
    remove('s3'),
    `GuestRequest ${json({ RequestType: 'Remove', ResourceType: 'CombinedLayers', Settings: { ContainerRootPath: 'C:\\c\\1' } })}`,
    ...scsiRemove('C:\\c\\1', 1),
    remove('s1'),
    remove('s2'),
  ];

  it('M1..M8: counters 1..8, shares s3-s5, LUNs 2-4 at m6-m8, the docs/mounts.md#combined-scenario-m1-m8 document, release in reverse then the layers', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: M }), host: b.host, uvm: vm });
    const calls = mountCalls(b.host.calls);
    assert.deepEqual(
      calls.filter((c) => c.includes('"Add"') && !c.startsWith('GuestRequest')).map((c) => /"Name":"(s\d)"|Attachments\/(\d)|MappedPipes/.exec(c)![0]),
      ['"Name":"s3"', '"Name":"s4"', '"Name":"s5"', 'MappedPipes', 'Attachments/2', 'Attachments/3', 'Attachments/4'],
    );
    assert.deepEqual(
      calls.filter((c) => c.includes('MappedVirtualDisk')).map((c) => /"ContainerPath":"([^"]+)","Lun":(\d)/.exec(c)!.slice(1).join(' ')),
      ['C:\\\\mounts\\\\m6 2', 'C:\\\\mounts\\\\m7 3', 'C:\\\\mounts\\\\m8 4'],
    );
    const doc = a.containerDocument();
    assert.equal(
      json({ MappedDirectories: doc.MappedDirectories, MappedPipes: doc.MappedPipes }),
      json({
        MappedDirectories: [
          { HostPath: SH + '\\s3', ContainerPath: 'C:\\rw' },
          { HostPath: SH + '\\s4', ContainerPath: 'C:\\ro', ReadOnly: true },
          { HostPath: SH + '\\s5\\app.json', ContainerPath: 'C:\\app\\app.json' },
          { HostPath: 'C:\\SandboxMounts\\a\\b', ContainerPath: 'C:\\sb' },
          { HostPath: 'C:\\mounts\\m6', ContainerPath: 'C:\\pd' },
          { HostPath: 'C:\\mounts\\m7', ContainerPath: 'C:\\vd', ReadOnly: true },
          { HostPath: 'C:\\mounts\\m8', ContainerPath: 'C:\\evd' },
        ],
        MappedPipes: [{ ContainerPipeName: 'bar', HostPath: SH + '\\IPC$\\foo' }],
      }),
    );
    assert.deepEqual(a.resources.toJSON().closers.map((c) => c.kind), ['vsmb', 'vsmb', 'vsmb', 'pipe', 'scsi', 'scsi', 'scsi']);

    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    // docs/differences.md#difference-3: M3's share is removed (v0.11.4 fails there and, by
    // docs/differences.md#difference-2's bug, then leaks the layers).
    assert.deepEqual(released(b, before), [
      ...scsiRemove('C:\\mounts\\m8', 4),
      ...scsiRemove('C:\\mounts\\m7', 3),
      ...scsiRemove('C:\\mounts\\m6', 2),
      ...fromM4,
    ]);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], baselineWithSandbox());
  });

  it('failure variant: M8 fails at HCS; M7, M6, M4, M3, M2, M1 are removed in that order, then the layers', async () => {
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => json(c.document).includes('/Attachments/4') && json(c.document).includes('"Add"') });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: M }), host: b.host, uvm: vm }));
    assert.match(
      err.message,
      /^adding SCSI mount \{Destination:C:\\evd Type:extensible-virtual-disk Source:evd:\/\/space\/\{pool-id\}\{vdisk-id\} Options:\[\]\}: failed to modify UVM with new SCSI mount: adding VM resources: hcs::System::Modify pod1@vm: /,
    );
    assert.equal(err.op, 'mounts.scsi');
    const failed = b.host.calls.findIndex((c) => c.outcome !== undefined && c.outcome !== 'ok');
    assert.deepEqual(released(b, failed + 1), [
      ...scsiRemove('C:\\mounts\\m7', 3),
      ...scsiRemove('C:\\mounts\\m6', 2),
      ...fromM4,
    ]);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], baselineWithSandbox());
  });

  it('docs/differences.md#difference-2: a failed mount release does not stop the release; layers are released and every failure reported', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: M }), host: b.host, uvm: vm });
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => json(c.document) === json({ ResourcePath: VSMB_SHARES, RequestType: 'Remove', Settings: { Name: 's4' } }) });
    const before = b.host.calls.length;
    const err = await rejects(a.resources.release({ all: true }));
    assert.ok(err instanceof ReleaseError);
    assert.equal(err.errors.length, 1);
    assert.match(err.errors[0]!.message, /^failed to remove VSMB share: failed to remove vsmb share C:\\data\\ro from pod1@vm: &\{ResourcePath:VirtualMachine\/Devices\/VirtualSmb\/Shares RequestType:Remove Settings:\{Name:s4 .*\}: hcs::System::Modify pod1@vm: /);
    assert.ok(released(b, before).includes(`GuestRequest ${json({ RequestType: 'Remove', ResourceType: 'CombinedLayers', Settings: { ContainerRootPath: 'C:\\c\\1' } })}`));
    // The second release retries exactly what failed.
    const again = b.host.calls.length;
    await a.resources.release({ all: true });
    assert.deepEqual(released(b, again), [remove('s4')]);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], baselineWithSandbox());
  });
});
