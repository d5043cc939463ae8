// hcsshim main's additive features (docs/rootfs.md#additions-from-hcsshim-main): `uvm://` pod pipes (U1-U4) and
// the `gpu` device id type for hypervisor isolation (G1, G2). Each changes nothing for input
// v0.11.4 accepted; behaviour changes of main (U5, direct-mapped shares, PropagateNumaAffinity)
// are not adopted (README "hcsshim main differs").

import * as assert from 'node:assert/strict';
import { allocateWindowsResources, planWindowsResources } from '../../lib/allocate';
import type { SimulatedCall } from '../../lib/host/simulated';
import type { UtilityVm } from '../../lib/host/types';
import { bench, json, L1, L3, rejects, S, spec, type Bench } from '../allocate/fixtures';

const TOOL = 'C:\\ContainerPlat\\device-util.exe';
const UVM_PIPE = { source: 'uvm://\\\\.\\pipe\\uvmPipe', destination: '\\\\.\\pipe\\containerPipe' };
const HOST_PIPE = { source: '\\\\.\\pipe\\foo', destination: '\\\\.\\pipe\\bar' };
const G1 = 'PCI\\VEN_10DE&DEV_2236\\6&17F903&0&00400000';

/** Calls with the per-allocation VMBus GUIDs masked. */
const masked = (calls: readonly SimulatedCall[]): string =>
  json(calls.map((c) => [c.api, c.target, c.document])).replace(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<guid>');

describe('hcsshim main additive: uvm:// pod pipes (U1-U4)', () => {
  let b: Bench;
  let vm: UtilityVm;
  beforeEach(async () => {
    b = await bench();
    vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
  });
  afterEach(() => b.done());

  it('U1: no HCS call — the same calls as without the mount; MappedPipes names \\\\.\\pipe\\<pod id>\\<name> (UVM id without @vm)', async () => {
    const other = await bench();
    try {
      const vm2 = await other.host.createUtilityVm({ id: 'pod1@vm' });
      const base = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: other.host, uvm: vm2 });
      const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [UVM_PIPE] }), host: b.host, uvm: vm });
      assert.equal(masked(b.host.calls), masked(other.host.calls));
      assert.equal(base.containerDocument().MappedPipes, undefined);
      assert.equal(json(a.containerDocument().MappedPipes), json([{ ContainerPipeName: 'containerPipe', HostPath: '\\\\.\\pipe\\pod1\\uvmPipe' }]));
      await a.resources.release({ all: true });
      // Planned once c1 has given its scratch back (preflight refuses a scratch in use).
      const plan = await planWindowsResources({ id: 'c2', spec: spec([L3, L1, S], { mounts: [UVM_PIPE] }), host: b.host, uvm: vm });
      assert.ok(!plan.calls.some((c) => c.op === 'mounts.pipe' || c.op === 'mounts.vsmb'));
    } finally {
      await other.done();
    }
  });

  it('U1 + U2: host and pod pipes keep spec order; the host pipe is added and removed as in v0.11.4', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [HOST_PIPE, UVM_PIPE] }), host: b.host, uvm: vm });
    const adds = b.host.calls.filter((c) => c.api === 'HcsModifyComputeSystem' && json(c.document).includes('MappedPipes'));
    assert.equal(json(adds.map((c) => c.document)), json([{ ResourcePath: 'VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo', RequestType: 'Add' }]));
    assert.equal(
      json(a.containerDocument().MappedPipes),
      json([
        { ContainerPipeName: 'bar', HostPath: '\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\IPC$\\foo' },
        { ContainerPipeName: 'containerPipe', HostPath: '\\\\.\\pipe\\pod1\\uvmPipe' },
      ]),
    );
    await a.resources.release({ all: true });
  });

  it('U3 not adopted: uvm:// with a non-pipe destination fails as v0.11.4 fails it (a VSMB share of no file)', async () => {
    const e = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [{ source: 'uvm://\\\\.\\pipe\\a', destination: 'C:\\a' }] }), host: b.host, uvm: vm }));
    // The missing share source is found by the host preflight now (docs/differences.md#difference-9).
    assert.equal(e.op, 'preflight');
  });

  it('U4 not adopted: process isolation resolves a uvm:// source as v0.11.4 does, and fails', async () => {
    const e = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], { mounts: [UVM_PIPE] }), host: b.host }));
    assert.match(e.message, /^failed to resolve path for mount source "uvm:/);
  });
});

describe('hcsshim main additive: the gpu device id type (G1, G2)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  /** One allocation with the device on a fresh machine: its calls (VMBus GUIDs masked) and rewritten devices. */
  async function run(idType: string, id: string, locations: string[]): Promise<{ calls: string; devices: unknown }> {
    const m = await bench();
    try {
      await m.file(TOOL, 'MZ');
      const uvm = await m.host.createUtilityVm({ id: 'pod1@vm' });
      m.host.setDeviceLocationPaths(id.replace(/\\\d+$/, ''), locations);
      const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], {}, { devices: [{ id, idType }] }), host: m.host, uvm });
      const out = { calls: masked(m.host.calls), devices: a.spec.windows!.devices };
      await a.resources.release({ all: true });
      return out;
    } finally {
      await m.done();
    }
  }

  it('G1: gpu is assigned exactly like vpci — same VirtualPci Add (DeviceInstancePath), device-util, location paths', async () => {
    const locations = ['PCIROOT(0)#PCI(0300)#PCI(0000)'];
    const gpu = await run('gpu', G1, locations);
    assert.deepEqual(gpu, await run('vpci', G1, locations));
    assert.ok(gpu.calls.includes(json({ Functions: [{ DeviceInstancePath: G1 }] })));
    assert.deepEqual(gpu.devices, [{ id: locations[0], idType: 'vpci-location-path' }]);
  });

  it('G2: a trailing \\2 is virtual function 2, as for vpci', async () => {
    const gpu = await run('gpu', `${G1}\\2`, ['PCIROOT(0)#PCI(0300)#PCI(0002)']);
    assert.ok(gpu.calls.includes(json({ Functions: [{ DeviceInstancePath: G1, VirtualFunction: 2 }] })));
  });

  it('gpu stays unsupported for process isolation (v0.11.4 and main agree)', async () => {
    const e = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S], {}, { devices: [{ id: G1, idType: 'gpu' }] }), host: b.host }));
    assert.equal(e.message, `specified device ${G1} has unsupported type gpu`);
  });
});
