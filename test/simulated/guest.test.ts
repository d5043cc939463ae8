import * as assert from 'node:assert/strict';
import { makeCommandLine } from '../../lib/hcs/commandline';
import { DEVICE_UTIL_NAME, PNPUTIL_PATH, VMBUS_CHANNEL_TYPE } from '../../lib/hcs/constants';
import type { SimulatedHost } from '../../lib/host/simulated';
import { commandLineToArgv, splitCmdCommands } from '../../lib/host/simulated/cmdline';
import type { UtilityVm } from '../../lib/host/types';
import { SHARES, makeDir, makeFile, newHost, rejection, scsiPath, shareGuestPath } from './support';

const L1_ID = '6ba9cac1-7086-5ee9-a197-c465d3f50ad7';

describe('simulated host: the guest', () => {
  let host: SimulatedHost;
  let uvm: UtilityVm;
  beforeEach(async () => {
    host = newHost();
    makeDir(host.root, 'C:\\layers\\L1');
    makeFile(host.root, 'C:\\layers\\scratch1\\sandbox.vhdx');
    uvm = await host.createUtilityVm({ id: 'pod1@vm' });
  });

  async function attachScratch(lun: number): Promise<void> {
    const path = await host.resolvePath('C:\\layers\\scratch1\\sandbox.vhdx');
    await host.grantVmAccess('pod1@vm', path);
    await uvm.modify({ ResourcePath: scsiPath(lun), RequestType: 'Add', Settings: { Type: 'VirtualDisk', Path: path } });
  }

  describe('MappedVirtualDisk', () => {
    it('mounts an attached LUN; refuses an unattached LUN, LUN 0, and a second mount; removes only what is mounted', async () => {
      const notAttached = await rejection(uvm.guestRequest({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } }));
      assert.equal(notAttached.code, 'ERR_GUEST');
      assert.equal(notAttached.hresult, '0x80070490');
      assert.equal(notAttached.message, 'guest RPC failure: no SCSI disk is attached at LUN 1');
      assert.equal((await rejection(uvm.guestRequest({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\x' } }))).hresult, '0x80070057');
      await attachScratch(1);
      await uvm.guestRequest({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } });
      assert.equal((await rejection(uvm.guestRequest({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\2', Lun: 1 } }))).hresult, '0x800700B7');
      assert.equal((await rejection(uvm.guestRequest({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\9', Lun: 1 } }))).hresult, '0x80070490');
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.mappedVirtualDisks, [{ lun: 1, containerPath: 'C:\\c\\1' }]);
      await uvm.guestRequest({ RequestType: 'Remove', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } });
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.mappedVirtualDisks, []);
    });

    it('the mount point is a guest directory for processes', async () => {
      await attachScratch(1);
      await uvm.guestRequest({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } });
      assert.equal((await uvm.exec({ CommandLine: 'cmd /c dir C:\\c\\1' })).exitCode, 0);
    });
  });

  describe('CombinedLayers', () => {
    const combine = (path: string) => ({
      RequestType: 'Add' as const,
      ResourceType: 'CombinedLayers' as const,
      Settings: { ContainerRootPath: 'C:\\c\\1', Layers: [{ Id: L1_ID, Path: path }] },
    });

    beforeEach(async () => {
      await uvm.modify({ ResourcePath: SHARES, RequestType: 'Add', Settings: { Name: 's1', Path: 'C:\\layers\\L1', Options: { ReadOnly: true } } });
    });

    it('needs the scratch volume mounted at the root and layers that are VSMB shares; one set per root', async () => {
      const noScratch = await rejection(uvm.guestRequest(combine(shareGuestPath('s1'))));
      assert.equal(noScratch.message, 'guest RPC failure: no scratch volume is mounted at C:\\c\\1');
      await attachScratch(1);
      await uvm.guestRequest({ RequestType: 'Add', ResourceType: 'MappedVirtualDisk', Settings: { ContainerPath: 'C:\\c\\1', Lun: 1 } });
      const noShare = await rejection(uvm.guestRequest(combine(shareGuestPath('s9'))));
      assert.equal(noShare.message, `guest RPC failure: layer path '${shareGuestPath('s9')}' is not a VSMB share of this utility VM`);
      await uvm.guestRequest(combine(shareGuestPath('s1')));
      assert.equal((await rejection(uvm.guestRequest(combine(shareGuestPath('s1'))))).hresult, '0x800700B7');
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.combinedLayers, [
        { containerRootPath: 'C:\\c\\1', layers: [{ Id: L1_ID, Path: shareGuestPath('s1') }] },
      ]);
      const remove = { RequestType: 'Remove' as const, ResourceType: 'CombinedLayers' as const, Settings: { ContainerRootPath: 'C:\\c\\1' } };
      await uvm.guestRequest(remove);
      assert.equal((await rejection(uvm.guestRequest(remove))).message, 'guest RPC failure: no layers are combined at C:\\c\\1');
    });
  });

  describe('processes', () => {
    it('cmd /c mkdir P & dir P creates the directory with its parents, and exits 0 again when it exists', async () => {
      const line = makeCommandLine(['cmd', '/c', 'mkdir', 'C:\\SandboxMounts\\a\\b', '&', 'dir', 'C:\\SandboxMounts\\a\\b']);
      const first = await uvm.exec({ CommandLine: line, User: 'NT AUTHORITY\\SYSTEM', WorkingDirectory: 'C:\\', CreateStdErrPipe: true });
      assert.deepEqual([first.exitCode, first.stderr], [0, '']);
      const again = await uvm.exec({ CommandLine: line });
      assert.deepEqual([again.exitCode, again.stderr], [0, 'A subdirectory or file C:\\SandboxMounts\\a\\b already exists.\r\n']);
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.directories, ['C:\\SandboxMounts', 'C:\\SandboxMounts\\a', 'C:\\SandboxMounts\\a\\b']);
    });

    it('quoted paths with spaces survive; an unquoted & splits the command like cmd.exe', async () => {
      assert.equal((await uvm.exec({ CommandLine: makeCommandLine(['cmd', '/c', 'mkdir', 'C:\\Sandbox Mounts\\x', '&', 'dir', 'C:\\Sandbox Mounts\\x']) })).exitCode, 0);
      const injected = await uvm.exec({ CommandLine: 'cmd /c mkdir C:\\a&calc & dir C:\\a&calc' });
      assert.equal(injected.exitCode, 1);
      assert.match(injected.stderr, /'calc' is not recognized as an internal or external command/);
      assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.directories, ['C:\\Sandbox Mounts', 'C:\\Sandbox Mounts\\x', 'C:\\a']);
    });

    describe('device-util and pnputil through VSMB shares', () => {
      const vmBusGuid = '3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e';
      const instance = 'PCIP\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\6&2A0A8D3B&0&0000';
      const deviceUtil = (exe: string, guid = vmBusGuid) =>
        makeCommandLine([exe, 'children', `--parentID=VMBUS\\${VMBUS_CHANNEL_TYPE}\\{${guid}}`, '--property=location']);

      beforeEach(async () => {
        makeFile(host.root, `C:\\ContainerPlat\\${DEVICE_UTIL_NAME}`);
        makeDir(host.root, 'C:\\drivers\\gpu');
        await uvm.modify({
          ResourcePath: SHARES,
          RequestType: 'Add',
          Settings: { Name: 's3', Path: 'C:\\ContainerPlat', AllowedFiles: [`C:\\ContainerPlat\\${DEVICE_UTIL_NAME}`], Options: { ReadOnly: true, RestrictFileAccess: true, SingleFileMapping: true } },
        });
        await uvm.modify({ ResourcePath: `VirtualMachine/Devices/VirtualPci/${vmBusGuid}`, RequestType: 'Add', Settings: { Functions: [{ DeviceInstancePath: instance }] } });
      });

      it('device-util prints the configured location paths of the device on that VMBus', async () => {
        host.setDeviceLocationPaths(instance, ['PCIROOT(0)#PCI(0300)#PCI(0000)', 'PCIROOT(0)#PCI(0301)#PCI(0000)']);
        const r = await uvm.exec({ CommandLine: deviceUtil(`${shareGuestPath('s3')}\\${DEVICE_UTIL_NAME}`) });
        assert.deepEqual(r, { exitCode: 0, stdout: 'PCIROOT(0)#PCI(0300)#PCI(0000),PCIROOT(0)#PCI(0301)#PCI(0000)\n', stderr: '' });
      });

      it('device-util derives a stable location path by default and fails for an unknown VMBus GUID', async () => {
        const r = await uvm.exec({ CommandLine: deviceUtil(`${shareGuestPath('s3')}\\${DEVICE_UTIL_NAME}`) });
        assert.equal(r.exitCode, 0);
        assert.match(r.stdout, /^PCIROOT\(0\)#PCI\([0-9A-F]{4}\)#PCI\(0000\)\n$/);
        const unknown = await uvm.exec({ CommandLine: deviceUtil(`${shareGuestPath('s3')}\\${DEVICE_UTIL_NAME}`, '00000000-0000-0000-0000-000000000001') });
        assert.equal(unknown.exitCode, 1);
      });

      it('device-util must be reachable through a share that exposes it', async () => {
        const err = await rejection(uvm.exec({ CommandLine: deviceUtil(`${shareGuestPath('s9')}\\${DEVICE_UTIL_NAME}`) }));
        assert.equal(err.code, 'ERR_GUEST');
        assert.equal(err.message, 'guest RPC failure: The system cannot find the file specified.');
      });

      it('pnputil installs from a share: 0 the first time, 259 after; a missing share exits 2', async () => {
        await uvm.modify({ ResourcePath: SHARES, RequestType: 'Add', Settings: { Name: 's4', Path: 'C:\\drivers\\gpu', Options: { ReadOnly: true } } });
        const line = (share: string) => makeCommandLine(['cmd', '/c', PNPUTIL_PATH, '/add-driver', `${shareGuestPath(share)}/*.inf`, '/subdirs', '/install']);
        assert.equal((await uvm.exec({ CommandLine: line('s4') })).exitCode, 0);
        assert.equal((await uvm.exec({ CommandLine: line('s4') })).exitCode, 259);
        assert.equal((await uvm.exec({ CommandLine: line('s7') })).exitCode, 2);
        assert.deepEqual(host.snapshot().uvms['pod1@vm']!.guest.drivers, ['C:\\drivers\\gpu']);
      });
    });

    it('anything else exits 1 with a message', async () => {
      const r = await uvm.exec({ CommandLine: 'powershell -c whoami' });
      assert.equal(r.exitCode, 1);
      assert.notEqual(r.stderr, '');
    });
  });

  describe('command-line parsing', () => {
    it('CommandLineToArgvW: quotes, backslashes before quotes, a quoted argv[0]', () => {
      const argv = (line: string) => commandLineToArgv(line).map((a) => a.value);
      assert.deepEqual(argv('"C:\\Program Files\\x.exe" a\\\\"b c" d\\"e f\\g'), ['C:\\Program Files\\x.exe', 'a\\b c', 'd"e', 'f\\g']);
      assert.deepEqual(argv('x "a ""q"" b"'), ['x', 'a "q" b']);
      for (const args of [['p', 'a b', 'c\\', 'd\\ e\\', 'q"x', '']]) assert.deepEqual(argv(makeCommandLine(args)), args);
    });

    it('cmd.exe splits at unquoted &, &&, || and honours ^', () => {
      assert.deepEqual(splitCmdCommands('a & b && c || d ^& e "f & g"'), [
        { chain: '&', text: 'a' },
        { chain: '&', text: 'b' },
        { chain: '&&', text: 'c' },
        { chain: '||', text: 'd & e "f & g"' },
      ]);
    });
  });
});
