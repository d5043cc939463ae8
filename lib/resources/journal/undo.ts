// What the crash journal knows how to undo, and how a call or a handle becomes a journal
// entry. An Undo is everything another process needs to take one resource back: the UVM id
// and the LUN, share name, pipe path, VMBus GUID, service id, container root, layer path or
// CCG instance id — never a document as sent (the CCG AddInstance document carries the
// credential spec; see README.md "Secrets").

import { parseResourcePath, scsiLocation } from '../../hcs/resourcepaths';
import type { GuestModificationRequest, ModifySettingRequest, ServiceModificationRequest } from '../../hcs/schema';
import type { ResourceRecord } from '../closer';

export type Undo =
  | { op: 'scsi.remove'; uvmId: string; controller: number; lun: number }
  | { op: 'guest.disk.remove'; uvmId: string; containerPath: string; lun: number }
  | { op: 'vsmb.remove'; uvmId: string; name: string }
  | { op: 'pipe.remove'; uvmId: string; hostPath: string }
  | { op: 'vpci.remove'; uvmId: string; vmBusGuid: string }
  | { op: 'hvsocket.remove'; uvmId: string; serviceId: string }
  | { op: 'combined-layers.remove'; uvmId: string; containerRootPath: string }
  | { op: 'layer.unprepare'; path: string }
  | { op: 'layer.deactivate'; path: string }
  | { op: 'ccg.remove'; id: string }
  // Process-isolated CimFS (lib/layers/cimfs.ts): the CIM volume and the overlay filter on the scratch volume.
  | { op: 'cim.dismount'; volumeGuid: string }
  | { op: 'overlay.detach'; volumePath: string };

/**
 * The identity of what an Undo takes back. Two journals naming the same key hold the same
 * resource (a share one container added and another reused): recover undoes it once.
 * Windows paths and names compare case-insensitively, as HCS and vmcompute compare them.
 */
export function keyOf(u: Undo): string {
  switch (u.op) {
    case 'scsi.remove':
      return `scsi|${u.uvmId}|${u.controller}:${u.lun}`;
    case 'guest.disk.remove':
      return `guest.disk|${u.uvmId}|${u.lun}`;
    case 'vsmb.remove':
      return `vsmb|${u.uvmId}|${u.name.toLowerCase()}`;
    case 'pipe.remove':
      return `pipe|${u.uvmId}|${u.hostPath.toLowerCase()}`;
    case 'vpci.remove':
      return `vpci|${u.uvmId}|${u.vmBusGuid.toLowerCase()}`;
    case 'hvsocket.remove':
      return `hvsocket|${u.uvmId}|${u.serviceId.toLowerCase()}`;
    case 'combined-layers.remove':
      return `combined-layers|${u.uvmId}|${u.containerRootPath.toLowerCase()}`;
    case 'layer.unprepare':
      return `layer.prepare|${u.path.toLowerCase()}`;
    case 'layer.deactivate':
      return `layer.activate|${u.path.toLowerCase()}`;
    case 'ccg.remove':
      return `ccg|${u.id}`;
    case 'cim.dismount':
      return `cim|${u.volumeGuid.toLowerCase()}`;
    case 'overlay.detach':
      return `overlay|${u.volumePath.toLowerCase()}`;
  }
}

/** What an undo takes away, as recover reports it (and `wcow-resources status` lists it before). */
export function describeUndo(u: Undo): string {
  switch (u.op) {
    case 'scsi.remove':
      return `${u.uvmId} SCSI ${u.controller}:${u.lun}`;
    case 'guest.disk.remove':
      return `${u.uvmId} LUN ${u.lun} at ${u.containerPath}`;
    case 'vsmb.remove':
      return `${u.uvmId} share ${u.name}`;
    case 'pipe.remove':
      return `${u.uvmId} pipe ${u.hostPath}`;
    case 'vpci.remove':
      return `${u.uvmId} VMBus ${u.vmBusGuid}`;
    case 'hvsocket.remove':
      return `${u.uvmId} hvsocket service ${u.serviceId}`;
    case 'combined-layers.remove':
      return `${u.uvmId} combined layers at ${u.containerRootPath}`;
    case 'layer.unprepare':
    case 'layer.deactivate':
      return u.path;
    case 'ccg.remove':
      return `credential guard instance ${u.id}`;
    case 'cim.dismount':
      return `CIM volume ${u.volumeGuid}`;
    case 'overlay.detach':
      return `overlay filter on ${u.volumePath}`;
  }
}

/**
 * vmcompute counts activations (ActivateLayer twice needs DeactivateLayer twice), so a
 * journal's activations of one layer are undone one by one; everything else exists once
 * and one removal takes it away whoever added it.
 */
export function isCounted(u: Undo): boolean {
  return u.op === 'layer.deactivate';
}

/**
 * Whether the resource lives on the host — vmcompute's layer activation and preparation, a
 * CIM mount, an overlay filter, the HCS service's CCG instance — rather than inside a
 * utility VM. A host crash (the only failure that loses a record written to the page cache)
 * ends every utility VM and what is attached to it, so only these can outlive a record that
 * was written but not flushed: their acquisitions are flushed before the call (README.md
 * rule 1).
 */
export function isOnHost(u: Undo): boolean {
  switch (u.op) {
    case 'layer.unprepare':
    case 'layer.deactivate':
    case 'ccg.remove':
    case 'cim.dismount':
    case 'overlay.detach':
      return true;
    case 'scsi.remove':
    case 'guest.disk.remove':
    case 'vsmb.remove':
    case 'pipe.remove':
    case 'vpci.remove':
    case 'hvsocket.remove':
    case 'combined-layers.remove':
      return false;
  }
}

/**
 * What a state-changing call does to the resources a journal tracks:
 * `acquire` — it may create the resource (recorded before the call, undone if the process dies);
 * `remove` — it takes the resource away (recorded after it succeeded).
 * Calls that change nothing a release would undo (MkdirAll, CreateSandboxLayer,
 * GrantVmAccess, guest processes, a VSMB Update) have no effect here.
 */
export interface Effect {
  kind: 'acquire' | 'remove';
  undo: Undo;
}

function effect(requestType: string | undefined, undo: Undo, acquireOn: readonly string[] = ['Add']): Effect | undefined {
  if (requestType !== undefined && acquireOn.includes(requestType)) return { kind: 'acquire', undo };
  if (requestType === 'Remove') return { kind: 'remove', undo };
  return undefined;
}

/** HcsModifyComputeSystem (the host part; lib/uvm always splits off the guest part). */
export function modifyEffect(uvmId: string, req: ModifySettingRequest): Effect | undefined {
  const path = parseResourcePath(req.ResourcePath ?? '');
  switch (path?.kind) {
    case 'scsi': {
      const at = scsiLocation(path);
      return at === undefined ? undefined : effect(req.RequestType, { op: 'scsi.remove', uvmId, ...at });
    }
    case 'vsmb': {
      const name = (req.Settings as { Name?: string } | undefined)?.Name ?? '';
      // An Update grows a file share someone holds already: the handle records that hold.
      return effect(req.RequestType, { op: 'vsmb.remove', uvmId, name });
    }
    case 'pipe':
      return effect(req.RequestType, { op: 'pipe.remove', uvmId, hostPath: path.hostPipe });
    case 'vpci':
      return effect(req.RequestType, { op: 'vpci.remove', uvmId, vmBusGuid: path.vmBusGuid });
    case 'hvsocket':
      // UpdateHvSocketService creates the entry when it is absent (hvsocket.go:13-22).
      return effect(req.RequestType, { op: 'hvsocket.remove', uvmId, serviceId: path.serviceId }, ['Add', 'Update']);
    case undefined:
      return undefined;
  }
}

/** A GCS ModifySettings request. */
export function guestEffect(uvmId: string, req: GuestModificationRequest): Effect | undefined {
  const s = (req.Settings ?? {}) as { ContainerPath?: string; Lun?: number; ContainerRootPath?: string };
  if (req.ResourceType === 'MappedVirtualDisk') {
    return effect(req.RequestType, { op: 'guest.disk.remove', uvmId, containerPath: s.ContainerPath ?? '', lun: s.Lun ?? 0 });
  }
  if (req.ResourceType === 'CombinedLayers') {
    return effect(req.RequestType, { op: 'combined-layers.remove', uvmId, containerRootPath: s.ContainerRootPath ?? '' });
  }
  return undefined;
}

/** HcsModifyServiceSettings: only the instance id is kept, never OperationDetails.CredentialSpec. */
export function serviceEffect(req: ServiceModificationRequest): Effect | undefined {
  const id = (req.Settings?.OperationDetails as { Id?: string } | undefined)?.Id;
  if (req.PropertyType !== 'ContainerCredentialGuard' || id === undefined) return undefined;
  const op = req.Settings?.Operation;
  if (op === 'AddInstance') return { kind: 'acquire', undo: { op: 'ccg.remove', id } };
  if (op === 'RemoveInstance') return { kind: 'remove', undo: { op: 'ccg.remove', id } };
  return undefined;
}

/**
 * The undos of one reference a closer holds (lib/uvm ScsiMount, VsmbShare, VpciDevice
 * `describe()`): a reused attachment is also the guest's mount of it. The engine's other
 * closers are journaled by the calls they make.
 */
export function handleUndos(r: ResourceRecord): Undo[] {
  switch (r.kind) {
    case 'scsi': {
      const scsi: Undo = { op: 'scsi.remove', uvmId: r.uvmId, controller: r.controller, lun: r.lun };
      return r.uvmPath === '' ? [scsi] : [scsi, { op: 'guest.disk.remove', uvmId: r.uvmId, containerPath: r.uvmPath, lun: r.lun }];
    }
    case 'vsmb':
      return [{ op: 'vsmb.remove', uvmId: r.uvmId, name: r.name }];
    case 'vpci':
      return [{ op: 'vpci.remove', uvmId: r.uvmId, vmBusGuid: r.vmBusGuid }];
    case 'pipe':
    case 'ccg':
    case 'combined-layers':
    case 'layers':
      return [];
  }
}
