// VSMB shares (docs/mounts.md#vsmb-shares; vectors V1-V3, V14-V16, V19 of docs/mounts.md#vectors, all from S0: layers hold s1, s2).
import assert from 'node:assert/strict';
import { WritableShareDeniedError } from '../../lib/errors';
import { SH, line, s0 } from './helpers';

const SHARES = 'VirtualMachine/Devices/VirtualSmb/Shares';
const hcs = (doc: unknown): string => line('HcsModifyComputeSystem', doc);

describe('uvm VSMB shares', () => {
  it('V1: a writable directory is a new share s3 with empty options, at SH\\s3', async () => {
    const { uvm, rec } = await s0();
    const share = await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(false));
    assert.deepEqual(rec.trace(), [hcs({ ResourcePath: SHARES, RequestType: 'Add', Settings: { Name: 's3', Path: 'C:\\data\\rw', Options: {} } })]);
    assert.equal(share.guestPath, `${SH}\\s3`);
    assert.equal(await uvm.vsmbUvmPath('C:\\data\\rw', false), `${SH}\\s3`);
    rec.clear();
    await share.release();
    assert.deepEqual(rec.trace(), [hcs({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 's3' } })]);
  });

  it('V2: a read-only directory gets ReadOnly, ShareRead, CacheIo, PseudoOplocks in schema order', async () => {
    const { uvm, rec } = await s0();
    await uvm.addVsmb('C:\\data\\ro', uvm.defaultVsmbOptions(true));
    assert.equal(
      JSON.stringify(rec.documents('HcsModifyComputeSystem')[0]),
      '{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Add","Settings":{"Name":"s3","Path":"C:\\\\data\\\\ro","Options":{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"PseudoOplocks":true}}}',
    );
  });

  it('NoDirectmap comes from fullyPhysicallyBacked or vsmbNoDirectMap', async () => {
    const { uvm, vm } = await s0();
    assert.deepEqual(uvm.defaultVsmbOptions(false), {});
    vm.fullyPhysicallyBacked = true;
    assert.deepEqual(uvm.defaultVsmbOptions(false), { NoDirectmap: true });
    vm.fullyPhysicallyBacked = false;
    vm.vsmbNoDirectMap = true;
    assert.deepEqual(uvm.defaultVsmbOptions(true), { ReadOnly: true, ShareRead: true, CacheIo: true, NoDirectmap: true, PseudoOplocks: true });
  });

  it('V3: a single file shares its directory, restricted to AllowedFiles, and is found at SH\\s3\\app.json', async () => {
    const { uvm, rec } = await s0();
    const options = uvm.defaultVsmbOptions(false);
    const share = await uvm.addVsmb('C:\\data\\cfg\\app.json', options);
    assert.deepEqual(options, {}, 'the caller\'s options are not mutated');
    assert.deepEqual(rec.trace(), [
      hcs({
        ResourcePath: SHARES,
        RequestType: 'Add',
        Settings: { Name: 's3', Path: 'C:\\data\\cfg', AllowedFiles: ['C:\\data\\cfg\\app.json'], Options: { RestrictFileAccess: true, SingleFileMapping: true } },
      }),
    ]);
    assert.deepEqual([share.hostPath, share.isDirShare], ['C:\\data\\cfg', false]);
    assert.equal(await uvm.vsmbUvmPath('C:\\data\\cfg\\app.json', false), `${SH}\\s3\\app.json`);
  });

  it('V3b: a second file of the directory grows AllowedFiles with an Update of the same share', async () => {
    const { uvm, rec } = await s0();
    await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(false));
    rec.clear();
    await uvm.addVsmb('C:\\data\\cfg\\b.json', uvm.defaultVsmbOptions(false));
    assert.deepEqual(rec.trace(), [
      hcs({
        ResourcePath: SHARES,
        RequestType: 'Update',
        Settings: {
          Name: 's3',
          Path: 'C:\\data\\cfg',
          AllowedFiles: ['C:\\data\\cfg\\app.json', 'C:\\data\\cfg\\b.json'],
          Options: { RestrictFileAccess: true, SingleFileMapping: true },
        },
      }),
    ]);
    assert.equal(uvm.refcounts().vsmb.find((s) => s.name === 's3')?.refCount, 2);
  });

  it('ro single file: the read-only options and the file flags in schema order', async () => {
    const { uvm, rec } = await s0();
    await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(true));
    assert.equal(
      JSON.stringify((rec.documents('HcsModifyComputeSystem')[0] as { Settings: { Options: unknown } }).Settings.Options),
      '{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"RestrictFileAccess":true,"PseudoOplocks":true,"SingleFileMapping":true}',
    );
  });

  it('docs/differences.md#difference-3: a single-file share is removed when its last file is released (v0.11.4 failed here)', async () => {
    // v0.11.4 (docs/mounts.md#removing-a-share) released the share by its parent directory, looked it up among
    // the directory shares and failed with `failed to remove VSMB share: C:\data\cfg is not
    // present as a VSMB share in pod1@vm, cannot remove` — the share stayed in the UVM.
    const { uvm, rec, vm } = await s0();
    const app = await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(false));
    const b = await uvm.addVsmb('C:\\data\\cfg\\b.json', uvm.defaultVsmbOptions(false));
    rec.clear();
    await app.release();
    assert.deepEqual(rec.trace(), [], 'b.json still holds it');
    await b.release();
    assert.deepEqual(rec.trace(), [hcs({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 's3' } })]);
    assert.equal(vm.hcs.has('share:s3'), false);
    assert.deepEqual(uvm.refcounts().vsmb.map((s) => s.name), ['s1', 's2']);
  });

  it('a file share and a directory share of one directory are distinct, and each releases its own', async () => {
    const { uvm, rec } = await s0();
    const dirShare = await uvm.addVsmb('C:\\data\\cfg', uvm.defaultVsmbOptions(false));
    const fileShare = await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(false));
    assert.deepEqual([dirShare.name, fileShare.name], ['s3', 's4']);
    rec.clear();
    await fileShare.release();
    assert.deepEqual(rec.trace(), [hcs({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 's4' } })]);
  });

  it('V14: ro and rw of one directory are two shares; V15: ro twice is one share, removed by the last release', async () => {
    const { uvm, rec } = await s0();
    const rw = await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(false));
    const ro1 = await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(true));
    assert.deepEqual([rw.name, ro1.name], ['s3', 's4']);
    rec.clear();
    const ro2 = await uvm.addVsmb('C:\\data\\rw\\', uvm.defaultVsmbOptions(true));
    assert.deepEqual(rec.trace(), [], 're-adding a directory share sends nothing (the key uses the clean path)');
    assert.equal(ro2.name, 's4');
    await ro1.release();
    assert.deepEqual(rec.trace(), []);
    await ro2.release();
    assert.deepEqual(rec.trace(), [hcs({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 's4' } })]);
  });

  it('share names count in hex and are never reused: s9, sa, …', async () => {
    const { uvm, host } = await s0();
    const names = [];
    for (let i = 3; i <= 11; i++) {
      host.files.set(`C:\\d${i}`, 'dir');
      const share = await uvm.addVsmb(`C:\\d${i}`, uvm.defaultVsmbOptions(true));
      names.push(share.name);
      await share.release();
    }
    assert.deepEqual(names, ['s3', 's4', 's5', 's6', 's7', 's8', 's9', 'sa', 'sb']);
  });

  it('V16: a writable share on a UVM that denies them fails first — no stat, no name consumed', async () => {
    const { uvm, rec, vm } = await s0();
    vm.noWritableFileShares = true;
    await assert.rejects(uvm.addVsmb('C:\\nope', uvm.defaultVsmbOptions(false)), (err: unknown) => {
      assert.ok(err instanceof WritableShareDeniedError);
      assert.equal(err.code, 'ERR_WRITABLE_SHARE_DENIED');
      assert.equal(err.message, 'adding writable shares is denied: operation denied');
      return true;
    });
    assert.equal((await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(true))).name, 's3');
    assert.equal(rec.calls.length, 1);
  });

  it('V19: a missing host path fails like Go\'s os.Stat and sends nothing', async () => {
    const { uvm, rec } = await s0();
    await assert.rejects(uvm.addVsmb('C:\\nope', uvm.defaultVsmbOptions(false)), {
      code: 'ERR_NOT_FOUND',
      message: 'GetFileAttributesEx C:\\nope: The system cannot find the file specified.',
    });
    assert.deepEqual(rec.trace(), []);
  });

  it('a failed Add stores nothing but burns its name', async () => {
    const { uvm, rec } = await s0();
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(false)), {
      code: 'ERR_HCS',
      message: 'hcs::System::Modify pod1@vm: Unspecified error',
    });
    await assert.rejects(uvm.vsmbUvmPath('C:\\data\\rw', false), { code: 'ERR_NOT_FOUND', message: 'not attached' });
    assert.equal((await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(false))).name, 's4');
  });

  it('a failed Update keeps the old AllowedFiles', async () => {
    const { uvm, rec } = await s0();
    await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(false));
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(uvm.addVsmb('C:\\data\\cfg\\b.json', uvm.defaultVsmbOptions(false)));
    assert.deepEqual(uvm.refcounts().vsmb.find((s) => s.name === 's3'), {
      name: 's3',
      hostPath: 'C:\\data\\cfg',
      readOnly: false,
      isDirShare: false,
      allowedFiles: ['C:\\data\\cfg\\app.json'],
      refCount: 1,
    });
  });

  it('release re-stats the host path: a deleted directory fails the release and removes nothing; a retry succeeds', async () => {
    const { uvm, rec, host } = await s0();
    const share = await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(false));
    host.files.delete('C:\\data\\rw');
    rec.clear();
    await assert.rejects(share.release(), {
      code: 'ERR_NOT_FOUND',
      message: 'failed to remove VSMB share: GetFileAttributesEx C:\\data\\rw: The system cannot find the file specified.',
    });
    assert.deepEqual(rec.trace(), []);
    host.files.set('C:\\data\\rw', 'dir');
    await share.release();
    assert.deepEqual(rec.calls.map((c) => c.api), ['HcsModifyComputeSystem']);
  });

  it('a failed Remove reads like hcsshim\'s (with %+v of the request) and keeps the share for a retry', async () => {
    const { uvm, rec } = await s0();
    const share = await uvm.addVsmb('C:\\data\\rw', uvm.defaultVsmbOptions(false));
    rec.inject({ api: 'HcsModifyComputeSystem' });
    await assert.rejects(share.release(), {
      code: 'ERR_HCS',
      message:
        'failed to remove VSMB share: failed to remove vsmb share C:\\data\\rw from pod1@vm: ' +
        '&{ResourcePath:VirtualMachine/Devices/VirtualSmb/Shares RequestType:Remove Settings:{Name:s3 Path: AllowedFiles:[] Options:<nil>} GuestRequest:<nil>}: ' +
        'hcs::System::Modify pod1@vm: Unspecified error',
    });
    assert.equal(uvm.refcounts().vsmb.find((s) => s.name === 's3')?.refCount, 0);
    rec.clear();
    await share.release();
    await share.release();
    assert.deepEqual(rec.trace(), [hcs({ ResourcePath: SHARES, RequestType: 'Remove', Settings: { Name: 's3' } })]);
  });

  it('vsmbUvmPath: `not attached` for an unknown key, an error for an empty path', async () => {
    const { uvm } = await s0();
    await uvm.addVsmb('C:\\data\\ro', uvm.defaultVsmbOptions(true));
    await assert.rejects(uvm.vsmbUvmPath('C:\\data\\ro', false), { message: 'not attached' });
    await assert.rejects(uvm.vsmbUvmPath('', true), { code: 'ERR_INVALID_ARGUMENT', message: 'no hostPath passed to GetVSMBUvmPath' });
  });

  it('concurrent file adds of one directory each send the list including every earlier file', async () => {
    const { uvm, rec, host } = await s0();
    rec.interleave = true;
    const files = ['a', 'b', 'c', 'd'].map((n) => `C:\\data\\cfg\\${n}.txt`);
    for (const f of files) host.files.set(f, 'file');
    await Promise.all(files.map((f) => uvm.addVsmb(f, uvm.defaultVsmbOptions(true))));
    const lists = rec.documents('HcsModifyComputeSystem').map((d) => (d as { Settings: { AllowedFiles: string[] } }).Settings.AllowedFiles.length);
    assert.deepEqual(lists, [1, 2, 3, 4]);
    assert.deepEqual(rec.documents('HcsModifyComputeSystem').map((d) => (d as { RequestType: string }).RequestType), ['Add', 'Update', 'Update', 'Update']);
  });

  it('describe() names the share, its directory and key', async () => {
    const { uvm } = await s0();
    const share = await uvm.addVsmb('C:\\data\\cfg\\app.json', uvm.defaultVsmbOptions(true));
    assert.equal(
      JSON.stringify(share.describe()),
      '{"kind":"vsmb","uvmId":"pod1@vm","name":"s3","hostPath":"C:\\\\data\\\\cfg","readOnly":true,"isDirShare":false}',
    );
  });
});
