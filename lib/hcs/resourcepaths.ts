// HCS resource paths of the UVM devices this package modifies
// (hcsshim internal/hcs/resourcepaths/virtualmachine.go; Appendix A).

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

/** MappedPipeResourceFormat with the full host pipe path, e.g. `…/MappedPipes/\\.\pipe\foo` (mounts.md §6). */
export function mappedPipePath(hostPipe: string): string {
  return `VirtualMachine/Devices/MappedPipes/${hostPipe}`;
}

/** VirtualPciResourceFormat with the VMBus GUID of the assignment (layers §5.2). */
export function virtualPciPath(vmBusGuid: string): string {
  return `VirtualMachine/Devices/VirtualPci/${vmBusGuid}`;
}

/** HvSocketConfigResourceFormat with a service id (layers §4.3). */
export function hvSocketServicePath(serviceId: string): string {
  return `VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/${serviceId}`;
}
