// The keys the simulated host keeps beside its growing state lists (state.ts: `grants`,
// `filesCreated`, the guest's directories) answer what a scan of the list would — whoever
// changed the list: the model, another process sharing the state directory, a state read back.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { SimulatedHost } from '../../lib/host/simulated';
import { addGrant, addUnique, fold, hasGrant, type GrantState } from '../../lib/host/simulated/state';
import { makeFile, rejection, scsiPath, tempRoot } from './support';

const scan = (grants: GrantState[], vmId: string, identity: string) => grants.some((g) => g.vmId === vmId && g.identity === identity);

describe('simulated host: the keys of its state lists', () => {
  it('hasGrant answers what a scan does, after adds, pushes behind its back and a new list', () => {
    const grants: GrantState[] = [];
    const ask = (vmId: string, identity: string) => assert.equal(hasGrant(grants, vmId, identity), scan(grants, vmId, identity), `${vmId} ${identity}`);
    for (let i = 0; i < 50; i++) {
      addGrant(grants, { vmId: `vm${i % 3}`, path: `C:\\d${i % 7}`, identity: `/r/d${i % 7}` });
      ask(`vm${i % 3}`, `/r/d${i % 7}`);
      ask(`vm${(i + 1) % 3}`, `/r/d${i % 7}`);
    }
    assert.equal(grants.length, new Set(grants.map((g) => `${g.vmId} ${g.identity}`)).size, 'each grant once');
    // A grant the model did not make through addGrant (a state from another version) is seen too.
    grants.push({ vmId: 'other', path: 'C:\\x', identity: '/r/x' });
    ask('other', '/r/x');
    // Keys are neither folded nor shared between VMs: the identity is a real path.
    ask('vm0', '/R/D0');
    ask('vm9', '/r/d0');
    const copy = structuredClone(grants);
    copy.push({ vmId: 'vm9', path: 'C:\\y', identity: '/r/y' });
    assert.equal(hasGrant(copy, 'vm9', '/r/y'), true);
    assert.equal(hasGrant(grants, 'vm9', '/r/y'), false);
  });

  it('addUnique keeps a sorted, case-insensitively unique list, also after pushes behind its back', () => {
    const list: string[] = [];
    const words = ['C:\\b', 'C:\\a', 'c:\\B', 'C:\\c\\d', 'C:\\A', 'C:\\c'];
    for (const w of words) addUnique(list, w);
    assert.deepEqual(list, ['C:\\a', 'C:\\b', 'C:\\c', 'C:\\c\\d']);
    list.push('C:\\z');
    addUnique(list, 'c:\\Z');
    assert.deepEqual(list.map(fold), ['c:\\a', 'c:\\b', 'c:\\c', 'c:\\c\\d', 'c:\\z']);
  });

  it('two processes sharing a state directory see each other\'s grants (the keys follow the state read back)', async () => {
    const root = tempRoot();
    const stateDir = `${root}.state`;
    makeFile(root, 'C:\\disks\\a.vhdx');
    makeFile(root, 'C:\\disks\\b.vhdx');
    const one = new SimulatedHost({ root, stateDir });
    const two = new SimulatedHost({ root, stateDir });
    try {
      const vm = await one.createUtilityVm({ id: 'pod1@vm' });
      const other = await two.openUtilityVm('pod1@vm');
      const add = (uvm: typeof vm, lun: number, disk: string) =>
        uvm.modify({ ResourcePath: scsiPath(lun), RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: disk, ReadOnly: true } });
      // `one` asks first (its keys are taken), then `two` grants, then `one` asks again.
      assert.equal((await rejection(add(vm, 1, 'C:\\disks\\a.vhdx'))).hresult, '0x80070005');
      await two.grantVmAccess('pod1@vm', 'C:\\disks\\a.vhdx');
      await add(vm, 1, 'C:\\disks\\a.vhdx');
      await one.grantVmAccess('pod1@vm', 'C:\\disks\\b.vhdx');
      await add(other, 2, 'C:\\disks\\b.vhdx');
      assert.deepEqual(
        one.snapshot().vmAccessGrants.map((g) => g.path),
        ['C:\\disks\\a.vhdx', 'C:\\disks\\b.vhdx'],
      );
      // Granting again changes nothing, from either process.
      await two.grantVmAccess('pod1@vm', 'C:\\disks\\b.vhdx');
      await one.grantVmAccess('pod1@vm', 'c:\\DISKS\\A.vhdx');
      assert.equal(two.toJSON().grants.length, 2);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
