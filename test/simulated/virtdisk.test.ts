// The simulated virtdisk and scratch volume (lib/host/simulated/virtdisk.ts): what hcsshim
// main's ExpandScratchSize calls, and the rules the model enforces on them.

import * as assert from 'node:assert/strict';
import type { SimulatedHost } from '../../lib/host/simulated';
import { createVhdx } from '../../lib/vhdx';
import { makeDir, makeFile, newHost, real, rejection } from './support';

const S = 'C:\\layers\\scratch1';
const VHD = `${S}\\sandbox.vhdx`;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const BYPASS = 0x20;

async function scratch(host: SimulatedHost, sizeBytes = 10 * GiB): Promise<void> {
  makeDir(host.root, S);
  await createVhdx(real(host.root, VHD), { sizeBytes });
}

/** Open and attach the scratch VHD; its volume path without the trailing `\`. */
async function attach(host: SimulatedHost, flags = BYPASS): Promise<{ disk: number; volume: string }> {
  const disk = await host.openVirtualDisk(VHD);
  await host.attachVirtualDisk(disk, flags);
  return { disk, volume: (await host.getLayerMountPath(S)).slice(0, -1) };
}

describe('simulated host: virtual disks and the scratch volume', () => {
  let host: SimulatedHost;
  beforeEach(() => {
    host = newHost();
  });

  it('an attached sandbox.vhdx shows its scratch volume to GetLayerMountPath until its handle is closed', async () => {
    await scratch(host);
    assert.equal(await host.getLayerMountPath(S), '');
    const { disk, volume } = await attach(host);
    assert.match(volume, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}$/);
    assert.deepEqual(host.snapshot().attachedVirtualDisks, [{ path: VHD, flags: BYPASS }]);
    await host.activateLayer(S).then(
      () => assert.fail('activated an attached scratch'),
      (e: Error & { hresult?: string }) => assert.equal(e.hresult, '0x80070020'),
    );
    await host.closeHandle(disk);
    assert.equal(await host.getLayerMountPath(S), '');
    assert.deepEqual(host.snapshot().attachedVirtualDisks, []);
    // The same volume vmcompute mounts once the scratch is activated.
    await host.activateLayer(S);
    assert.equal(await host.getLayerMountPath(S), `${volume}\\`);
  });

  it('a VHD is attached once: again, or while its scratch is activated, is ERROR_SHARING_VIOLATION', async () => {
    await scratch(host);
    const { disk } = await attach(host);
    const second = await host.openVirtualDisk(VHD);
    const e = await rejection(host.attachVirtualDisk(second, BYPASS));
    assert.deepEqual([e.hresult, e.message], ['0x80070020', 'failed to attach virtual disk: The process cannot access the file because it is being used by another process.']);
    await host.closeHandle(disk);
    await host.closeHandle(second);
    await host.activateLayer(S);
    const third = await host.openVirtualDisk(VHD);
    assert.equal((await rejection(host.attachVirtualDisk(third, BYPASS))).hresult, '0x80070020');
  });

  it('partition = disk − 1 MiB; the fresh volume fills it; ExpandSandboxSize grows the partition, not the volume', async () => {
    await scratch(host);
    await host.expandSandboxSize(S, BigInt(20 * GiB));
    const { disk, volume } = await attach(host);
    const v = await host.openVolume(volume);
    assert.equal(await host.diskLength(v), BigInt(20 * GiB - MiB));
    assert.equal(await host.diskTotalBytes(`${volume}\\`), BigInt(10 * GiB - MiB));
    assert.deepEqual(host.snapshot().volumeSizes, [{ vhd: VHD, bytes: 10 * GiB - MiB }]);
    await host.extendVolume(v, BigInt((20 * GiB - MiB) / 512));
    assert.equal(await host.diskTotalBytes(`${volume}\\`), BigInt(20 * GiB - MiB));
    assert.deepEqual(host.snapshot().volumeSizes, []);
    await host.closeHandle(v);
    await host.closeHandle(disk);
  });

  it('FSCTL_EXTEND_VOLUME refuses growing by one cluster or less, and past the partition (E_INVALIDARG)', async () => {
    await scratch(host);
    await host.setVolumeSize(VHD, 10 * GiB - MiB - 2 * 4096);
    const { volume } = await attach(host);
    const v = await host.openVolume(volume);
    const partitionSectors = BigInt((10 * GiB - MiB) / 512);
    assert.equal((await rejection(host.extendVolume(v, partitionSectors - 8n))).hresult, '0x80070057');
    assert.equal((await rejection(host.extendVolume(v, partitionSectors + 8n))).hresult, '0x80070057');
    await host.extendVolume(v, partitionSectors);
  });

  it('the BitLocker policy write-protects a VHD attached without the bypass flag (hcsshim issue #2464)', async () => {
    host = newHost({ bitlockerDenyWriteAccess: true });
    await scratch(host);
    await host.expandSandboxSize(S, BigInt(20 * GiB));
    const sectors = BigInt((20 * GiB - MiB) / 512);
    const plain = await attach(host, 0);
    const v = await host.openVolume(plain.volume);
    const e = await rejection(host.extendVolume(v, sectors));
    assert.deepEqual([e.code, e.hresult, e.message], ['ERR_IO', '0x80070013', 'The media is write protected.']);
    await host.closeHandle(v);
    await host.closeHandle(plain.disk);
    const bypass = await attach(host, BYPASS);
    const w = await host.openVolume(bypass.volume);
    await host.extendVolume(w, sectors);
    await host.closeHandle(w);
    await host.closeHandle(bypass.disk);
  });

  it('a VHD attached read-only is write-protected, policy or not', async () => {
    await scratch(host);
    await host.setVolumeSize(VHD, 5 * GiB);
    const ro = await attach(host, 0x1 | BYPASS);
    const v = await host.openVolume(ro.volume);
    assert.equal((await rejection(host.extendVolume(v, BigInt((10 * GiB - MiB) / 512)))).hresult, '0x80070013');
  });

  it('PrepareLayer grows the scratch volume to its partition, as vmcompute does', async () => {
    const base = 'C:\\layers\\base';
    makeDir(host.root, base);
    await scratch(host);
    await host.expandSandboxSize(S, BigInt(20 * GiB));
    assert.equal(host.snapshot().volumeSizes.length, 1);
    await host.activateLayer(S);
    await host.prepareLayer(S, [{ layerId: await host.nameToGuid('base'), flags: 0, path: base }]);
    assert.deepEqual(host.snapshot().volumeSizes, []);
  });

  it('refusals: a missing VHD, a file that is no VHD, a volume path with its `\\`, one not mounted, a closed handle', async () => {
    await scratch(host);
    makeFile(host.root, 'C:\\disks\\not.vhdx', 'text');
    assert.deepEqual(
      [(await rejection(host.openVirtualDisk('C:\\disks\\gone.vhdx'))).message, (await rejection(host.openVirtualDisk('C:\\disks\\not.vhdx'))).message],
      ['OpenVirtualDisk C:\\disks\\gone.vhdx: The system cannot find the file specified.', 'OpenVirtualDisk C:\\disks\\not.vhdx: The specified disk is not a virtual disk.'],
    );
    const { disk, volume } = await attach(host);
    assert.equal((await rejection(host.openVolume(`${volume}\\`))).message, `open ${volume}\\: Access is denied.`);
    assert.equal((await rejection(host.diskTotalBytes(volume))).hresult, '0x8007007B');
    await host.closeHandle(disk);
    assert.equal((await rejection(host.openVolume(volume))).message, `open ${volume}: The system cannot find the file specified.`);
    const e = await rejection(host.closeHandle(disk));
    assert.deepEqual([e.hresult, e.message], ['0x80070006', 'The handle is invalid.']);
    assert.deepEqual(
      host.calls.filter((c) => c.api === 'AttachVirtualDisk').map((c) => [c.target, c.args]),
      [[VHD, { flags: BYPASS }]],
    );
  });
});
