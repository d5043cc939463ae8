// Shared setup of the allocation vectors (docs/layers.md#vectors, docs/mounts.md#vectors, docs/mounts.md#combined-scenario-m1-m8): a
// simulated host over a temporary drive root holding the layer folders of the vectors
// and mount sources, and helpers to read its call log.

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { WcowError } from '../../lib/errors';
import { SimulatedHost, type SimulatedCall } from '../../lib/host/simulated';
import type { OciSpec } from '../../lib/oci/types';

/** Layer folders of the vectors (docs/layers.md#vectors); NameToGuid pairs from docs/layers.md#nametoguid-pairs. */
export const L3 = 'C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e';
export const L2 = 'C:\\layers\\7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62';
export const L1 = 'C:\\layers\\f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e';
export const L3_ID = '6ba9cac1-7086-5ee9-a197-c465d3f50ad7';
export const L2_ID = '300b3ac0-b603-5367-9494-afec045dd369';
export const L1_ID = '7095521e-b79e-50fc-bafb-958d85400362';
export const S = 'C:\\layers\\scratch1';
/** The VSMB guest prefix, `SH` in docs/mounts.md#vectors. */
export const SH = '\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}';
export const SCSI0 = 'df6d0690-79e5-55b6-a5ec-c1e2f77f580a';
export const VSMB_SHARES = 'VirtualMachine/Devices/VirtualSmb/Shares';

export interface Bench {
  host: SimulatedHost;
  root: string;
  /** The real path of a Windows path under the simulated drives. */
  real(win: string): string;
  dir(win: string): Promise<void>;
  file(win: string, content?: string): Promise<void>;
  done(): Promise<void>;
}

export async function bench(options: { build?: number } = {}): Promise<Bench> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wcow-alloc-'));
  const host = new SimulatedHost({ root, stateDir: false, ...(options.build !== undefined && { build: options.build }) });
  const real = (win: string): string => path.join(root, win[0]!.toUpperCase(), ...win.slice(3).split('\\').filter((p) => p !== ''));
  const b: Bench = {
    host,
    root,
    real,
    dir: async (win) => {
      await fsp.mkdir(real(win), { recursive: true });
    },
    file: async (win, content = '') => {
      await fsp.mkdir(path.dirname(real(win)), { recursive: true });
      await fsp.writeFile(real(win), content);
    },
    done: () => fsp.rm(root, { recursive: true, force: true }),
  };
  for (const l of [L3, L2, L1]) await b.dir(l);
  return b;
}

/** The docs/mounts.md#vectors host objects: `C:\data\rw`, `C:\data\ro`, `C:\data\cfg\app.json`, `C:\disks\data.vhdx`, PHYSICALDRIVE2. */
export async function mountSources(b: Bench): Promise<void> {
  await b.dir('C:\\data\\rw');
  await b.dir('C:\\data\\ro');
  await b.file('C:\\data\\cfg\\app.json', '{}');
  await b.file('C:\\disks\\data.vhdx', 'vhdx');
  b.host.addPhysicalDrive(2);
}

export function spec(layerFolders: string[], extra: Partial<OciSpec> = {}, windows: Record<string, unknown> = {}): OciSpec {
  return { ...extra, windows: { layerFolders, ...windows } };
}

/** The APIs of the calls, in order. */
export function apis(calls: readonly SimulatedCall[]): string[] {
  return calls.map((c) => c.api);
}

export const json = (v: unknown): string => JSON.stringify(v);

/** The WcowError `p` rejects with (fails the test when it resolves or throws something else). */
export async function rejects(p: Promise<unknown>): Promise<WcowError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WcowError, `not a WcowError: ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
