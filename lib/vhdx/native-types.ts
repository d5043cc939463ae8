// The VHDX engine's native surface (native/vhdx/binding.cc). Each function
// validates its arguments and rejects with an Error carrying `code` (and
// `errno`, `resource`) on failure; lib/vhdx/index.ts is its only caller.
import type { CreateDifferencingVhdxOptions, CreateVhdxOptions, VhdxInfo } from './types';

export interface NativeVhdx {
  /** `onThisThread`: run on the calling thread, the promise settled on return (index.ts createVhdxInline). */
  vhdxCreate(path: string, options: CreateVhdxOptions, onThisThread?: boolean): Promise<void>;
  /** `options` with the locator defaults already applied (index.ts). */
  vhdxCreateDifferencing(path: string, options: CreateDifferencingVhdxOptions, onThisThread?: boolean): Promise<void>;
  vhdxInspect(path: string): Promise<VhdxInfo>;
  vhdxExpand(path: string, newSizeBytes: number): Promise<void>;
  vhdxRead(path: string, offset: number, length: number): Promise<Buffer>;
  vhdxWrite(path: string, offset: number, data: Uint8Array): Promise<void>;
}
