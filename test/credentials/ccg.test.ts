// Container Credential Guard vectors (docs/layers.md#vectors V5, V6; docs/layers.md#credential-guard)
// and docs/differences.md#difference-5.

import * as assert from 'node:assert/strict';
import { allocateWindowsResources } from '../../lib/allocate';
import type { ServiceProperties, ServicePropertyQuery } from '../../lib/hcs/schema';
import { SimulatedHost } from '../../lib/host/simulated';
import { bench, json, L1, L3, S, spec, type Bench, rejects } from '../allocate/fixtures';

/** A credential spec with a marker that must never leak into errors or records. */
const SECRET = 'gmsa-secret-7f3a';
const CRED = JSON.stringify({ CmsPlugins: ['ActiveDirectory'], DomainJoinConfig: { Sid: SECRET } });
const withCred = (credentialSpec: unknown = CRED) => spec([L3, L1, S], {}, { credentialSpec });

/** A host whose service query answers something else (HCS answers we cannot make the model give). */
class AnsweringHost extends SimulatedHost {
  answer: (real: ServiceProperties) => ServiceProperties = (p) => p;
  override async getServiceProperties(query: ServicePropertyQuery): Promise<ServiceProperties> {
    return this.answer(await super.getServiceProperties(query));
  }
}

function ccgCalls(b: { host: SimulatedHost }): string[] {
  return b.host.calls.filter((c) => c.api.startsWith('HcsModifyService') || c.api === 'HcsGetServiceProperties').map((c) => `${c.api} ${json(c.document)}`);
}

const remove = (id: string) => `HcsModifyServiceSettings ${json({ PropertyType: 'ContainerCredentialGuard', Settings: { Operation: 'RemoveInstance', OperationDetails: { Id: id } } })}`;
const QUERY = `HcsGetServiceProperties ${json({ PropertyTypes: ['ContainerCredentialGuard'] })}`;

describe('credentials: Container Credential Guard', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it('V5 Argon: AddInstance over LRPC after the layers, query, ContainerCredentialGuard in the document; removed even by release({all:false})', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withCred(), host: b.host });
    assert.deepEqual(ccgCalls(b), [
      `HcsModifyServiceSettings ${json({ PropertyType: 'ContainerCredentialGuard', Settings: { Operation: 'AddInstance', OperationDetails: { Id: 'c1', CredentialSpec: CRED, Transport: 'LRPC' } } })}`,
      QUERY,
    ]);
    const order = b.host.calls.map((c) => c.api);
    assert.ok(order.indexOf('GetLayerMountPath') < order.indexOf('HcsModifyServiceSettings'));
    const instance = b.host.snapshot().ccgInstances[0]!;
    assert.equal(json(a.credentialGuard), json(a.containerDocument().ContainerCredentialGuard));
    assert.equal(a.credentialGuard!.Transport, 'LRPC');
    assert.equal(a.credentialGuard!.CredentialSpec, instance.credentialSpec);
    assert.deepEqual(a.resources.toJSON().closers, [{ kind: 'ccg', id: 'c1' }]);
    assert.equal(Object.keys(a.containerDocument()).join(), 'Storage,ContainerCredentialGuard');

    await a.resources.release({ all: false });
    assert.equal(ccgCalls(b).at(-1), remove('c1'));
    assert.deepEqual(b.host.snapshot().ccgInstances, []);
    assert.deepEqual(b.host.snapshot().layers, []);
  });

  it('V5 Xenon / docs/differences.md#difference-5: HvSocket transport, the hvsocket service entry hot-added, and removed with the instance', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    const a = await allocateWindowsResources({ id: 'c1', spec: withCred(), host: b.host, uvm: vm });
    const instance = b.host.snapshot().ccgInstances[0]!;
    assert.equal(instance.transport, 'HvSocket');
    const path = `VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/${instance.serviceId}`;
    const update = b.host.calls.find((c) => c.api === 'HcsModifyComputeSystem' && json(c.document).includes('ServiceTable'))!;
    const config = b.host.snapshot().uvms['pod1@vm']!.hvSocketServices[0]!.config;
    assert.equal(json(update.document), json({ ResourcePath: path, RequestType: 'Update', Settings: config }));
    assert.deepEqual(a.resources.toJSON().closers, [{ kind: 'ccg', id: 'c1', uvmId: 'pod1@vm', hvSocketServiceId: instance.serviceId }]);

    const before = b.host.calls.length;
    await a.resources.release({ all: true });
    const rel = b.host.calls.slice(before).map((c) => `${c.api} ${json(c.document)}`);
    assert.deepEqual(rel.slice(0, 2), [`HcsModifyComputeSystem ${json({ ResourcePath: path, RequestType: 'Remove' })}`, remove('c1')]);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
    assert.deepEqual(b.host.snapshot().ccgInstances, []);
  });

  it('V5 / docs/differences.md#difference-5: two Properties entries — wrong number of service properties present, and the instance is removed again', async () => {
    const host = new AnsweringHost({ root: b.root });
    host.answer = (p) => ({ Properties: [...(p.Properties ?? []), ...(p.Properties ?? [])] });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withCred(), host }));
    assert.equal(err.message, 'wrong number of service properties present');
    assert.equal(err.op, 'ccg.query');
    assert.deepEqual(ccgCalls({ host }).slice(2), [remove('c1')]);
    assert.deepEqual(host.snapshot().ccgInstances, []);
    assert.deepEqual(host.snapshot().layers, []);
  });

  it('docs/layers.md#querying-the-instance, docs/behaviour.md#the-container-document: the state goes into the document as schema2.ContainerCredentialGuardState marshals it — struct key order, unknown and empty fields dropped, no entry without one', async () => {
    const host = new AnsweringHost({ root: b.root });
    const instances = (p: ServiceProperties) => (p.Properties![0] as { Instances: { Id: string }[] }).Instances;
    host.answer = (p) => ({
      Properties: [{ Instances: instances(p).map((i) => ({ ...i, CredentialGuard: { CredentialSpec: 'cs', Transport: 'LRPC', RpcEndpoint: '', Cookie: 'ck', Extra: 1 } })) }],
    });
    const a = await allocateWindowsResources({ id: 'c1', spec: withCred(), host });
    assert.equal(json(a.containerDocument().ContainerCredentialGuard), '{"Cookie":"ck","Transport":"LRPC","CredentialSpec":"cs"}');
    assert.equal(json(a.credentialGuard), json(a.containerDocument().ContainerCredentialGuard));
    await a.resources.release({ all: true });

    host.answer = (p) => ({ Properties: [{ Instances: instances(p).map((i) => ({ Id: i.Id })) }] });
    const a2 = await allocateWindowsResources({ id: 'c2', spec: withCred(), host });
    assert.equal(a2.credentialGuard, undefined);
    assert.equal(Object.keys(a2.containerDocument()).join(), 'Storage');
    await a2.resources.release({ all: true });
  });

  it('our instance missing from the answer: failed to find credential guard instance with container ID c1', async () => {
    const host = new AnsweringHost({ root: b.root });
    host.answer = () => ({ Properties: [{ Instances: [] }] });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withCred(), host }));
    assert.equal(err.message, 'failed to find credential guard instance with container ID c1');
    assert.deepEqual(host.snapshot().ccgInstances, []);
  });

  it('docs/layers.md#q6-no-hvsocketconfig: a hypervisor-isolated instance without HvSocketConfig is an error, not a crash', async () => {
    const host = new AnsweringHost({ root: b.root });
    const vm = await host.createUtilityVm({ id: 'pod1@vm' });
    host.answer = (p) => ({ Properties: [{ Instances: ((p.Properties![0] as { Instances: object[] }).Instances).map((i) => ({ ...i, HvSocketConfig: undefined })) }] });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withCred(), host, uvm: vm }));
    assert.equal(err.message, 'unexpected value returned from hcs');
    assert.deepEqual(host.snapshot().ccgInstances, []);
    assert.deepEqual(host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('a failed query: failed to retrieve container credential guard instances: <e>, instance removed', async () => {
    b.host.injectFault({ api: 'HcsGetServiceProperties' });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withCred(), host: b.host }));
    assert.match(err.message, /^failed to retrieve container credential guard instances: hcs::GetServiceProperties: /);
    assert.equal(err.op, 'ccg.query');
    assert.deepEqual(b.host.snapshot().ccgInstances, []);
  });

  it('a failed AddInstance: failed to generate container credential guard instance: hcs::ModifyServiceSettings: <e>', async () => {
    b.host.injectFault({ api: 'HcsModifyServiceSettings' });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withCred(), host: b.host }));
    assert.match(err.message, /^failed to generate container credential guard instance: hcs::ModifyServiceSettings: /);
    assert.equal(err.op, 'ccg.add');
    assert.equal(err.code, 'ERR_HCS');
    assert.deepEqual(b.host.snapshot().layers, []);
  });

  it('a failed hvsocket update: failed to update hvsocket service: <e>; the registered instance is rolled back', async () => {
    const vm = await b.host.createUtilityVm({ id: 'pod1@vm' });
    b.host.injectFault({ api: 'HcsModifyComputeSystem', match: (c) => json(c.document).includes('ServiceTable') });
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: withCred(), host: b.host, uvm: vm }));
    assert.match(err.message, /^failed to update hvsocket service: hcs::System::Modify pod1@vm: /);
    assert.equal(err.op, 'hvsocket.update');
    assert.deepEqual(b.host.snapshot().ccgInstances, []);
    assert.deepEqual(b.host.snapshot().uvms['pod1@vm'], SimulatedHost.baseline({ id: 'pod1@vm' }));
  });

  it('a failed RemoveInstance: failed to remove container credential guard instance: <e>', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withCred(), host: b.host });
    b.host.injectFault({ api: 'HcsModifyServiceSettings' });
    const err = await rejects(a.resources.release({ all: true }));
    assert.match((err as unknown as { errors: Error[] }).errors[0]!.message, /^failed to remove container credential guard instance: hcs::ModifyServiceSettings: /);
    await a.resources.release({ all: true });
    assert.deepEqual(b.host.snapshot().ccgInstances, []);
  });

  it('the credential spec appears in no error, resource record or error detail', async () => {
    const host = new AnsweringHost({ root: b.root });
    const a = await allocateWindowsResources({ id: 'c1', spec: withCred(), host });
    assert.ok(!JSON.stringify(a.resources.toJSON()).includes(SECRET));
    await a.resources.release({ all: true });
    host.answer = () => ({ Properties: [] });
    const err = await rejects(allocateWindowsResources({ id: 'c2', spec: withCred(), host }));
    assert.ok(!JSON.stringify({ ...err.toJSON(), stack: err.stack }).includes(SECRET));
    let cause: unknown = err;
    while (cause instanceof Error) {
      assert.ok(!cause.message.includes(SECRET));
      cause = cause.cause;
    }
  });

  it('only a JSON string counts: an object credential spec is ignored', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withCred({ not: 'a string' }), host: b.host });
    assert.deepEqual(ccgCalls(b), []);
    assert.equal(a.credentialGuard, undefined);
    await a.resources.release({ all: true });
  });

  it('V6: schema 1.0 (requested, or a pre-RS5 host) sets up no instance', async () => {
    const a = await allocateWindowsResources({ id: 'c1', spec: withCred(), host: b.host, schemaVersion: { major: 1, minor: 0 } });
    assert.deepEqual(ccgCalls(b), []);
    await a.resources.release({ all: true });
    const old = await bench({ build: 17134 });
    const a2 = await allocateWindowsResources({ id: 'c1', spec: withCred(), host: old.host });
    assert.deepEqual(ccgCalls(old), []);
    await a2.resources.release({ all: true });
    await old.done();
  });

  it('gMSA disabled by annotation: rejected before anything is allocated', async () => {
    const s = { ...withCred(), annotations: { 'io.microsoft.container.wcow.gmsa.disable': 'TRUE' } };
    const err = await rejects(allocateWindowsResources({ id: 'c1', spec: s, host: b.host }));
    assert.equal(err.message, 'container config validation failed: gMSA credentials are disabled: operation denied');
    assert.deepEqual(b.host.calls, []);
  });
});
