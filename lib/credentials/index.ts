// Container Credential Guard (gMSA): hcsshim credentials.CreateCredentialGuard and
// the hvsocket service entry allocateWindowsResources adds for it (docs/layers.md#credential-guard,
// docs/behaviour.md#allocation-order step 8). The credential spec is a secret: it goes to HCS in the AddInstance
// request and nowhere else — not into errors, logs or resource records; redact.ts is the
// rule every outward boundary applies.

import { HcsError, ReleaseError, wrap } from '../errors';
import { ccgAddInstance, ccgPropertyQuery, ccgRemoveInstance, ccgState } from '../hcs/documents';
import type { ContainerCredentialGuardInstance, ContainerCredentialGuardState } from '../hcs/schema';
import type { Host } from '../host/types';
import { rollbackAfter } from '../resources/release';
import { closer, type CcgRecord, type Resources } from '../resources';
import type { UvmState } from '../uvm';

/** RemoveInstance, worded as CCGResource.Release (docs/layers.md#removing-an-instance). */
async function removeInstance(host: Host, id: string): Promise<void> {
  try {
    await host.modifyServiceSettings(ccgRemoveInstance(id));
  } catch (err) {
    throw wrap(err, 'failed to remove container credential guard instance', { op: 'ccg.remove', resource: id });
  }
}

/** HcsGetServiceProperties and the pick of our instance (credentials.go:90-113; docs/layers.md#querying-the-instance). */
async function findInstance(host: Host, id: string): Promise<ContainerCredentialGuardInstance> {
  const details = { op: 'ccg.query', resource: id };
  let properties: unknown[] | undefined;
  try {
    properties = (await host.getServiceProperties(ccgPropertyQuery())).Properties;
  } catch (err) {
    throw wrap(err, 'failed to retrieve container credential guard instances', details);
  }
  if (properties?.length !== 1) throw new HcsError('wrong number of service properties present', details);
  const info = properties[0];
  const instances = typeof info === 'object' && info !== null ? (info as { Instances?: unknown }).Instances : undefined;
  if (instances !== undefined && instances !== null && !Array.isArray(instances)) {
    throw new HcsError('failed to unmarshal container credential guard instances: Instances is not an array', details);
  }
  // Exact, case-sensitive id match, first wins (credentials.go).
  const found = ((instances ?? []) as ContainerCredentialGuardInstance[]).find((i) => i?.Id === id);
  if (found === undefined) throw new HcsError(`failed to find credential guard instance with container ID ${id}`, details);
  return found;
}

/**
 * allocateWindowsResources step 8 (docs/behaviour.md#allocation-order): AddInstance (`LRPC` without a UVM,
 * `HvSocket` with one), find the instance, register its closer in `resources`, and
 * for a UVM hot-add the instance's hvsocket service entry. Returns the state for
 * `Container.ContainerCredentialGuard`; none when HCS reported none (hcsshim's nil
 * pointer, omitted from the document).
 *
 * docs/differences.md#difference-5: hcsshim returns no resource when the follow-up query fails, so
 * the instance it just added lives until vmcompute restarts (docs/layers.md#querying-the-instance).
 * Here it is removed again before the query's error is thrown. And the hvsocket
 * entry, which hcsshim never removes (docs/layers.md#hvsocket-service-entry), is removed with the instance.
 */
export async function setupCredentialGuard(
  host: Host,
  uvm: UvmState | undefined,
  id: string,
  credentialSpec: string,
  resources: Resources,
): Promise<ContainerCredentialGuardState | undefined> {
  try {
    await host.modifyServiceSettings(ccgAddInstance(id, credentialSpec, uvm ? 'HvSocket' : 'LRPC'));
  } catch (err) {
    throw wrap(err, 'failed to generate container credential guard instance', { op: 'ccg.add', resource: id });
  }

  let instance: ContainerCredentialGuardInstance;
  let serviceId: string | undefined;
  try {
    instance = await findInstance(host, id);
    if (uvm !== undefined) {
      serviceId = instance.HvSocketConfig?.ServiceId;
      // hcsshim dereferences HvSocketConfig unchecked and panics when HCS leaves it
      // out (docs/layers.md#q6-no-hvsocketconfig); an error is the port's answer.
      if (!serviceId) throw new HcsError('unexpected value returned from hcs', { op: 'ccg.query', resource: id });
    }
  } catch (err) {
    // What the rollback could not remove stays with the container (leftoversOf).
    throw await rollbackAfter(err, [closer({ kind: 'ccg', id }, () => removeInstance(host, id))]);
  }

  // What is live, so that a retried release (after a partial failure) redoes only
  // what failed.
  let instanceLive = true;
  let hvSocketLive = false;
  const release = async (): Promise<void> => {
    const errors: Error[] = [];
    if (hvSocketLive && uvm !== undefined && serviceId !== undefined) {
      try {
        await uvm.removeHvSocketService(serviceId);
        hvSocketLive = false;
      } catch (err) {
        errors.push(wrap(err, 'failed to remove hvsocket service', { op: 'ccg.remove', resource: serviceId }));
      }
    }
    if (instanceLive) {
      try {
        await removeInstance(host, id);
        instanceLive = false;
      } catch (err) {
        errors.push(err as Error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new ReleaseError(errors, 'failed to release container credential guard', { op: 'ccg.remove', resource: id });
  };
  const record: CcgRecord = uvm ? { kind: 'ccg', id, uvmId: uvm.id, ...(serviceId !== undefined && { hvSocketServiceId: serviceId }) } : { kind: 'ccg', id };
  resources.add(closer(record, release));

  if (uvm !== undefined && serviceId !== undefined) {
    try {
      // Update creates the entry when absent (hvsocket.go:13-22).
      await uvm.updateHvSocketService(serviceId, instance.HvSocketConfig?.ServiceConfig ?? {});
      hvSocketLive = true;
    } catch (err) {
      // The instance is registered already: the caller's rollback removes it.
      throw wrap(err, 'failed to update hvsocket service', { op: 'hvsocket.update', resource: serviceId });
    }
  }
  return instance.CredentialGuard ? ccgState(instance.CredentialGuard) : undefined;
}
