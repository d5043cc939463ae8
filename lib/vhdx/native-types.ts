// The VHDX engine's native surface (native/vhdx/binding.cc). Owned by the VHDX engine.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeVhdx {}
