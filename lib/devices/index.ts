// Assigned devices and guest drivers (layers §5, §6).
export { assignDevices, type AssignedDevices, type WindowsDevice } from './assigned';
export { checkDriverDirectories, installGuestDrivers } from './drivers';
