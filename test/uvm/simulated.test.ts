// lib/uvm and lib/resources against the SimulatedHost: what HCS and the guest hold after the
// combined mount scenario (docs/mounts.md#combined-scenario-m1-m8, the per-UVM part), after its release, and after
// overlapping concurrent containers.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimulatedHost } from '../../lib/host/simulated';
import type { UtilityVm } from '../../lib/host/types';
import { Resources } from '../../lib/resources';
import { uvmState, type UvmState } from '../../lib/uvm';

describe('uvm on the simulated host', () => {
  let root: string;
  let host: SimulatedHost;
  let vm: UtilityVm;
  let uvm: UvmState;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-uvm-'));
    for (const d of ['data/rw', 'data/ro', 'data/cfg', 'disks', 'shared']) fs.mkdirSync(path.join(root, 'C', d), { recursive: true });
    fs.writeFileSync(path.join(root, 'C/data/cfg/app.json'), '{}');
    fs.writeFileSync(path.join(root, 'C/disks/data.vhdx'), '');
    host = new SimulatedHost({ root, stateDir: false, latency: { hostCallMs: 1, guestRequestMs: 1 } });
    host.addPhysicalDrive(2);
    vm = await host.createUtilityVm({ id: 'pod1@vm' });
    uvm = uvmState(host, vm);
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('M1-M4, M6, M7 of the combined scenario land in HCS and the guest, and release leaves the baseline', async () => {
    const baseline = host.snapshot().uvms['pod1@vm'];
    const r = new Resources('c1');
    const m = (): string => `C:\\mounts\\m${uvm.mountCounter()}`;
    r.add(await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(false)));
    m();
    r.add(await uvm.addVsmb('C:\\data\\ro', uvm.defaultVsmbOptions(true)));
    m();
    r.add(await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(false)));
    m();
    r.add(await uvm.addPipe('\\\\.\\pipe\\foo'));
    m();
    m(); // M5, a sandbox mount, burns its number too
    r.add(await uvm.addScsi({ hostPath: '\\\\.\\PHYSICALDRIVE2', uvmPath: m(), readOnly: false, type: 'PassThru', grantAccess: true }));
    r.add(await uvm.addScsi({ hostPath: 'C:\\disks\\data.vhdx', uvmPath: m(), readOnly: true, type: 'VirtualDisk', grantAccess: true }));

    const u = host.snapshot().uvms['pod1@vm']!;
    assert.deepEqual(u.scsi[0], baseline!.scsi[0], 'the UVM scratch at LUN 0 is untouched');
    assert.deepEqual(
      u.scsi.slice(1).map((s) => [s.lun, s.type, s.path, s.readOnly, s.guestPath]),
      [
        [1, 'PassThru', '\\\\.\\PHYSICALDRIVE2', false, 'C:\\mounts\\m6'],
        [2, 'VirtualDisk', 'C:\\disks\\data.vhdx', true, 'C:\\mounts\\m7'],
      ],
    );
    const shares = u.vsmbShares.filter((s) => /^s\d+$/.test(s.name));
    assert.deepEqual(
      shares.map((s) => [s.name, s.path, s.allowedFiles]),
      [
        ['s1', 'C:\\data\\rw', []],
        ['s2', 'C:\\data\\ro', []],
        ['s3', 'C:\\data\\cfg', ['C:\\data\\cfg\\app.json']],
      ],
    );
    assert.deepEqual(u.mappedPipes, ['\\\\.\\pipe\\foo']);
    assert.equal(await uvm.vsmbUvmPath('C:\\data\\cfg\\app.json', false), '\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s3\\app.json');

    await r.release({ all: true });
    assert.deepEqual(host.snapshot().uvms['pod1@vm'], baseline);
    assert.deepEqual(uvm.refcounts().scsi.map((s) => s.lun), [0]);
    assert.deepEqual(uvm.refcounts().vsmb, []);
  });

  it('a guest failure on a SCSI add is rolled back in HCS: nothing attached, the LUN free', async () => {
    const baseline = host.snapshot().uvms['pod1@vm'];
    host.injectFault({ api: 'GuestRequest' });
    await assert.rejects(uvm.addScsi({ hostPath: 'C:\\disks\\data.vhdx', uvmPath: 'C:\\mounts\\m1', readOnly: true, type: 'VirtualDisk', grantAccess: true }), {
      code: 'ERR_GUEST',
      message: /^failed to modify UVM with new SCSI mount: guest modify: /,
    });
    assert.deepEqual(host.snapshot().uvms['pod1@vm'], baseline);
    const m = await uvm.addScsi({ hostPath: 'C:\\disks\\data.vhdx', uvmPath: 'C:\\mounts\\m2', readOnly: true, type: 'VirtualDisk', grantAccess: true });
    assert.equal(m.lun, 1);
  });

  it('50 overlapping containers at once end with the baseline in HCS and in the client state', async () => {
    const baseline = host.snapshot().uvms['pod1@vm'];
    for (let i = 0; i < 5; i++) fs.mkdirSync(path.join(root, 'C/shared', `d${i}`));
    for (let i = 0; i < 7; i++) fs.writeFileSync(path.join(root, 'C/disks', `${i}.vhdx`), '');
    const container = async (n: number): Promise<void> => {
      const r = new Resources(`c${n}`);
      r.add(await uvm.addScsi({ hostPath: `C:\\disks\\${n % 7}.vhdx`, uvmPath: `C:\\mounts\\m${uvm.mountCounter()}`, readOnly: true, type: 'VirtualDisk', grantAccess: true }));
      r.add(await uvm.addVsmb(`C:\\shared\\d${n % 5}`, uvm.defaultVsmbOptions(n % 2 === 0)));
      r.add(await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(true)));
      await r.release({ all: true });
    };
    await Promise.all(Array.from({ length: 50 }, (_, n) => container(n)));
    assert.deepEqual(host.snapshot().uvms['pod1@vm'], baseline);
    assert.deepEqual(uvm.refcounts(), { scsi: [{ controller: 0, lun: 0, hostPath: '', uvmPath: '', refCount: 1 }], vsmb: [], vpci: [] });
    assert.ok(host.calls.every((c) => c.outcome === 'ok'), 'no call was refused by the model');
  });
});
