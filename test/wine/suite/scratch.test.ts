// Under wine: the scratch expansion of hcsshim main (ExpandScratchSize) through NativeHost →
// the addon's vmcompute and virtdisk calls (the stand-ins, forwarding to the server's
// SimulatedHost) and its kernel32 volume calls (wine's own). Wine has no volume behind the
// model's scratch volume path, so the native sequence ends at the volume's CreateFile —
// which shows the real kernel32 error reaching hcsshim's wording; the volume calls
// themselves are then exercised on what wine does have.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { WcowError } from '../../../lib/errors';
import { NativeHost } from '../../../lib/host/native';
import { native } from '../../../lib/native';
import { expandScratchSize } from '../../../lib/layers/scratch';
import { createVhdx } from '../../../lib/vhdx';
import { control } from './compare';

const SCRATCH = 'C:\\layers\\scratch-expand';
const VHD = `${SCRATCH}\\sandbox.vhdx`;
const GiB = 1024 ** 3;

async function rejection(p: Promise<unknown>): Promise<WcowError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WcowError, String(err));
    return err;
  }
  assert.fail('expected a rejection');
}

describe('scratch expansion: NativeHost under wine', () => {
  before(async () => {
    await control('reset');
    fs.rmSync(SCRATCH, { recursive: true, force: true });
    fs.mkdirSync(SCRATCH, { recursive: true });
    await createVhdx(VHD, { sizeBytes: 10 * GiB });
  });

  it('ExpandSandboxSize, OpenVirtualDisk (version 2), AttachVirtualDisk (no parameters, 0x20), GetLayerMountPath cross the boundary; the volume CreateFile fails with kernel32\'s text', async () => {
    const e = await rejection(expandScratchSize(new NativeHost(), SCRATCH, BigInt(20 * GiB)));
    assert.match(e.message, /^open \\\\\?\\Volume\{[0-9a-f-]{36}\}: The system cannot find the file specified\.$/);
    assert.deepEqual([e.code, e.hresult], ['ERR_IO', '0x80070002']);
    const storage = await control<{ api: string; args: string[] }[]>('storageCalls');
    // OpenVirtualDisk: [handle, path, version, getInfoOnly, readOnly, flags, access]; AttachVirtualDisk: [handle, version, flags]
    assert.deepEqual(storage.map((c) => [c.api, c.args.slice(1)]), [
      ['OpenVirtualDisk', [VHD, '2', '0', '0', '0', '0']],
      ['AttachVirtualDisk', ['0', '32']],
    ]);
    assert.equal(storage[0]!.args[0], storage[1]!.args[0]);
    const calls = await control<{ api: string; target?: string; args?: Record<string, unknown>; outcome?: string }[]>('calls');
    assert.deepEqual(
      calls.map((c) => [c.api, c.outcome]),
      [['ExpandSandboxSize', 'ok'], ['OpenVirtualDisk', 'ok'], ['AttachVirtualDisk', 'ok'], ['GetLayerMountPath', 'ok']],
    );
    assert.deepEqual(calls[2]!.args, { flags: 0x20 });
  });

  it('kernel32: GetDiskFreeSpaceEx totals a volume and names a missing path; CreateFile, the two DeviceIoControls and closeHandle run on a file', async () => {
    const host = new NativeHost();
    const win = native().win;
    assert.ok((await host.diskTotalBytes('C:\\')) > 0n);
    const missing = await rejection(host.diskTotalBytes('C:\\no-such-folder\\'));
    // Wine says "file"; Windows may say "path" (0x80070003): either is kernel32's own answer.
    assert.deepEqual([missing.code, missing.message, missing.hresult], ['ERR_IO', 'The system cannot find the file specified.', '0x80070002']);
    const open = await rejection(host.openVolume('\\\\?\\Volume{00000000-0000-0000-0000-000000000000}'));
    assert.match(open.message, /^open \\\\\?\\Volume\{0{8}-0{4}-0{4}-0{4}-0{12}\}: /);
    const volume = await host.openVolume(VHD);
    // A file is no disk and no volume: wine answers ERROR_NOT_SUPPORTED to both control codes.
    for (const p of [host.diskLength(volume), host.extendVolume(volume, 8n)]) {
      const e = await rejection(p);
      assert.deepEqual([e.code, e.message, e.hresult], ['ERR_IO', 'The request is not supported.', '0x80070032']);
    }
    await host.closeHandle(volume);
    assert.equal(win.closeHandle(volume), false);
    const closed = await rejection(host.closeHandle(volume));
    assert.deepEqual([closed.message, closed.hresult], ['The handle is invalid.', '0x80070006']);
    await assert.rejects(host.extendVolume(volume, 8n), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
