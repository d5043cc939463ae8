// The cimfs snapshotter's layout of the CimFS vectors (docs/rootfs.md#rootfs-vectors P7, docs/rootfs.md#cimfs-vectors):
// snapshot 7 (the scratch) over forked CIM layers 6 and 5.

import { simulatedCimContent } from '../../lib/host/simulated/cimfs';
import type { RootfsMount } from '../../lib/layers/rootfs';
import type { Bench } from '../allocate/fixtures';

export const SNAP = 'C:\\s\\snapshots';
export const SCRATCH = `${SNAP}\\7`;
export const CIMS = `${SNAP}\\cim-layers`;
/** P7 (docs/rootfs.md#rootfs-vectors): containerd ≥ 2.1's cimfs snapshotter mount for snapshot 7 over 6 over 5. */
export const P7: RootfsMount = {
  type: 'CimFS',
  source: SCRATCH,
  options: [
    'rw',
    `cimpath=${CIMS}\\7.cim`,
    'parentLayerPaths=["C:\\\\s\\\\snapshots\\\\6","C:\\\\s\\\\snapshots\\\\5"]',
    'parentCimPaths=["C:\\\\s\\\\snapshots\\\\cim-layers\\\\6.cim","C:\\\\s\\\\snapshots\\\\cim-layers\\\\5.cim"]',
  ],
};
export const G_C1 = '0aa549ee-f8c9-5b7e-86ac-70393f0fd498';
export const G_UPPER_C1 = '5f8a963d-1afa-5f73-a437-c430885902a8';

/** What the cimfs snapshotter leaves on disk: layer folders, a CIM per layer (6 forked from 5), the scratch's sandbox.vhdx. */
export async function layOut(b: Bench, options: { sandbox?: boolean } = {}): Promise<void> {
  await b.dir(`${SNAP}\\5`);
  await b.dir(`${SNAP}\\6`);
  await b.dir(SCRATCH);
  await b.file(`${CIMS}\\5.cim`, simulatedCimContent(`${SNAP}\\5`, []));
  await b.file(`${CIMS}\\6.cim`, simulatedCimContent(`${SNAP}\\6`, [`${CIMS}\\5.cim`]));
  if (options.sandbox !== false) await b.file(`${SCRATCH}\\sandbox.vhdx`, 'vhdx');
}

