import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { SimulatedHost } from '../../lib/host/simulated';
import { driveVolumeGuid } from '../../lib/host/simulated/fs';
import type { LayerDescriptor } from '../../lib/host/types';
import { createVhdx, inspectVhdx } from '../../lib/vhdx';
import { makeDir, makeFile, newHost, real, rejection } from './support';

const L3 = 'C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e';
const L1 = 'C:\\layers\\f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e';
const S = 'C:\\layers\\scratch1';
const PARENTS: LayerDescriptor[] = [
  { layerId: '6ba9cac1-7086-5ee9-a197-c465d3f50ad7', flags: 0, path: L3 },
  { layerId: '7095521e-b79e-50fc-bafb-958d85400362', flags: 0, path: L1 },
];
const GiB = 1024 ** 3;

describe('simulated host: host file system, vmcompute, HCS service', () => {
  let host: SimulatedHost;
  beforeEach(() => {
    host = newHost();
    makeDir(host.root, L3);
    makeDir(host.root, L1);
  });

  describe('file system', () => {
    it('mkdirAll creates the missing folders on disk and records them; stat sees them', async () => {
      await host.mkdirAll(S);
      assert.ok(fs.statSync(real(host.root, S)).isDirectory());
      assert.deepEqual(await host.stat('c:\\LAYERS\\Scratch1'), { isDirectory: true, isFile: false, size: 0 });
      assert.equal(await host.stat('C:\\layers\\nope'), undefined);
      assert.deepEqual(host.snapshot().filesCreated, ['C:\\layers\\scratch1']);
      makeFile(host.root, 'C:\\f');
      const err = await rejection(host.mkdirAll('C:\\f\\x'));
      assert.equal(err.code, 'ERR_IO');
      assert.equal(err.message, 'mkdir C:\\f\\x: not a directory');
    });

    it('resolvePath answers the GUID volume path in on-disk spelling, or fails like CreateFile', async () => {
      makeFile(host.root, `${S}\\sandbox.vhdx`);
      const resolved = await host.resolvePath('c:\\Layers\\SCRATCH1\\sandbox.vhdx');
      assert.equal(resolved, `\\\\?\\Volume{${driveVolumeGuid('C')}}\\layers\\scratch1\\sandbox.vhdx`);
      assert.deepEqual(await host.stat(resolved), await host.stat(`${S}\\sandbox.vhdx`));
      const err = await rejection(host.resolvePath('C:\\layers\\nope.vhdx'));
      assert.deepEqual([err.code, err.hresult, err.message], ['ERR_NOT_FOUND', '0x80070002', 'CreateFile C:\\layers\\nope.vhdx: The system cannot find the file specified.']);
    });

    it('grantVmAccess records the grant once and fails for a missing file', async () => {
      makeFile(host.root, 'C:\\disks\\d.vhdx');
      await host.grantVmAccess('pod1@vm', 'C:\\disks\\d.vhdx');
      await host.grantVmAccess('pod1@vm', 'C:\\disks\\d.vhdx');
      assert.deepEqual(host.snapshot().vmAccessGrants, [{ vmId: 'pod1@vm', path: 'C:\\disks\\d.vhdx' }]);
      const err = await rejection(host.grantVmAccess('pod1@vm', 'C:\\disks\\gone.vhdx'));
      assert.deepEqual([err.hresult, err.message], ['0x80070002', 'hcsshim::GrantVmAccess failed in Win32: The system cannot find the file specified. (0x2)']);
    });
  });

  describe('vmcompute', () => {
    it('NameToGuid answers the known pairs and a stable GUID for other names', async () => {
      assert.equal(await host.nameToGuid('f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e'), '7095521e-b79e-50fc-bafb-958d85400362');
      const a = await host.nameToGuid('scratch1');
      assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(await newHost().nameToGuid('scratch1'), a);
    });

    it('CreateSandboxLayer without a base template makes a real 20 GiB dynamic sandbox.vhdx', async () => {
      await host.mkdirAll(S);
      await host.createSandboxLayer(S, PARENTS);
      const info = await inspectVhdx(real(host.root, `${S}\\sandbox.vhdx`));
      assert.deepEqual([info.virtualSize, info.hasParent, info.blockSize], [20 * GiB, false, 1024 * 1024]);
      assert.deepEqual(host.snapshot().filesCreated, [S, `${S}\\sandbox.vhdx`]);
      assert.deepEqual(host.calls.at(-1)!.args, { parents: PARENTS });
      const again = await rejection(host.createSandboxLayer(S, PARENTS));
      assert.equal(again.message, 'hcsshim::CreateScratchLayer failed in Win32: The file exists. (0x50)');
    });

    it('CreateSandboxLayer makes a differencing child of the base layer’s blank-base.vhdx', async () => {
      await createVhdx(real(host.root, `${L1}\\blank-base.vhdx`), { sizeBytes: 20 * GiB });
      await host.mkdirAll(S);
      await host.createSandboxLayer(S, PARENTS);
      const info = await inspectVhdx(real(host.root, `${S}\\sandbox.vhdx`));
      assert.equal(info.hasParent, true);
      assert.equal(info.virtualSize, 20 * GiB);
      const entries = JSON.stringify(info.parentLocator);
      assert.ok(entries.includes(`..\\\\${L1.split('\\').at(-1)}\\\\blank-base.vhdx`), entries);
      assert.ok(entries.includes(`${L1.replaceAll('\\', '\\\\')}\\\\blank-base.vhdx`), entries);
    });

    it('CreateSandboxLayer checks the folder and the layer ids', async () => {
      assert.equal((await rejection(host.createSandboxLayer(S, PARENTS))).message, 'hcsshim::CreateScratchLayer failed in Win32: The system cannot find the path specified. (0x3)');
      await host.mkdirAll(S);
      const wrong = [{ ...PARENTS[0]!, layerId: '00000000-0000-0000-0000-000000000001' }];
      assert.equal((await rejection(host.createSandboxLayer(S, wrong))).message, 'hcsshim::CreateScratchLayer failed in Win32: The parameter is incorrect. (0x57)');
    });

    it('ExpandSandboxSize grows the VHDX and refuses to shrink it', async () => {
      await host.mkdirAll(S);
      await host.createSandboxLayer(S, []);
      await host.expandSandboxSize(S, BigInt(30 * GiB));
      assert.equal((await inspectVhdx(real(host.root, `${S}\\sandbox.vhdx`))).virtualSize, 30 * GiB);
      assert.equal((await rejection(host.expandSandboxSize(S, BigInt(GiB)))).hresult, '0x80070057');
    });

    it('the layer state machine: activate (counted) → prepare → mount path → unprepare → deactivate', async () => {
      makeFile(host.root, `${S}\\sandbox.vhdx`);
      const invalid = 'The requested virtual machine or container operation is not valid in the current state. (0xc0370105)';
      assert.equal((await rejection(host.prepareLayer(S, PARENTS))).message, `hcsshim::PrepareLayer failed in Win32: ${invalid}`);
      assert.equal((await rejection(host.deactivateLayer(S))).message, `hcsshim::DeactivateLayer- failed failed in Win32: ${invalid}`);
      assert.equal(await host.getLayerMountPath(S), '');
      await host.activateLayer(S);
      await host.prepareLayer(S, PARENTS);
      assert.equal((await rejection(host.prepareLayer(S, PARENTS))).hresult, '0xC0370105');
      const mount = await host.getLayerMountPath(S);
      assert.match(mount, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}\\$/);
      assert.equal(await host.getLayerMountPath('c:\\LAYERS\\scratch1'), mount);
      assert.deepEqual(host.snapshot().layers, [{ path: S, activations: 1, prepared: true, parents: PARENTS }]);
      assert.equal((await rejection(host.deactivateLayer(S))).hresult, '0xC0370105');
      await host.activateLayer(S);
      await host.deactivateLayer(S);
      await host.unprepareLayer(S);
      assert.equal((await rejection(host.unprepareLayer(S))).hresult, '0xC0370105');
      await host.deactivateLayer(S);
      assert.deepEqual(host.snapshot().layers, []);
    });

    it('ActivateLayer needs the folder and its sandbox.vhdx', async () => {
      assert.equal((await rejection(host.activateLayer(S))).message, 'hcsshim::ActivateLayer failed in Win32: The system cannot find the path specified. (0x3)');
      await host.mkdirAll(S);
      assert.equal((await rejection(host.activateLayer(S))).message, 'hcsshim::ActivateLayer failed in Win32: The system cannot find the file specified. (0x2)');
    });
  });

  describe('Container Credential Guard', () => {
    const spec = '{"CmsPlugins":["ActiveDirectory"]}';
    const add = (id: string, transport: string) => ({
      PropertyType: 'ContainerCredentialGuard' as const,
      Settings: { Operation: 'AddInstance' as const, OperationDetails: { Id: id, CredentialSpec: spec, Transport: transport } },
    });
    const remove = (id: string) => ({ PropertyType: 'ContainerCredentialGuard' as const, Settings: { Operation: 'RemoveInstance' as const, OperationDetails: { Id: id } } });

    it('AddInstance, then the query answers the instance with an hvsocket config for HvSocket', async () => {
      await host.modifyServiceSettings(add('c1', 'LRPC'));
      await host.modifyServiceSettings(add('c2', 'HvSocket'));
      const props = await host.getServiceProperties({ PropertyTypes: ['ContainerCredentialGuard'] });
      const instances = (props.Properties![0] as { Instances: Record<string, unknown>[] }).Instances;
      assert.deepEqual(instances.map((i) => i.Id), ['c1', 'c2']);
      const c2 = instances[1] as { CredentialGuard: Record<string, string>; HvSocketConfig: { ServiceId: string; ServiceConfig: Record<string, unknown> } };
      assert.deepEqual(Object.keys(c2.CredentialGuard), ['Cookie', 'RpcEndpoint', 'Transport', 'CredentialSpec']);
      assert.deepEqual([c2.CredentialGuard.Transport, c2.CredentialGuard.CredentialSpec], ['HvSocket', spec]);
      assert.match(c2.HvSocketConfig.ServiceId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(Object.keys(c2.HvSocketConfig.ServiceConfig), ['BindSecurityDescriptor', 'ConnectSecurityDescriptor', 'AllowWildcardBinds']);
      assert.equal(instances[0]!.HvSocketConfig, undefined);
      assert.deepEqual(host.snapshot().ccgInstances.map((c) => [c.id, c.transport]), [['c1', 'LRPC'], ['c2', 'HvSocket']]);
    });

    it('a duplicate Id, an unknown RemoveInstance, a bad transport or spec fail like HCS', async () => {
      await host.modifyServiceSettings(add('c1', 'LRPC'));
      const dup = await rejection(host.modifyServiceSettings(add('c1', 'LRPC')));
      assert.equal(dup.message, 'hcs::ModifyServiceSettings: Cannot create a file when that file already exists.\n[Event Detail: credential guard instance c1 already exists]');
      await host.modifyServiceSettings(remove('c1'));
      const gone = await rejection(host.modifyServiceSettings(remove('c1')));
      assert.equal(gone.message, 'hcs::ModifyServiceSettings: Element not found.\n[Event Detail: credential guard instance c1 does not exist]');
      assert.equal((await rejection(host.modifyServiceSettings(add('c3', 'TCP')))).hresult, '0x80070057');
      const badSpec = add('c4', 'LRPC');
      badSpec.Settings.OperationDetails.CredentialSpec = 'not json';
      assert.equal((await rejection(host.modifyServiceSettings(badSpec))).hresult, '0x80070057');
      assert.equal((await rejection(host.getServiceProperties({ PropertyTypes: ['Basic'] }))).code, 'ERR_HCS');
      assert.deepEqual(host.snapshot().ccgInstances, []);
    });
  });
});
