// Process-isolated (Argon) layer mount on the host: hcsshim mountWCOWHostLayers
// (docs/layers.md#layers-on-the-host). The scratch folder is activated and prepared with its parents by
// vmcompute; the container root is the volume GUID path of the prepared layer.

import { setTimeout as sleep } from 'node:timers/promises';
import { wrap } from '../errors';
import { hasWin32Code } from '../hcs/errors';
import { LAYER_RETRY_ATTEMPTS, LAYER_RETRY_DELAY_MS, ERROR_NOT_READY, ERROR_DEVICE_NOT_CONNECTED } from '../hcs/constants';
import type { Host } from '../host/types';
import { closer, type Closer, type LayersRecord } from '../resources';
import { layerDescriptors } from './descriptors';
import { leftoversOf, rollbackOnFailure } from '../resources/release';

/**
 * hcsshim serializes PrepareLayer process-wide, "a temporary workaround for a
 * Windows bug" that reduces timeouts under parallel load
 * (wclayer/preparelayer.go:15,39-40; docs/layers.md#layers-on-the-host step 3). Descriptors are built
 * outside the lock, like hcsshim.
 */
let prepareQueue: Promise<void> = Promise.resolve();

async function prepareSerialized(host: Host, scratch: string, parents: readonly string[]): Promise<void> {
  const descriptors = await layerDescriptors(host, parents);
  const turn = prepareQueue.then(() => host.prepareLayer(scratch, descriptors));
  prepareQueue = turn.then(
    () => undefined,
    () => undefined,
  );
  return turn;
}

/**
 * One attempt: Activate, Prepare; a failed Prepare deactivates again. hcsshim ignores that
 * DeactivateLayer's error (docs/layers.md#layers-on-the-host step 3); here it is reported with the Prepare failure
 * and the activation it left is handed on (release.ts leftoversOf), never forgotten.
 */
async function activateAndPrepare(host: Host, scratch: string, parents: readonly string[]): Promise<void> {
  await host.activateLayer(scratch);
  const activated = closer({ kind: 'layers', isolation: 'process', scratch, activated: true }, () => host.deactivateLayer(scratch));
  await rollbackOnFailure(() => [activated], () => prepareSerialized(host, scratch, parents));
}

export interface HostLayersMount {
  /** `\\?\Volume{…}\` as vmcompute reports it. */
  rootPath: string;
  closer: Closer;
}

/**
 * Mount `parents` (top-most first) under `scratch` on the host. Errors carry
 * hcsshim's text unwrapped; the caller adds `failed to mount container storage: `.
 */
export async function mountHostLayers(host: Host, scratch: string, parents: readonly string[]): Promise<HostLayersMount> {
  // `need at least two layers - base and scratch` is raised by lib/oci before
  // anything is created (docs/layers.md#q2-one-layer-folder, docs/differences.md#difference-1).
  const details = { op: 'layers.mount', resource: scratch };

  // RS5 loopback-VHD races surface as ERROR_NOT_READY / ERROR_DEVICE_NOT_CONNECTED;
  // hcsshim retries those 5 times, 100 ms apart, and returns anything else at once
  // (layers.go:209-245; docs/layers.md#layers-on-the-host step 3).
  let lastError: unknown;
  for (let attempt = 0; attempt < LAYER_RETRY_ATTEMPTS; attempt++) {
    try {
      await activateAndPrepare(host, scratch, parents);
      lastError = undefined;
      break;
    } catch (err) {
      // A retry after a rollback that failed would activate once more on top of what it left.
      if (!hasWin32Code(err, ERROR_NOT_READY, ERROR_DEVICE_NOT_CONNECTED) || leftoversOf(err).length > 0) throw err;
      lastError = err;
      await sleep(LAYER_RETRY_DELAY_MS);
    }
  }
  if (lastError !== undefined) throw wrap(lastError, 'layer retry loop failed', details);

  // hcsshim's wcowHostLayersCloser stops at the first error (docs/layers.md#layers-on-the-host closer);
  // so do we: deactivating a still-prepared layer would fail anyway. Unlike
  // hcsshim, a release retried after a failed DeactivateLayer must not unprepare
  // again (vmcompute refuses an unprepared layer): remember what is done.
  let prepared = true;
  const release = async (): Promise<void> => {
    if (prepared) {
      await host.unprepareLayer(scratch);
      prepared = false;
    }
    await host.deactivateLayer(scratch);
  };
  const record: LayersRecord = { kind: 'layers', isolation: 'process', scratch };
  // A failed GetLayerMountPath undoes the prepare and the activation (hcsshim's defer,
  // which ignores their errors; here they are reported and what is left handed on).
  const rootPath = await rollbackOnFailure(() => [closer(record, release)], () => host.getLayerMountPath(scratch));
  return { rootPath, closer: closer({ ...record, rootPath }, release) };
}
