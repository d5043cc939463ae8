import * as assert from 'node:assert/strict';
import { SimulatedHost, STATE_CHANGING_APIS } from '../../lib/host/simulated';
import { SHARES, makeDir, newHost, rejection } from './support';

const share = (name: string) => ({ ResourcePath: SHARES, RequestType: 'Add' as const, Settings: { Name: name, Path: 'C:\\layers\\L1', Options: { ReadOnly: true } } });

describe('simulated host: faults, latency, concurrency', () => {
  let host: SimulatedHost;
  beforeEach(() => {
    host = newHost();
    makeDir(host.root, 'C:\\layers\\L1');
  });

  it('a compute-system fault fails with the HRESULT and an HCS result document, and changes nothing', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    const result = { Error: 0x8037011f | 0, ErrorMessage: 'The virtual machine or container exited unexpectedly while starting.', ErrorEvents: [{ Message: 'worker process crashed', Provider: 'hcs' }] };
    const fault = host.injectFault({ api: 'HcsModifyComputeSystem', hresult: 0x8037011f | 0, result });
    const err = await rejection(uvm.modify(share('s1')));
    assert.equal(err.hresult, '0x8037011F');
    assert.deepEqual(err.result, result);
    assert.equal(err.message, 'hcs::System::Modify pod1@vm: The virtual machine or container exited unexpectedly while starting.\n[Event Detail: worker process crashed Provider: hcs]');
    assert.equal(fault.fired, 1);
    assert.deepEqual(host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
    await uvm.modify(share('s1'));
  });

  it('nth and times select which matching calls fail; remove() stops the fault', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    const fault = host.injectFault({ api: 'HcsModifyComputeSystem', nth: 2, times: 2 });
    const outcomes: string[] = [];
    for (const name of ['s1', 's2', 's3', 's4']) outcomes.push(await uvm.modify(share(name)).then(() => 'ok', (e: { code: string }) => e.code));
    assert.deepEqual(outcomes, ['ok', 'ERR_HCS', 'ERR_HCS', 'ok']);
    assert.equal(fault.fired, 2);
    const forever = host.injectFault({ api: 'HcsModifyComputeSystem', times: Infinity });
    await rejection(uvm.modify(share('s5')));
    forever.remove();
    await uvm.modify(share('s5'));
  });

  it('match sees the recorded call; api "*" with mutating fails the kth state-changing call', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => (c.document as { Settings: { Name: string } }).Settings.Name === 's2' });
    await uvm.modify(share('s1'));
    await rejection(uvm.modify(share('s2')));
    await host.nameToGuid('x');
    host.injectFault({ api: '*', match: (c) => c.mutating, nth: 2 });
    await host.nameToGuid('y'); // not state-changing: not counted
    await uvm.modify(share('s3'));
    const err = await rejection(uvm.exec({ CommandLine: 'cmd /c mkdir C:\\x' }));
    assert.equal(err.message, 'guest RPC failure: Unspecified error');
    assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.directories, []);
    assert.ok(STATE_CHANGING_APIS.has('Exec') && !STATE_CHANGING_APIS.has('NameToGuid'));
  });

  it('faults read like the real API for vmcompute, guest and service calls; Exec can exit instead', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    host.injectFault({ api: 'PrepareLayer', hresult: 0x80070015 | 0 });
    assert.equal((await rejection(host.prepareLayer('C:\\layers\\L1', []))).message, 'hcsshim::PrepareLayer failed in Win32: The device is not ready. (0x15)');
    host.injectFault({ api: 'GuestRequest', hresult: 0x80070005 | 0 });
    const guest = await rejection(uvm.guestRequest({ RequestType: 'Remove', ResourceType: 'CombinedLayers', Settings: { ContainerRootPath: 'C:\\c\\1' } }));
    assert.deepEqual([guest.code, guest.hresult], ['ERR_GUEST', '0x80070005']);
    host.injectFault({ api: 'HcsModifyServiceSettings' });
    assert.match((await rejection(host.modifyServiceSettings({ PropertyType: 'ContainerCredentialGuard', Settings: { Operation: 'RemoveInstance', OperationDetails: { Id: 'c1' } } }))).message, /^hcs::ModifyServiceSettings: Unspecified error\n/);
    host.injectFault({ api: 'Exec', exitCode: 1, stderr: 'X' });
    assert.deepEqual(await uvm.exec({ CommandLine: 'cmd /c mkdir C:\\x' }), { exitCode: 1, stdout: '', stderr: 'X' });
    assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.directories, []);
  });

  it('records every call in order with its outcome and what it returned', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    await uvm.modify(share('s1'));
    await rejection(uvm.modify(share('s1')));
    const guid = await host.nameToGuid('f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e');
    assert.equal(guid, '6ba9cac1-7086-5ee9-a197-c465d3f50ad7');
    await uvm.close();
    assert.deepEqual(
      host.calls.map((c) => [c.api, c.target, c.outcome, c.mutating]),
      [
        ['HcsCreateComputeSystem', 'pod1@vm', 'ok', true],
        ['HcsModifyComputeSystem', 'pod1@vm', 'ok', true],
        ['HcsModifyComputeSystem', 'pod1@vm', 'ERR_HCS', true],
        ['NameToGuid', 'f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e', 'ok', false],
        ['HcsCloseComputeSystem', 'pod1@vm', 'ok', false],
      ],
    );
    assert.equal(host.calls[3]!.result, guid);
    host.clearCalls();
    assert.deepEqual(host.calls, []);
  });

  it('a recorded document is a copy: changing the sent object later does not change it', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    const doc = share('s1');
    await uvm.modify(doc);
    doc.Settings.Name = 'changed';
    assert.equal((host.calls[1]!.document as { Settings: { Name: string } }).Settings.Name, 's1');
  });

  it('many concurrent modifies into one UVM keep the state consistent', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    const names = Array.from({ length: 40 }, (_, i) => `s${i + 1}`);
    const results = await Promise.allSettled([...names, ...names].map((n) => uvm.modify(share(n))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 40);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 40);
    assert.deepEqual(host.snapshot().uvms['pod1@vm']!.vsmbShares.map((s) => s.name).sort(), ['os', ...names].sort());
    await Promise.all(names.map((n) => uvm.modify({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: n } })));
    assert.deepEqual(host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('with latency, calls still complete and interleave (one timer per call)', async () => {
    const slow = newHost({ latency: { hostCallMs: 1, guestRequestMs: 1 } });
    makeDir(slow.root, 'C:\\layers\\L1');
    const uvm = await slow.createUtilityVm({ id: 'pod1@vm' });
    await Promise.all(['s1', 's2', 's3'].map((n) => uvm.modify(share(n))));
    await uvm.exec({ CommandLine: 'cmd /c mkdir C:\\x' });
    assert.deepEqual(slow.snapshot().uvms['pod1@vm']!.vsmbShares.map((s) => s.name), ['os', 's1', 's2', 's3']);
    assert.deepEqual(slow.calls.map((c) => c.outcome), ['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('an aborted signal fails the call without changing state', async () => {
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    const err = await rejection(uvm.modify(share('s1'), { signal: AbortSignal.abort() }));
    assert.equal(err.code, 'ERR_ABORTED');
    assert.equal(host.calls[1]!.outcome, 'ERR_ABORTED');
    assert.deepEqual(host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });
});
