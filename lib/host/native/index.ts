// The native (Windows) host: NativeHost on the addon's Win32 surface.
export { NativeHost } from './host';
export type { GuestTransport, NativeHostOptions, OpenUtilityVmOptions } from './host';
