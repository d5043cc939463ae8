// Assigned devices and guest drivers (docs/layers.md#assigned-devices, docs/layers.md#guest-drivers).
export { assignDevices, type AssignedDevices } from './assigned';
export { checkDriverDirectories, installGuestDrivers } from './drivers';
