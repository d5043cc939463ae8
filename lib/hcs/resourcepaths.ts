// HCS resource paths of the UVM devices this package modifies
// (hcsshim internal/hcs/resourcepaths/virtualmachine.go; docs/behaviour.md#constants).

import { InvalidArgumentError } from '../errors';
import { SCSI_CONTROLLER_GUIDS, WCOW_SCSI_LUNS } from './constants';

export const VSMB_SHARES_PATH = 'VirtualMachine/Devices/VirtualSmb/Shares';

/** `VirtualMachine/Devices/Scsi/<controller GUID>/Attachments/<lun>` (SCSIResourceFormat). */
export function scsiAttachmentPath(controller: number, lun: number): string {
  const guid = SCSI_CONTROLLER_GUIDS[controller];
  if (guid === undefined || !Number.isInteger(lun) || lun < 0 || lun >= WCOW_SCSI_LUNS) {
    throw new InvalidArgumentError(`invalid SCSI location ${controller}:${lun}`, { op: 'hcs.scsiAttachmentPath' });
  }
  return `VirtualMachine/Devices/Scsi/${guid}/Attachments/${lun}`;
}

/** MappedPipeResourceFormat with the full host pipe path, e.g. `…/MappedPipes/\\.\pipe\foo` (docs/mounts.md#named-pipes). */
export function mappedPipePath(hostPipe: string): string {
  return `VirtualMachine/Devices/MappedPipes/${hostPipe}`;
}

/** VirtualPciResourceFormat with the VMBus GUID of the assignment (docs/layers.md#devices-in-a-utility-vm). */
export function virtualPciPath(vmBusGuid: string): string {
  return `VirtualMachine/Devices/VirtualPci/${vmBusGuid}`;
}

/** HvSocketConfigResourceFormat with a service id (docs/layers.md#hvsocket-service-entry). */
export function hvSocketServicePath(serviceId: string): string {
  return `VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/${serviceId}`;
}
