// Shared assertions of the VHDX tests.
import * as assert from 'node:assert/strict';
import { WcowError } from '../../lib/index';

/** Awaits `p` and asserts it rejects with a WcowError of `code` (and a message matching `message`). */
export async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<WcowError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WcowError, `expected a WcowError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** The bytes a disk should read after `writes` on top of `base`. */
export function overlay(base: Buffer, writes: Array<[offset: number, data: Buffer]>): Buffer {
  const out = Buffer.from(base);
  for (const [offset, data] of writes) data.copy(out, offset);
  return out;
}
