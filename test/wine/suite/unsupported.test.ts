// Under wine with the stand-in DLLs removed: the module still loads, the Win32
// surface reports ERR_PLATFORM_UNSUPPORTED, and the rest of the package works.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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

  it('the rest of the package stays usable in the same process', async () => {
    const host = new SimulatedHost({ root: fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-unsup-')), stateDir: false });
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    await uvm.modify({ ResourcePath: 'VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/1f3c9d2e-0000-0000-0000-000000000001', RequestType: 'Update', Settings: {} });
    assert.equal(host.calls.at(-1)?.outcome, 'ok');
  });
});
