// Assigned devices and guest drivers (layers §5, §6).
export { assignDevices, type AssignedDevices } from './assigned';
export { checkDriverDirectories, installGuestDrivers } from './drivers';
