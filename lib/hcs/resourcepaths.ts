// HCS resource paths of the UVM devices this package modifies
// (hcsshim internal/hcs/resourcepaths/virtualmachine.go; docs/behaviour.md#constants): the
// formatters the engine sends, and the one parser that reads them back (the journal, from
// the calls it protects; the simulated host, from the requests it answers; the plan).

import { InvalidArgumentError } from '../errors';
import { SCSI_CONTROLLER_GUIDS, WCOW_SCSI_LUNS } from './constants';

export const VSMB_SHARES_PATH = 'VirtualMachine/Devices/VirtualSmb/Shares';
const SCSI_PREFIX = 'VirtualMachine/Devices/Scsi/';
const SCSI_ATTACHMENTS = '/Attachments/';
const MAPPED_PIPES_PREFIX = 'VirtualMachine/Devices/MappedPipes/';
const VIRTUAL_PCI_PREFIX = 'VirtualMachine/Devices/VirtualPci/';
const HVSOCKET_SERVICE_PREFIX = 'VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/';

/** `VirtualMachine/Devices/Scsi/<controller GUID>/Attachments/<lun>` (SCSIResourceFormat). */
export function scsiAttachmentPath(controller: number, lun: number): string {
  const guid = SCSI_CONTROLLER_GUIDS[controller];
  if (guid === undefined || !Number.isInteger(lun) || lun < 0 || lun >= WCOW_SCSI_LUNS) {
    throw new InvalidArgumentError(`invalid SCSI location ${controller}:${lun}`, { op: 'hcs.scsiAttachmentPath' });
  }
  return `${SCSI_PREFIX}${guid}${SCSI_ATTACHMENTS}${lun}`;
}

/** MappedPipeResourceFormat with the full host pipe path, e.g. `…/MappedPipes/\\.\pipe\foo` (docs/mounts.md#named-pipes). */
export function mappedPipePath(hostPipe: string): string {
  return `${MAPPED_PIPES_PREFIX}${hostPipe}`;
}

/** VirtualPciResourceFormat with the VMBus GUID of the assignment (docs/layers.md#devices-in-a-utility-vm). */
export function virtualPciPath(vmBusGuid: string): string {
  return `${VIRTUAL_PCI_PREFIX}${vmBusGuid}`;
}

/** HvSocketConfigResourceFormat with a service id (docs/layers.md#hvsocket-service-entry). */
export function hvSocketServicePath(serviceId: string): string {
  return `${HVSOCKET_SERVICE_PREFIX}${serviceId}`;
}

/**
 * A resource path read back. The parts are the texts as they stand: HCS, not the parser,
 * decides whether a controller GUID or LUN exists (the simulated host answers each with
 * its own error), and `scsiLocation` turns them into the numbers this package formats.
 */
export type ResourcePath =
  | { kind: 'scsi'; controller: string; lun: string }
  | { kind: 'vsmb' }
  | { kind: 'pipe'; hostPipe: string }
  | { kind: 'vpci'; vmBusGuid: string }
  | { kind: 'hvsocket'; serviceId: string };

/** The resource `path` names, or undefined for a path this package never sends. */
export function parseResourcePath(path: string): ResourcePath | undefined {
  if (path === VSMB_SHARES_PATH) return { kind: 'vsmb' };
  if (path.startsWith(SCSI_PREFIX)) {
    const rest = path.slice(SCSI_PREFIX.length);
    const at = rest.indexOf(SCSI_ATTACHMENTS);
    if (at <= 0) return undefined;
    const controller = rest.slice(0, at);
    const lun = rest.slice(at + SCSI_ATTACHMENTS.length);
    return controller.includes('/') || lun === '' || lun.includes('/') ? undefined : { kind: 'scsi', controller, lun };
  }
  if (path.startsWith(MAPPED_PIPES_PREFIX)) return { kind: 'pipe', hostPipe: path.slice(MAPPED_PIPES_PREFIX.length) };
  if (path.startsWith(VIRTUAL_PCI_PREFIX)) return { kind: 'vpci', vmBusGuid: path.slice(VIRTUAL_PCI_PREFIX.length) };
  if (path.startsWith(HVSOCKET_SERVICE_PREFIX)) return { kind: 'hvsocket', serviceId: path.slice(HVSOCKET_SERVICE_PREFIX.length) };
  return undefined;
}

/**
 * The controller index and LUN of a parsed SCSI path, when both are ones `scsiAttachmentPath`
 * could have formatted (GUIDs compare case-insensitively, as HCS compares them).
 */
export function scsiLocation(p: { controller: string; lun: string }): { controller: number; lun: number } | undefined {
  const controller = SCSI_CONTROLLER_GUIDS.findIndex((g) => g.toLowerCase() === p.controller.toLowerCase());
  const lun = /^\d+$/.test(p.lun) ? Number(p.lun) : NaN;
  return controller >= 0 && lun < WCOW_SCSI_LUNS ? { controller, lun } : undefined;
}
