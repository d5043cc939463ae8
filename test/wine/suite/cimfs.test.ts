// Under wine: process-isolated CimFS through NativeHost → the addon's cimfs.dll and
// computestorage overlay-filter calls (looked up on first use, off the event loop) → the
// stand-in DLLs → the server's SimulatedHost. Each scenario must give the same outcome,
// calls, documents and final state as the in-process SimulatedHost.

import * as assert from 'node:assert/strict';
import { allocateWindowsResources } from '../../../lib/allocate';
import { simulatedCimContent } from '../../../lib/host/simulated/cimfs';
import type { Host } from '../../../lib/host/types';
import { CIMS, G_C1, P7, SCRATCH, SNAP } from '../../layers/cimfs-fixtures';
import { compare, type Setup } from './compare';

const SETUP: Setup = {
  dirs: [`${SNAP}\\5`, `${SNAP}\\6`, SCRATCH, CIMS],
  files: {
    [`${CIMS}\\5.cim`]: simulatedCimContent(`${SNAP}\\5`, []),
    [`${CIMS}\\6.cim`]: simulatedCimContent(`${SNAP}\\6`, [`${CIMS}\\5.cim`]),
    [`${SCRATCH}\\sandbox.vhdx`]: 'vhdx',
  },
};

async function same(setup: Setup, scenario: (host: Host) => Promise<unknown>): Promise<unknown> {
  const { simulated, native } = await compare(setup, scenario);
  assert.deepEqual(native.outcome, simulated.outcome, 'outcome');
  assert.deepEqual(native.calls, simulated.calls, 'calls and documents');
  assert.deepEqual(native.snapshot, simulated.snapshot, 'final state');
  return native.outcome;
}

describe('CimFS: NativeHost under wine equals the simulated host', () => {
  it('C1: CimMountImage, ActivateLayer, GetLayerMountPath, HcsAttachOverlayFilter; release detach → deactivate → dismount', async () => {
    const outcome = (await same(SETUP, async (host) => {
      const a = await allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [P7], host });
      const document = a.containerDocument();
      await a.resources.release({ all: true });
      return document;
    })) as { value: { Storage: { Layers: { Id: string }[] } } };
    assert.equal(outcome.value.Storage.Layers[0]!.Id, G_C1);
  });

  it('a missing CIM file: the same error text from cimfs.dll as from the model', async () => {
    const files = { ...SETUP.files };
    delete files[`${CIMS}\\6.cim`];
    const outcome = (await same({ ...SETUP, files }, (host) => allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [P7], host }))) as {
      error: { message: string };
    };
    assert.equal(
      outcome.error.message,
      `failed to mount container storage: mount forked layer cim: cim Mount ${CIMS}\\6.cim ${G_C1}: The system cannot find the file specified.`,
    );
  });

  it('C2: the overlay attach fails (E_FAIL) → deactivate, dismount, the same error', async () => {
    await same({ ...SETUP, faults: [{ api: 'HcsAttachOverlayFilter', hresult: 0x80004005 | 0 }] }, (host) =>
      allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [P7], host }),
    );
  });
});
