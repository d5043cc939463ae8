// Off Windows the addon's Win32 surface exists with every name and fails with
// ERR_PLATFORM_UNSUPPORTED; NativeHost rejects with it; the package stays usable.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PlatformUnsupportedError, WcowError } from '../../lib/errors';
import { NativeHost } from '../../lib/host/native';
import type { NativeWin } from '../../lib/host/native/native-types';
import { SimulatedHost } from '../../lib/host/simulated';
import { callNative, native } from '../../lib/native';

// native/win/surface.h's list, as lib/host/native/native-types.ts types it.
const SURFACE: readonly (keyof NativeWin)[] = [
  'openComputeSystem', 'closeComputeSystem', 'modifyComputeSystem', 'getComputeSystemProperties', 'createProcess',
  'modifyServiceSettings', 'getServiceProperties', 'grantVmAccess', 'revokeVmAccess',
  'initializeWritableLayer', 'attachLayerStorageFilter', 'detachLayerStorageFilter', 'formatWritableLayerVhd',
  'getLayerVhdMountPath', 'setupBaseOsLayer', 'attachOverlayFilter', 'detachOverlayFilter',
  'cimMountImage', 'cimDismountImage',
  'createVirtualDisk', 'openVirtualDisk', 'attachVirtualDisk', 'detachVirtualDisk', 'getVirtualDiskPhysicalPath', 'closeHandle',
  'nameToGuid', 'activateLayer', 'deactivateLayer', 'prepareLayer', 'unprepareLayer', 'getLayerMountPath',
  'createSandboxLayer', 'expandSandboxSize', 'vmcomputeGrantVmAccess', 'resolvePath',
  'openVolume', 'diskLengthInfo', 'extendVolume', 'getDiskFreeSpaceEx',
];

const onWindows = process.platform === 'win32';

(onWindows ? describe.skip : describe)('Win32 surface off Windows', () => {
  it('has exactly the surface.h names, plus available and probe', () => {
    assert.deepEqual(Object.keys(native().win).sort(), [...SURFACE, 'available', 'probe'].sort());
  });

  it('reports itself unavailable, DLL by DLL', () => {
    const win = native().win;
    assert.equal(win.available, false);
    for (const [dll, status] of Object.entries(win.probe())) {
      assert.equal(status.available, false, dll);
      assert.equal(status.problem, 'not a Windows build');
    }
  });

  for (const name of SURFACE) {
    it(`${name} fails with ERR_PLATFORM_UNSUPPORTED, as a WcowError through lib/native.ts`, async () => {
      const fn = native().win[name] as (...args: unknown[]) => unknown;
      await assert.rejects(
        callNative(name, () => fn('C:\\x', '{}')),
        (err: unknown) => err instanceof PlatformUnsupportedError && err.code === 'ERR_PLATFORM_UNSUPPORTED' && err.op === name,
      );
    });
  }

  it('NativeHost calls reject with ERR_PLATFORM_UNSUPPORTED naming the call', async () => {
    const host = new NativeHost();
    assert.equal(host.kind, 'native');
    assert.equal(host.available, false);
    assert.equal(host.build, 0);
    const expect = (op: string) => (err: unknown) => err instanceof WcowError && err.code === 'ERR_PLATFORM_UNSUPPORTED' && err.op === op;
    await assert.rejects(host.openUtilityVm('pod1@vm'), expect('HcsOpenComputeSystem'));
    await assert.rejects(host.nameToGuid('base'), expect('NameToGuid'));
    await assert.rejects(host.activateLayer('C:\\layers\\s'), expect('ActivateLayer'));
    await assert.rejects(host.prepareLayer('C:\\layers\\s', []), expect('PrepareLayer'));
    await assert.rejects(host.grantVmAccess('pod1@vm', 'C:\\s.vhdx'), expect('GrantVmAccess'));
    await assert.rejects(host.modifyServiceSettings({}), expect('HcsModifyServiceSettings'));
    await assert.rejects(host.getServiceProperties({}), expect('HcsGetServiceProperties'));
    await assert.rejects(host.resolvePath('C:\\s.vhdx'), expect('ResolvePath'));
    await assert.rejects(host.stat('C:\\layers'), expect('Stat'));
    await assert.rejects(host.mkdirAll('C:\\layers'), expect('MkdirAll'));
    await assert.rejects(host.openVirtualDisk('C:\\s\\sandbox.vhdx'), expect('OpenVirtualDisk'));
    await assert.rejects(host.attachVirtualDisk(1, 0x20), expect('AttachVirtualDisk'));
    await assert.rejects(host.openVolume('\\\\?\\Volume{x}'), expect('CreateFile'));
    await assert.rejects(host.diskLength(1), expect('IOCTL_DISK_GET_LENGTH_INFO'));
    await assert.rejects(host.diskTotalBytes('\\\\?\\Volume{x}\\'), expect('GetDiskFreeSpaceEx'));
    await assert.rejects(host.extendVolume(1, 8n), expect('FSCTL_EXTEND_VOLUME'));
    await assert.rejects(host.closeHandle(1), expect('CloseHandle'));
  });

  it('NativeHost leaves creating a utility VM to the runtime', async () => {
    await assert.rejects(new NativeHost().createUtilityVm({ id: 'pod1@vm' }), { code: 'ERR_OPERATION_DENIED' });
  });

  it('the package stays usable after the Win32 calls failed', async () => {
    const host = new SimulatedHost({ root: fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-native-')), stateDir: false });
    const uvm = await host.createUtilityVm({ id: 'pod1@vm' });
    await uvm.close();
    assert.deepEqual(host.calls.map((c) => c.outcome), ['ok', 'ok']);
  });
});
