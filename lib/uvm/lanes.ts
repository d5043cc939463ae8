// hcsshim holds the UVM-wide mutex `uvm.m` across the HCS call of AddVSMB, RemoveVSMB,
// AssignDevice and RemoveDevice, so two operations on one share or device never interleave.
// We keep that per key only: operations on one key run one after another (an Update must
// carry the AllowedFiles of the Update before it; an add must see the remove before it),
// while other keys — other containers' shares and devices — proceed concurrently.

export class Lanes {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier `run` of the same key has settled (whatever its outcome). */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => fn());
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
