// Hand-written scenarios: the vectors of the project's docs/ pages
// (docs/mounts.md#vectors V1-V19 and the combined M1-M8 case; docs/layers.md#vectors
// V1-V9), each run against hcsshim itself. A vector's `differences` are the
// differences (docs/differences.md) it is expected to show.

import type { OciMount, OciSpec } from '../../lib/oci/types';
import type { ContainerCase, HostSetup, Scenario } from './scenario';

const UVM = { id: 'pod1@vm' };
const L1 = 'C:\\layers\\base';
const L2 = 'C:\\layers\\mid';
const L3 = 'C:\\layers\\app';
const CCG_SPEC = JSON.stringify({
  CmsPlugins: ['ActiveDirectory'],
  DomainJoinConfig: {
    Sid: 'S-1-5-21-1',
    MachineAccountName: 'gmsa1',
    Guid: '11111111-2222-3333-4444-555555555555',
    DnsTreeName: 'contoso.com',
    DnsName: 'contoso.com',
    NetBiosName: 'CONTOSO',
  },
});

/** docs/mounts.md#vectors S0's host: two directories, a file, a VHDX, a physical drive. */
const S0: HostSetup = {
  dirs: [L1, L2, L3, 'C:\\data\\rw', 'C:\\data\\ro', 'C:\\drivers\\gpu', 'C:\\drivers\\net'],
  files: { 'C:\\data\\cfg\\app.json': '{}', 'C:\\data\\cfg\\b.json': '{}' },
  vhdx: ['C:\\disks\\data.vhdx', 'C:\\disks\\evd.vhdx'],
  physicalDrives: [2],
};

interface SpecOptions {
  layers?: string[];
  scratch?: string;
  mounts?: OciMount[];
  hyperv?: boolean;
  annotations?: Record<string, string>;
  credentialSpec?: string;
  devices?: { id: string; idType: string }[];
}

function spec(o: SpecOptions): OciSpec {
  const windows: NonNullable<OciSpec['windows']> = { layerFolders: [...(o.layers ?? [L2, L1]), o.scratch ?? 'C:\\scratch\\c1'] };
  if (o.hyperv !== false) windows.hyperv = {};
  if (o.credentialSpec !== undefined) windows.credentialSpec = o.credentialSpec;
  if (o.devices !== undefined) windows.devices = o.devices;
  return {
    ociVersion: '1.1.0',
    ...(o.annotations !== undefined && { annotations: o.annotations }),
    ...(o.mounts !== undefined && { mounts: o.mounts }),
    windows,
  };
}

function one(name: string, o: SpecOptions, extra: Partial<Scenario> = {}, c: Partial<ContainerCase> = {}): Scenario {
  const hyperv = o.hyperv !== false;
  return { name, uvm: hyperv ? UVM : null, setup: S0, containers: [{ id: 'c1', spec: spec(o), ...c }], ...extra };
}

const M = {
  rw: { destination: 'C:\\rw', source: 'C:\\data\\rw' },
  ro: { destination: 'C:\\ro', source: 'C:\\data\\ro', options: ['RO'] },
  file: { destination: 'C:\\app\\app.json', source: 'C:\\data\\cfg\\app.json' },
  file2: { destination: 'C:\\app\\b.json', source: 'C:\\data\\cfg\\b.json' },
  pipe: { destination: '\\\\.\\pipe\\bar', source: '\\\\.\\pipe\\foo' },
  sandbox: { destination: 'C:\\sb', source: 'sandbox:///a/b' },
  physical: { destination: 'C:\\pd', source: '\\\\.\\PHYSICALDRIVE2', type: 'physical-disk' },
  vhdxRo: { destination: 'C:\\vd', source: 'C:\\disks\\data.vhdx', type: 'virtual-disk', options: ['ro'] },
  vhdx: { destination: 'C:\\vd', source: 'C:\\disks\\data.vhdx', type: 'virtual-disk' },
  evd: { destination: 'C:\\evd', source: 'evd://space/C:\\disks\\evd.vhdx', type: 'extensible-virtual-disk' },
} satisfies Record<string, OciMount>;

const mounts: Scenario[] = [
  one('mounts V1 bind dir rw', { mounts: [M.rw] }),
  one('mounts V2 bind dir ro (RO)', { mounts: [M.ro] }),
  // v0.11.4 cannot remove a single-file share (3); its release then stops before the layers (2).
  one('mounts V3 single file rw', { mounts: [M.file] }, { differences: [2, 3] }),
  one('mounts V3b two files of one folder', { mounts: [M.file, M.file2] }, { differences: [2, 3] }),
  one('mounts V4 named pipe', { mounts: [M.pipe] }),
  one('mounts V5 sandbox', { mounts: [M.sandbox] }),
  one('mounts V5 sandbox mkdir exits 1', { mounts: [M.sandbox] }, { faults: [{ api: 'Exec', exitCode: 1, stderr: 'X' }] }),
  one('mounts V6 physical disk', { mounts: [M.physical] }),
  one('mounts V7 virtual disk ro', { mounts: [M.vhdxRo] }),
  one('mounts V8 extensible virtual disk', { mounts: [M.evd] }),
  one('mounts V9 type bind', { mounts: [M.rw, { ...M.ro, type: 'bind' }] }, { differences: [1] }),
  one('mounts V10 missing source', { mounts: [M.rw, { destination: 'C:\\x', source: '' }] }, { differences: [1] }),
  one('mounts V11 malformed evd', { mounts: [M.rw, { destination: 'C:\\e', source: 'evd://space', type: 'extensible-virtual-disk' }] }, { differences: [1] }),
  one('mounts V12 sandbox traversal', { mounts: [{ destination: 'C:\\w', source: 'sandbox:///../Windows' }] }, { differences: [6] }),
  one('mounts V16 no writable shares, rw dir', { mounts: [M.rw] }, { uvm: { ...UVM, noWritableFileShares: true } }),
  one('mounts V16 no writable shares, ro dir', { mounts: [M.ro] }, { uvm: { ...UVM, noWritableFileShares: true } }),
  // hcsshim adds the first share, then fails at the missing one; our preflight refuses first (9).
  one('mounts V19 missing dir', { mounts: [M.rw, { destination: 'C:\\x', source: 'C:\\nope' }] }, { differences: [9] }),
  one('mounts combined M1-M8', { mounts: [M.rw, M.ro, M.file, M.pipe, M.sandbox, M.physical, M.vhdxRo, M.evd] }, { differences: [2, 3] }),
  one('mounts combined without file, M8 fails', { mounts: [M.rw, M.ro, M.pipe, M.sandbox, M.physical, M.vhdxRo, M.evd] }, { faults: [{ api: 'GrantVmAccess', nth: 3 }] }),
  one('mounts process-isolated dir, ro, pipe', { hyperv: false, mounts: [M.rw, M.ro, M.pipe] }),
  one('mounts process-isolated file', { hyperv: false, mounts: [M.file] }),
  {
    name: 'mounts V13 same VHD in two containers',
    uvm: UVM,
    setup: S0,
    containers: [
      { id: 'c1', spec: spec({ mounts: [M.vhdx] }) },
      { id: 'c2', spec: spec({ scratch: 'C:\\scratch\\c2', mounts: [M.rw, M.vhdx] }) },
    ],
    steps: [{ allocate: 'c1' }, { allocate: 'c2' }, { release: 'c1' }, { release: 'c2' }],
  },
  {
    name: 'mounts V14 ro and rw of one dir in two containers',
    uvm: UVM,
    setup: S0,
    containers: [
      { id: 'c1', spec: spec({ mounts: [{ ...M.rw, options: ['ro'] }] }) },
      { id: 'c2', spec: spec({ scratch: 'C:\\scratch\\c2', mounts: [M.rw] }) },
    ],
  },
  {
    name: 'mounts V15 ro of one dir in two containers',
    uvm: UVM,
    setup: S0,
    containers: [
      { id: 'c1', spec: spec({ mounts: [M.ro] }) },
      { id: 'c2', spec: spec({ scratch: 'C:\\scratch\\c2', mounts: [M.ro] }) },
    ],
    steps: [{ allocate: 'c1' }, { allocate: 'c2' }, { release: 'c1' }, { release: 'c2' }],
  },
];

const gpu = 'PCIP\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\6&2A0A8D3B&0&0000';

const layers: Scenario[] = [
  {
    // CreateContainer takes a container counter value before allocateWindowsResources refuses the spec;
    // the package does not (1): c2 is C:\c\2 in hcsshim, C:\c\1 here.
    name: 'layers V4 no layerFolders, then a second container',
    differences: [1],
    uvm: UVM,
    setup: S0,
    containers: [
      { id: 'c1', spec: { ociVersion: '1.1.0', windows: { hyperv: {} } } },
      { id: 'c2', spec: spec({ scratch: 'C:\\scratch\\c2', mounts: [M.rw] }) },
    ],
  },
  one('layers V1 process-isolated, 3 layers, scratch missing', { hyperv: false, layers: [L3, L2, L1] }),
  one('layers V1 PrepareLayer 0x80070015 twice, then ok', { hyperv: false, layers: [L3, L2, L1] }, {
    faults: [{ api: 'PrepareLayer', times: 2, hresult: 0x80070015 | 0 }],
  }),
  one('layers V1 PrepareLayer fails (not retried)', { hyperv: false, layers: [L3, L2, L1] }, { faults: [{ api: 'PrepareLayer', hresult: 0x80070005 | 0 }] }),
  one('layers V2 hypervisor-isolated, 2 layers', { layers: [L3, L1] }),
  one('layers V2 scratch exists', { layers: [L3, L1] }, { setup: { ...S0, vhdx: [...S0.vhdx!, 'C:\\scratch\\c1\\sandbox.vhdx'] } }),
  one('layers V2 CombinedLayers fails', { layers: [L3, L1] }, { faults: [{ api: 'GuestRequest', nth: 2 }] }),
  one('layers V3a process-isolated pod sandbox', { hyperv: false, annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'p1' } }),
  one('layers V3b hypervisor-isolated pod sandbox', { annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'p1' } }),
  one('layers V3b isSandbox option', {}, {}, { isSandbox: true }),
  // hcsshim leaves a failed pause container's layers in the UVM with nobody to remove them (11).
  // The mount's disk cannot be granted after the layers are in (a fault, not a missing
  // source: the preflight would refuse that before any call, 9).
  one('layers V3b pod sandbox allocation fails', { mounts: [M.vhdx] }, { differences: [11], faults: [{ api: 'GrantVmAccess', nth: 2 }] }, { isSandbox: true }),
  {
    name: 'layers V4 no layerFolders',
    uvm: UVM,
    setup: S0,
    containers: [{ id: 'c1', spec: { ociVersion: '1.1.0', windows: { hyperv: {} } } }],
  },
  one('layers V5 credential spec, process-isolated', { hyperv: false, credentialSpec: CCG_SPEC }),
  // Our CCG release also removes the instance's hvsocket service entry (5).
  one('layers V5 credential spec, hypervisor-isolated', { credentialSpec: CCG_SPEC }, { differences: [5] }),
  one('layers V5 credential spec, partial release', { credentialSpec: CCG_SPEC }, { differences: [5] }, { release: 'partial' }),
  one('layers V5 credential spec, query fails', { credentialSpec: CCG_SPEC }, { faults: [{ api: 'HcsGetServiceProperties' }], differences: [5] }),
  one('layers V6 schema 1.0 requested', { hyperv: false, credentialSpec: CCG_SPEC }, {}, { schemaVersion: { major: 1, minor: 0 } }),
  one('layers V7 class GUID, process-isolated', { hyperv: false, devices: [{ id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'class' }] }),
  // hcsshim shares device-util, then refuses the id type (and leaks the share); we refuse it up front (1).
  one('layers V7 class GUID, hypervisor-isolated', { devices: [{ id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'class' }] }, { differences: [1] }),
  one('layers V8 vpci-location-path, process-isolated', { hyperv: false, devices: [{ id: 'PCIROOT(0)#PCI(0300)#PCI(0000)', idType: 'vpci-location-path' }] }),
  // The device-util share is a single-file share: v0.11.4's release fails on it (3) and stops (2).
  one('layers V8 vpci, two location paths', { devices: [{ id: gpu, idType: 'vpci' }] }, {
    setup: { ...S0, deviceLocations: { [gpu]: ['PCIROOT(0)#PCI(0100)#PCI(0000)', 'PCIROOT(0)#PCI(0100)#PCI(0001)'] } },
    differences: [2, 3],
  }),
  one('layers V8 vpci virtual function', { devices: [{ id: `${gpu}\\2`, idType: 'vpci-instance-id' }] }, { differences: [2, 3] }),
  // The second device's device-util fails: hcsshim leaks the tool share and the first device (4).
  one('layers V8 second device fails', { devices: [{ id: gpu, idType: 'vpci' }, { id: `${gpu}\\1`, idType: 'vpci' }] }, {
    faults: [{ api: 'Exec', nth: 2, exitCode: 1, stderr: 'no such device' }],
    differences: [4],
  }),
  one('layers V8 VPCI add fails', { devices: [{ id: gpu, idType: 'vpci' }] }, { faults: [{ api: 'HcsModifyComputeSystem', nth: 5 }], differences: [4] }),
  one('layers V9 two driver folders', { annotations: { 'io.microsoft.virtualmachine.kerneldrivers': 'C:\\drivers\\gpu,C:\\drivers\\net' } }),
  // CreateContainer's own addSpecGuestDrivers stats them before allocating; the oracle runs allocate only,
  // where hcsshim meets the missing folder last. We check them before the first side effect (9).
  one('layers V9 missing driver folder', { annotations: { 'io.microsoft.virtualmachine.kerneldrivers': 'C:\\drivers\\gpu,C:\\missing' } }, {
    differences: [9],
  }),
  one('layers V9 drivers, process-isolated (ignored)', { hyperv: false, annotations: { 'io.microsoft.virtualmachine.kerneldrivers': 'C:\\drivers\\gpu' } }),
  one('uvm fully physically backed', { mounts: [M.rw, M.ro] }, { uvm: { ...UVM, fullyPhysicallyBacked: true } }),
  one('uvm vsmb no direct map', { mounts: [M.rw, M.ro] }, { uvm: { ...UVM, vsmbNoDirectMap: true } }),
];

export const vectors: Scenario[] = [...mounts, ...layers];
