// The HCS service settings this package uses: Container Credential Guard
// instances (docs/layers.md#credential-guard). AddInstance registers an instance (Id unique,
// Transport LRPC or HvSocket, CredentialSpec a JSON object — CCG reads the gMSA
// from it); RemoveInstance of an unknown Id fails like HCS (element not found).
// The query answers the docs/layers.md#querying-the-instance shape; HvSocketConfig is given for HvSocket
// instances only (the only ones whose config hcsshim reads, docs/layers.md#hvsocket-service-entry). Cookies,
// endpoints and service ids are derived from the instance id, so they are stable.

import { CCG_PROPERTY_TYPE } from '../../hcs/constants';
import { E_INVALIDARG } from '../../hcs/errors';
import type {
  ContainerCredentialGuardAddInstanceRequest,
  ContainerCredentialGuardInstance,
  ContainerCredentialGuardSystemInfo,
  ServiceModificationRequest,
  ServiceProperties,
  ServicePropertyQuery,
} from '../../hcs/schema';
import { ERROR_ALREADY_EXISTS_HR, ERROR_NOT_FOUND_HR } from '../../hcs/errors';
import { Rejection } from './failure';
import { derivedGuid } from './guid';
import type { CcgInstanceState, HostState } from './state';

/** SDDL of the CCG hvsocket service: SYSTEM and the Virtual Machines group S-1-5-83-0 (illustrative, docs/layers.md#querying-the-instance). */
const CCG_BIND_SDDL = 'D:P(A;;FA;;;SY)(A;;FA;;;S-1-5-83-0)';
const CCG_CONNECT_SDDL = 'D:P(A;;FA;;;SY)(A;;FA;;;S-1-5-83-0)';

export function serviceModifyCommit(state: HostState, request: ServiceModificationRequest): () => void {
  if (request.PropertyType !== CCG_PROPERTY_TYPE) throw new Rejection(E_INVALIDARG, `unsupported property type '${request.PropertyType ?? ''}'`);
  const op = request.Settings?.Operation;
  const details = (request.Settings?.OperationDetails ?? {}) as ContainerCredentialGuardAddInstanceRequest;
  const id = details.Id ?? '';
  if (id === '') throw new Rejection(E_INVALIDARG, 'a credential guard instance needs an Id');
  if (op === 'RemoveInstance') {
    return () => {
      if (state.ccgInstances[id] === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `credential guard instance ${id} does not exist`);
      delete state.ccgInstances[id];
    };
  }
  if (op !== 'AddInstance') throw new Rejection(E_INVALIDARG, `unsupported credential guard operation '${op ?? ''}'`);
  const transport = details.Transport ?? '';
  if (transport !== 'LRPC' && transport !== 'HvSocket') throw new Rejection(E_INVALIDARG, `unsupported transport '${transport}'`);
  const spec = details.CredentialSpec ?? '';
  if (!isJsonObject(spec)) throw new Rejection(E_INVALIDARG, 'the credential spec is not a JSON object');
  const serviceId = derivedGuid('ccg-service', id);
  const instance: CcgInstanceState = {
    id,
    credentialSpec: spec,
    transport,
    cookie: Buffer.from(derivedGuid('ccg-cookie', id)).toString('base64'),
    rpcEndpoint: transport === 'HvSocket' ? serviceId : `ccg-${derivedGuid('ccg-endpoint', id)}`,
    serviceId,
  };
  return () => {
    if (state.ccgInstances[id] !== undefined) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `credential guard instance ${id} already exists`);
    state.ccgInstances[id] = instance;
  };
}

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

export function serviceProperties(state: HostState, query: ServicePropertyQuery): ServiceProperties {
  const types = query.PropertyTypes ?? [];
  if (types.length === 0 || types.some((t) => t !== CCG_PROPERTY_TYPE)) {
    throw new Rejection(E_INVALIDARG, `unsupported property types ${JSON.stringify(types)}`);
  }
  const instances = Object.values(state.ccgInstances)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c): ContainerCredentialGuardInstance => {
      const i: ContainerCredentialGuardInstance = {
        Id: c.id,
        CredentialGuard: { Cookie: c.cookie, RpcEndpoint: c.rpcEndpoint, Transport: c.transport, CredentialSpec: c.credentialSpec },
      };
      if (c.transport === 'HvSocket') {
        i.HvSocketConfig = {
          ServiceId: c.serviceId,
          ServiceConfig: { BindSecurityDescriptor: CCG_BIND_SDDL, ConnectSecurityDescriptor: CCG_CONNECT_SDDL, AllowWildcardBinds: true },
        };
      }
      return i;
    });
  const info: ContainerCredentialGuardSystemInfo = { Instances: instances };
  return { Properties: [info] };
}
