// Public API of wcow-resources (see DESIGN.md). Each concern adds its exports here.
export * from './errors';
export type * from './hcs/schema';
export type { Host, UtilityVm, UtilityVmOptions, HostCall, HostStat, LayerDescriptor, ExecResult } from './host/types';
export * as winpath from './host/winpath';
export * from './hcs/constants';
export * from './hcs/resourcepaths';
export * from './hcs/documents';
export * from './hcs/commandline';
export * from './mounts/classify';
export type * from './spec/types';
export * from './spec/validate';
export * from './uvm';
export * from './resources';
export { NativeHost } from './host/native';
