// Under wine with the stand-in DLLs removed: the module still loads, the Win32
// surface reports ERR_PLATFORM_UNSUPPORTED, and the rest of the package works.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocateWindowsResources } from '../../../lib/allocate';
import { NativeHost } from '../../../lib/host/native';
import { SimulatedHost } from '../../../lib/host/simulated';
import { native } from '../../../lib/native';

describe('without the HCS DLLs (wine, stand-ins removed)', () => {
  it('loads the module and reports the Win32 surface unavailable', () => {
    const win = native().win;
    assert.equal(win.available, false);
    const probe = win.probe();
    assert.equal(probe['computecore.dll'].available, false);
    assert.equal(probe['vmcompute.dll'].available, false);
    assert.match(probe['computecore.dll'].problem ?? '', /computecore\.dll could not be loaded/);
  });

  it('NativeHost calls reject with ERR_PLATFORM_UNSUPPORTED', async () => {
    const host = new NativeHost();
    assert.equal(host.available, false);
    await assert.rejects(host.openUtilityVm('pod1@vm'), { code: 'ERR_PLATFORM_UNSUPPORTED', op: 'HcsOpenComputeSystem' });
    await assert.rejects(host.activateLayer('C:\\layers\\x'), { code: 'ERR_PLATFORM_UNSUPPORTED', op: 'ActivateLayer' });
    await assert.rejects(host.modifyServiceSettings({}), { code: 'ERR_PLATFORM_UNSUPPORTED' });
    await assert.rejects(async () => native().win.formatWritableLayerVhd(1), { code: 'ERR_INVALID_ARGUMENT' });
  });

  it("CimFS calls fail as hcsshim's lazily loaded DLLs fail: 'Failed to load cimfs.dll: …', wrapped as hcsshim wraps it", async () => {
    const host = new NativeHost();
    const guid = '0aa549ee-f8c9-5b7e-86ac-70393f0fd498';
    await assert.rejects(host.cimMountImage('C:\\s', '6.cim', 0, guid), (e: Error) => /^Failed to load cimfs\.dll: \S/.test(e.message));
    await assert.rejects(host.attachOverlayFilter('C:\\', { SchemaVersion: {}, FilterType: 'UnionFS' }), { message: /^Failed to load computestorage\.dll: \S/ });
    // The layer folders exist (the host preflight checks them), so the CIM mount is what fails.
    for (const d of ['C:\\s\\6', 'C:\\s\\7']) fs.mkdirSync(d, { recursive: true });
    const rootfs = [{ type: 'CimFS', source: 'C:\\s\\7', options: ['parentLayerPaths=["C:\\\\s\\\\6"]', 'parentCimPaths=["C:\\\\s\\\\6.cim"]'] }];
    await assert.rejects(allocateWindowsResources({ id: 'c1', spec: {}, rootfs, host }), (e: Error) =>
      e.message.startsWith(`failed to mount container storage: mount forked layer cim: cim Mount C:\\s\\6.cim ${guid}: Failed to load cimfs.dll: `),
    );
  });

  it('the rest of the package stays usable in the same process', async () => {
    const host = new SimulatedHost({ root: fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-unsup-')), stateDir: false });
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    await uvm.modify({ ResourcePath: 'VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/1f3c9d2e-0000-0000-0000-000000000001', RequestType: 'Update', Settings: {} });
    assert.equal(host.calls.at(-1)?.outcome, 'ok');
  });
});
