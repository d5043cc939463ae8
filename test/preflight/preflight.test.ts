// Host preflight (issue 11 point 2, docs/differences.md#difference-9): what the host must hold for the
// allocation to succeed is checked by plan and allocate before the first side effect, and
// each failure names the path (or id) that is wrong.

import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocateWindowsResources, planWindowsResources, type AllocateOptions } from '../../lib/allocate';
import { SimulatedHost } from '../../lib/host/simulated';
import type { UtilityVm } from '../../lib/host/types';
import { bench, L1, L3, mountSources, rejects, S, spec, type Bench } from '../allocate/fixtures';

const NOPE = 'C:\\layers\\nope';

/** plan and allocate both refuse, with the same code, resource and message, and allocate changed nothing. */
async function refusedBoth(b: Bench, o: Omit<AllocateOptions, 'host'>, code: string, resource: string, message: RegExp): Promise<void> {
  const before = b.host.calls.length;
  for (const run of [() => planWindowsResources({ ...o, host: b.host }), () => allocateWindowsResources({ ...o, host: b.host })]) {
    const err = await rejects(run());
    assert.equal(err.code, code, err.message);
    assert.equal(err.op, 'preflight');
    assert.equal(err.resource, resource);
    assert.match(err.message, message);
  }
  const changed = b.host.calls.slice(before).filter((c) => c.mutating);
  assert.deepEqual(changed.map((c) => c.api), [], 'nothing changed on the host');
}

describe('host preflight: layer folders (issue 11 point 2)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it('a missing layer folder is ERR_NOT_FOUND naming it, not a CreateSandboxLayer failure of the scratch', async () => {
    await refusedBoth(b, { id: 'c1', spec: spec([L3, NOPE, S]) }, 'ERR_NOT_FOUND', NOPE, /^layer folder windows\.layerFolders\[1\] 'C:\\layers\\nope' does not exist/);
    const vm = await b.host.createUtilityVm({ id: 'pod@vm' });
    await refusedBoth(b, { id: 'c1', spec: spec([NOPE, S], {}, { hyperv: {} }), uvm: vm }, 'ERR_NOT_FOUND', NOPE, /does not exist/);
  });

  it('relative and POSIX layer paths say so', async () => {
    await refusedBoth(b, { id: 'c1', spec: spec(['layers\\base', S]) }, 'ERR_INVALID_SPEC', 'layers\\base', /'layers\\base' is a relative path: Windows containers need a Windows absolute path/);
    await refusedBoth(b, { id: 'c1', spec: spec(['/var/lib/layers/base', S]) }, 'ERR_INVALID_SPEC', '/var/lib/layers/base', /is a POSIX path/);
  });

  it('the same folder twice, or the scratch also listed as a layer, is refused', async () => {
    await refusedBoth(b, { id: 'c1', spec: spec([L3, L1, L3.toUpperCase(), S]) }, 'ERR_INVALID_SPEC', L3.toUpperCase(), /windows\.layerFolders\[2\] .* is a layer and already windows\.layerFolders\[0\]/);
    await refusedBoth(b, { id: 'c1', spec: spec([S, L1, S]) }, 'ERR_INVALID_SPEC', S, /is the scratch folder and already windows\.layerFolders\[0\]/);
  });

  it('a scratch folder listed first (it holds sandbox.vhdx) is not taken for a layer', async () => {
    await b.file('C:\\layers\\old-scratch\\sandbox.vhdx', 'x');
    await refusedBoth(
      b,
      { id: 'c1', spec: spec(['C:\\layers\\old-scratch', L1, S]) },
      'ERR_INVALID_SPEC',
      'C:\\layers\\old-scratch',
      /holds sandbox\.vhdx: it is a container's scratch folder, not an image layer; the scratch folder goes last/,
    );
  });
});

describe('host preflight: mount sources (issue 11 point 2)', () => {
  let b: Bench;
  let vm: UtilityVm;
  beforeEach(async () => {
    b = await bench();
    await mountSources(b);
    vm = await b.host.createUtilityVm({ id: 'pod@vm' });
  });
  afterEach(() => b.done());

  const withMounts = (mounts: unknown[]) => spec([L3, L1, S], { mounts } as never, { hyperv: {} });

  it('a missing directory source or VHDX fails before any hot-add, naming the path', async () => {
    const rw = { destination: 'C:\\rw', type: '', source: 'C:\\data\\rw', options: [] };
    await refusedBoth(
      b,
      { id: 'c1', spec: withMounts([rw, { destination: 'C:\\x', type: '', source: 'C:\\data\\missing', options: [] }]), uvm: vm },
      'ERR_NOT_FOUND',
      'C:\\data\\missing',
      // hcsshim's text (docs/mounts.md#adding-a-share step 4, V19), raised before anything is hot-added.
      /^failed to add VSMB share to utility VM for mount \{Destination:C:\\x Type: Source:C:\\data\\missing Options:\[\]\}: GetFileAttributesEx C:\\data\\missing: The system cannot find the file specified\.$/,
    );
    await refusedBoth(
      b,
      { id: 'c1', spec: withMounts([rw, { destination: 'C:\\vd', type: 'virtual-disk', source: 'C:\\disks\\gone.vhdx' }]), uvm: vm },
      'ERR_NOT_FOUND',
      'C:\\disks\\gone.vhdx',
      /^adding SCSI mount \{Destination:C:\\vd Type:virtual-disk Source:C:\\disks\\gone\.vhdx Options:\[\]\}: the virtual disk of mounts\[1\] 'C:\\disks\\gone\.vhdx' does not exist on the host$/,
    );
  });

  it('a relative or POSIX mount source says so', async () => {
    await refusedBoth(b, { id: 'c1', spec: withMounts([{ destination: 'C:\\x', type: '', source: 'data\\rw' }]), uvm: vm }, 'ERR_INVALID_MOUNT', 'data\\rw', /is a relative path/);
    await refusedBoth(b, { id: 'c1', spec: withMounts([{ destination: 'C:\\x', type: '', source: '/srv/data' }]), uvm: vm }, 'ERR_INVALID_MOUNT', '/srv/data', /is a POSIX path/);
  });
});

describe('host preflight: what other containers hold (issue 11 point 2)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(() => b.done());

  it('a scratch held by another live container names that container; once it is released the scratch is free', async () => {
    const first = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host });
    await refusedBoth(b, { id: 'c2', spec: spec([L3, L1, S]) }, 'ERR_ALREADY_EXISTS', S, /scratch folder C:\\layers\\scratch1 is in use by container 'c1'/);
    await first.resources.release();
    const second = await allocateWindowsResources({ id: 'c2', spec: spec([L3, L1, S]), host: b.host });
    await second.resources.release();
  });

  it('a duplicate container id on one host is ERR_ALREADY_EXISTS, free again after release', async () => {
    const first = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host });
    await refusedBoth(b, { id: 'c1', spec: spec([L3, 'C:\\layers\\scratch2']) }, 'ERR_ALREADY_EXISTS', 'c1', /container 'c1' is already allocated/);
    await first.resources.release();
    await (await allocateWindowsResources({ id: 'c1', spec: spec([L3, 'C:\\layers\\scratch2']), host: b.host })).resources.release();
  });

  it("another process's container is found in the journal directory: its id, and its scratch", async () => {
    const journal = await fsp.mkdtemp(path.join(os.tmpdir(), 'wcow-preflight-journal-'));
    try {
      await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, journal });
      // Another process: another host object on the same drives, the same journal directory.
      const other = new SimulatedHost({ root: b.root, stateDir: false });
      const dup = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, 'C:\\layers\\scratch2']), host: other, journal }));
      assert.equal(dup.code, 'ERR_ALREADY_EXISTS');
      assert.equal(dup.resource, 'c1');
      const held = await rejects(allocateWindowsResources({ id: 'c2', spec: spec([L3, L1, S]), host: other, journal }));
      assert.equal(held.code, 'ERR_ALREADY_EXISTS');
      assert.equal(held.resource, S);
      assert.match(held.message, /in use by container 'c1'/);
      assert.deepEqual(other.calls.filter((c) => c.mutating).map((c) => c.api), []);
    } finally {
      await fsp.rm(journal, { recursive: true, force: true });
    }
  });
});
