// Named pipes mapped into a WCOW UVM — internal/uvm/pipes.go (docs/mounts.md#named-pipes). No refcount and no
// existence check: every container's pipe is its own Add and its own Remove, as in hcsshim.

import { wrap } from '../errors';
import { mappedPipeAdd, mappedPipeRemove } from '../hcs/documents';
import { ReleaseGuard, type Closer, type ResourceRecord } from '../resources/closer';
import type { UvmBackend } from './backend';

/** AddPipe (pipes.go:34-43): one Add without Settings; the error is returned unwrapped. */
export async function addPipe(vm: UvmBackend, hostPath: string): Promise<PipeMount> {
  await vm.modify(mappedPipeAdd(hostPath));
  return new PipeMount(vm, hostPath);
}

export class PipeMount implements Closer {
  readonly kind = 'pipe';
  readonly hostPath: string;
  readonly #vm: UvmBackend;
  readonly #guard = new ReleaseGuard();

  constructor(vm: UvmBackend, hostPath: string) {
    this.#vm = vm;
    this.hostPath = hostPath;
  }

  describe(): ResourceRecord {
    return { kind: this.kind, uvmId: this.#vm.id, hostPath: this.hostPath };
  }

  /** PipeMount.Release → RemovePipe (pipes.go:26-31,46-55): `failed to remove pipe mount: <e>`. */
  release(): Promise<void> {
    return this.#guard.run(async () => {
      try {
        await this.#vm.modify(mappedPipeRemove(this.hostPath));
      } catch (err) {
        throw wrap(err, 'failed to remove pipe mount', { op: 'pipe.release', resource: this.hostPath });
      }
    });
  }
}
