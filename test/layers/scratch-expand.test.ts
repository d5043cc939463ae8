// Scratch hardening of hcsshim main (internal/wclayer/expandscratchsize.go:19-145): vectors
// S1-S3 of ExpandScratchSize — ExpandSandboxSize, then always the NTFS volume, attached with
// the BitLocker bypass flag — and an allocation asked for a rootfs size by containerd's
// labels: a scratch created here is expanded, one the snapshotter made is used as it is.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocateWindowsResources, planWindowsResources } from '../../lib/allocate';
import { SimulatedHost } from '../../lib/host/simulated';
import { scratchVolumeGuid } from '../../lib/host/simulated/vmcompute';
import { expandScratchSize } from '../../lib/layers/scratch';
import { ROOTFS_SIZE_BYTES_LABEL, ROOTFS_SIZE_GB_LABEL } from '../../lib/layers/labels';
import { packageRoot } from '../../lib/native';
import { createVhdx, inspectVhdx } from '../../lib/vhdx';
import { apis, bench, json, L1, L3, rejects, S, spec, type Bench } from '../allocate/fixtures';
import { layOut, P7, SCRATCH } from './cimfs-fixtures';

const GiB = 1024 ** 3;
const SNAP7 = 'C:\\s\\snapshots\\7';
const VHD7 = `${SNAP7}\\sandbox.vhdx`;
const S1_SIZE = 21474836480n;
/** S1's illustrative host: a 10 GiB scratch (volume 10736369664) grown to 20 GiB (partition 21473787904). */
const S1_VOLUME = 10736369664n;
const S1_PARTITION = 21473787904n;
const S1_APIS = [
  'ExpandSandboxSize',
  'OpenVirtualDisk',
  'AttachVirtualDisk',
  'GetLayerMountPath',
  'CreateFile',
  'IOCTL_DISK_GET_LENGTH_INFO',
  'GetDiskFreeSpaceEx',
  'FSCTL_EXTEND_VOLUME',
  'CloseHandle',
  'CloseHandle',
];

/** The snapshotter's 10 GiB scratch in C:\s\snapshots\7. */
async function snapshot7(b: Bench, sizeBytes = 10 * GiB): Promise<void> {
  await b.dir(SNAP7);
  await createVhdx(b.real(VHD7), { sizeBytes });
}

async function withBench(options: { bitlocker?: boolean }, fn: (b: Bench) => Promise<void>): Promise<void> {
  const b = await bench();
  if (options.bitlocker === true) b.host = new SimulatedHost({ root: b.root, stateDir: false, bitlockerDenyWriteAccess: true });
  try {
    await fn(b);
  } finally {
    await b.done();
  }
}

describe('scratch hardening: ExpandScratchSize (S1-S3)', () => {
  it('S1: ExpandSandboxSize → attach with 0x20 → GetLayerMountPath → FSCTL_EXTEND_VOLUME with 41940992 sectors; detached after', async () => {
    await withBench({}, async (b) => {
      await snapshot7(b);
      await expandScratchSize(b.host, SNAP7, S1_SIZE);
      const calls = b.host.calls;
      assert.deepEqual(apis(calls), S1_APIS);
      const volume = calls[3]!.result as string;
      assert.match(volume, /^\\\\\?\\Volume\{[0-9a-f-]{36}\}\\$/);
      const device = volume.slice(0, -1);
      assert.deepEqual(
        calls.map((c) => [c.api, c.target, c.args ?? null, c.outcome]),
        [
          ['ExpandSandboxSize', SNAP7, { sizeBytes: S1_SIZE }, 'ok'],
          ['OpenVirtualDisk', VHD7, null, 'ok'],
          ['AttachVirtualDisk', VHD7, { flags: 0x20 }, 'ok'],
          ['GetLayerMountPath', SNAP7, null, 'ok'],
          ['CreateFile', device, null, 'ok'],
          ['IOCTL_DISK_GET_LENGTH_INFO', device, null, 'ok'],
          ['GetDiskFreeSpaceEx', volume, null, 'ok'],
          ['FSCTL_EXTEND_VOLUME', device, { sectors: 41940992n }, 'ok'],
          ['CloseHandle', device, null, 'ok'],
          ['CloseHandle', VHD7, null, 'ok'],
        ],
      );
      assert.deepEqual([calls[5]!.result, calls[6]!.result], [S1_PARTITION, S1_VOLUME]);
      // targetClusters 5242624, volumeClusters 2621184.
      assert.equal(S1_PARTITION / 4096n, 5242624n);
      assert.equal(S1_VOLUME / 4096n, 2621184n);
      const after = b.host.snapshot();
      assert.deepEqual([after.attachedVirtualDisks, after.volumeSizes], [[], []]);
      assert.equal((await inspectVhdx(b.real(VHD7))).virtualSize, Number(S1_SIZE));
    });
  });

  it('S2: a volume already 5242623 clusters is not extended (5242623 + 1 is not < 5242624)', async () => {
    await withBench({}, async (b) => {
      await snapshot7(b, 20 * GiB);
      await b.host.setVolumeSize(VHD7, 5242623 * 4096);
      await expandScratchSize(b.host, SNAP7, S1_SIZE);
      assert.deepEqual(apis(b.host.calls), S1_APIS.filter((a) => a !== 'FSCTL_EXTEND_VOLUME'));
      assert.deepEqual(b.host.snapshot().volumeSizes, [{ vhd: VHD7, bytes: 5242623 * 4096 }]);
    });
  });

  it('S3: under the BitLocker write policy a v0.11.4-style attach (flags 0) is write-protected; main\'s 0x20 attach extends the volume', async () => {
    await withBench({ bitlocker: true }, async (b) => {
      await snapshot7(b);
      // v0.11.4's sequence (flags 0), by hand on the same host.
      await b.host.expandSandboxSize(SNAP7, S1_SIZE);
      const disk = await b.host.openVirtualDisk(VHD7);
      await b.host.attachVirtualDisk(disk, 0);
      const device = (await b.host.getLayerMountPath(SNAP7)).slice(0, -1);
      const volume = await b.host.openVolume(device);
      const e = await rejects(b.host.extendVolume(volume, 41940992n));
      assert.equal(`FSCTL_EXTEND_VOLUME ${device}: ${e.message}`, `FSCTL_EXTEND_VOLUME ${device}: The media is write protected.`);
      await b.host.closeHandle(volume);
      await b.host.closeHandle(disk);
      // main: the same host, the same disk.
      await expandScratchSize(b.host, SNAP7, S1_SIZE);
      assert.deepEqual(b.host.snapshot().volumeSizes, []);
    });
  });

  it('S3 through ExpandScratchSize: a write-protected volume fails with hcsshim\'s text and the disk is detached', async () => {
    await withBench({ bitlocker: true }, async (b) => {
      await snapshot7(b);
      b.host.injectFault({ api: 'FSCTL_EXTEND_VOLUME', hresult: 0x80070013 | 0 });
      const e = await rejects(expandScratchSize(b.host, SNAP7, S1_SIZE));
      const device = (b.host.calls[3]!.result as string).slice(0, -1);
      assert.equal(e.message, `FSCTL_EXTEND_VOLUME ${device}: The media is write protected.`);
      assert.deepEqual(apis(b.host.calls).slice(-2), ['CloseHandle', 'CloseHandle']);
      assert.deepEqual(b.host.snapshot().attachedVirtualDisks, []);
    });
  });

  it('each failing call: hcsshim main\'s error text, and every handle opened so far is closed', async () => {
    const cases: [string, (vhd: string, device: string) => string, number][] = [
      ['ExpandSandboxSize', () => 'hcsshim::ExpandScratchSize failed in Win32: Access is denied. (0x5)', 0],
      ['OpenVirtualDisk', (vhd) => `OpenVirtualDisk ${vhd}: OpenVirtualDisk ${vhd}: Access is denied.`, 0],
      ['AttachVirtualDisk', (vhd) => `OpenVirtualDisk ${vhd}: AttachVirtualDisk ${vhd}: failed to attach virtual disk: Access is denied.`, 1],
      ['GetLayerMountPath', () => 'hcsshim::GetLayerMountPath failed in Win32: Access is denied. (0x5)', 1],
      ['CreateFile', (_vhd, device) => `open ${device}: Access is denied.`, 1],
      ['IOCTL_DISK_GET_LENGTH_INFO', (_vhd, device) => `IOCTL_DISK_GET_LENGTH_INFO ${device}: Access is denied.`, 2],
      ['GetDiskFreeSpaceEx', (_vhd, device) => `GetDiskFreeSpaceEx ${device}: Access is denied.`, 2],
      ['FSCTL_EXTEND_VOLUME', (_vhd, device) => `FSCTL_EXTEND_VOLUME ${device}: Access is denied.`, 2],
    ];
    const device = `\\\\?\\Volume{${scratchVolumeGuid('c:\\s\\snapshots\\7')}}`;
    for (const [api, message, closes] of cases) {
      await withBench({}, async (b) => {
        await snapshot7(b);
        b.host.injectFault({ api, hresult: 0x80070005 | 0 });
        const e = await rejects(expandScratchSize(b.host, SNAP7, S1_SIZE));
        assert.equal(e.message, message(VHD7, device), api);
        assert.equal(apis(b.host.calls).filter((c) => c === 'CloseHandle').length, closes, api);
        assert.deepEqual(b.host.snapshot().attachedVirtualDisks, [], api);
      });
    }
  });
});

/** The model's CreateSandboxLayer makes a 20 GiB disk (vmcompute's default); the label asks for 30 GiB. */
const SIZE = 30n * BigInt(GiB);
const LABELS = { [ROOTFS_SIZE_BYTES_LABEL]: String(SIZE) };

describe('scratch hardening: the rootfs size of an allocation (containerd labels)', () => {
  it('process isolation: the scratch created here is expanded (S1\'s calls) before it is activated; the documents are unchanged', async () => {
    const run = async (labels: Record<string, string> | undefined): Promise<{ calls: string[]; document: string; volume: unknown }> => {
      const b = await bench();
      try {
          const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, ...(labels && { snapshotLabels: labels }) });
        const calls = apis(b.host.calls);
        const document = json(a.containerDocument());
        await a.resources.release({ all: true });
        const s = b.host.snapshot();
        return { calls, document, volume: [s.volumeSizes, s.attachedVirtualDisks, (await inspectVhdx(b.real(`${S}\\sandbox.vhdx`))).virtualSize] };
      } finally {
        await b.done();
      }
    };
    const plain = await run(undefined);
    const sized = await run(LABELS);
    const at = plain.calls.indexOf('CreateSandboxLayer') + 1;
    assert.deepEqual(sized.calls, [...plain.calls.slice(0, at), ...S1_APIS, ...plain.calls.slice(at)]);
    assert.equal(sized.document, plain.document);
    assert.deepEqual(sized.volume, [[], [], Number(SIZE)]);
    // No label, or a zero one: exactly v0.11.4's calls.
    assert.deepEqual((await run({ [ROOTFS_SIZE_BYTES_LABEL]: '0' })).calls, plain.calls);
  });

  it('hypervisor isolation: the scratch is expanded on the host before it is attached to the UVM', async () => {
    const b = await bench();
    try {
      const uvm = await b.host.createUtilityVm({ id: 'pod1@vm' });
      b.host.clearCalls();
      const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, uvm, snapshotLabels: { [ROOTFS_SIZE_GB_LABEL]: '30' } });
      const calls = apis(b.host.calls);
      const created = calls.indexOf('CreateSandboxLayer');
      assert.deepEqual(calls.slice(created + 1, created + 1 + S1_APIS.length), S1_APIS);
      assert.ok(calls.indexOf('GrantVmAccess') > created + S1_APIS.length);
      assert.equal(b.host.calls.find((c) => c.api === 'ExpandSandboxSize')?.args?.sizeBytes, SIZE);
      await a.resources.release({ all: true });
      assert.deepEqual(b.host.snapshot().attachedVirtualDisks, []);
    } finally {
      await b.done();
    }
  });

  it('a sandbox.vhdx the snapshotter made is used as it is: no create, no expansion, the bytes unchanged (LayerFolders, windows-layer, CimFS)', async () => {
    const b = await bench();
    try {
      await b.dir(S);
      await createVhdx(b.real(`${S}\\sandbox.vhdx`), { sizeBytes: 10 * GiB });
      const sha = (): string => createHash('sha256').update(fs.readFileSync(b.real(`${S}\\sandbox.vhdx`))).digest('hex');
      const before = sha();
      const windowsLayer = { type: 'windows-layer', source: S, options: ['rw', `parentLayerPaths=${JSON.stringify([L3])}`] };
      for (const o of [{ spec: spec([L3, S]) }, { spec: {}, rootfs: [windowsLayer] }]) {
        const a = await allocateWindowsResources({ id: 'c1', host: b.host, snapshotLabels: LABELS, ...o });
        await a.resources.release({ all: true });
      }
      await layOut(b);
      const cim = await allocateWindowsResources({ id: 'c2', spec: {}, rootfs: [P7], host: b.host, snapshotLabels: LABELS });
      await cim.resources.release({ all: true });
      const touched = b.host.calls.filter((c) => ['CreateSandboxLayer', 'ExpandSandboxSize', 'AttachVirtualDisk', 'FSCTL_EXTEND_VOLUME'].includes(c.api));
      assert.deepEqual(touched, []);
      assert.equal(sha(), before);
      assert.ok(b.host.calls.some((c) => c.api === 'ActivateLayer' && c.target === SCRATCH));
    } finally {
      await b.done();
    }
  });

  it('a bad label is refused before any call, naming the label (op validate, ERR_INVALID_ARGUMENT)', async () => {
    const b = await bench();
    try {
      for (const p of [
        allocateWindowsResources({ id: 'c1', spec: spec([L3, S]), host: b.host, snapshotLabels: { [ROOTFS_SIZE_BYTES_LABEL]: '20G' } }),
        planWindowsResources({ id: 'c1', spec: spec([L3, S]), host: b.host, snapshotLabels: { [ROOTFS_SIZE_BYTES_LABEL]: '20G' } }),
      ]) {
        const e = await rejects(p);
        assert.equal(e.message, `failed to parse label "${ROOTFS_SIZE_BYTES_LABEL}"="20G": strconv.ParseUint: parsing "20G": invalid syntax`);
        assert.deepEqual([e.code, e.op, e.resource], ['ERR_INVALID_ARGUMENT', 'validate', ROOTFS_SIZE_BYTES_LABEL]);
      }
      assert.deepEqual(b.host.calls, []);
    } finally {
      await b.done();
    }
  });

  it('a failed expansion fails the allocation with containerd\'s wording (op scratch.expand); nothing stays attached or activated', async () => {
    const b = await bench();
    try {
      b.host.injectFault({ api: 'FSCTL_EXTEND_VOLUME', hresult: 0x80070013 | 0 });
      const e = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, snapshotLabels: LABELS }));
      assert.match(e.message, /^failed to expand sandbox vhdx size to 32212254720 bytes: FSCTL_EXTEND_VOLUME \\\\\?\\Volume\{[0-9a-f-]{36}\}: The media is write protected\.$/);
      assert.deepEqual([e.code, e.op], ['ERR_IO', 'scratch.expand']);
      const s = b.host.snapshot();
      assert.deepEqual([s.attachedVirtualDisks, s.layers], [[], []]);
      assert.ok(!b.host.calls.some((c) => c.api === 'ActivateLayer'));
    } finally {
      await b.done();
    }
  });

  it('plan lists the expansion when the scratch will be created, in the order allocate makes the calls', async () => {
    const b = await bench();
    try {
      const plan = await planWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, snapshotLabels: LABELS });
      // The scratch step's calls after the create (a plan names calls by their step).
      const step = plan.calls.filter((c) => c.op.startsWith('scratch.')).map((c) => c.api);
      const planned = step.slice(step.indexOf('CreateSandboxLayer') + 1);
      assert.deepEqual(planned, S1_APIS);
      const a = await allocateWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, snapshotLabels: LABELS });
      const created = apis(b.host.calls).indexOf('CreateSandboxLayer');
      assert.deepEqual(apis(b.host.calls).slice(created + 1, created + 1 + planned.length), planned);
      await a.resources.release({ all: true });
      // The scratch exists now: nothing to expand.
      const again = await planWindowsResources({ id: 'c1', spec: spec([L3, L1, S]), host: b.host, snapshotLabels: LABELS });
      assert.deepEqual(again.calls.filter((c) => c.op.startsWith('scratch.')), []);
    } finally {
      await b.done();
    }
  });
});

describe('scratch hardening: the command line (--snapshot-label)', function () {
  this.timeout(60_000);
  const MAIN = path.join(__dirname, '../../lib/cli/main.js');
  const CONFIG = path.join(packageRoot(), 'examples', 'process-isolated', 'config.json');
  const cli = (...args: string[]): { status: number | null; stdout: string } => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout };
  };

  it('allocate expands the scratch it creates to the labelled size; a bad label is refused before any call', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-scratch-cli-'));
    try {
      const root = path.join(dir, 'root');
      const label = `${ROOTFS_SIZE_BYTES_LABEL}=${SIZE}`;
      const a = cli('allocate', CONFIG, '--setup', '--id', 'p1', '--root', root, '--snapshot-label', label, '--snapshot-label', 'other=x', '--json');
      assert.equal(a.status, 0, a.stdout);
      const calls = (JSON.parse(a.stdout) as { hostCalls: { api: string }[] }).hostCalls.map((c) => c.api);
      const created = calls.indexOf('CreateSandboxLayer');
      assert.deepEqual(calls.slice(created + 1, created + 1 + S1_APIS.length), S1_APIS);
      const bad = cli('plan', CONFIG, '--root', root, '--snapshot-label', `${ROOTFS_SIZE_BYTES_LABEL}=-1`, '--json');
      assert.notEqual(bad.status, 0);
      const e = (JSON.parse(bad.stdout) as { error: { code: string; resource: string } }).error;
      assert.deepEqual([e.code, e.resource], ['ERR_INVALID_ARGUMENT', ROOTFS_SIZE_BYTES_LABEL]);
      assert.notEqual(cli('plan', CONFIG, '--root', root, '--snapshot-label', 'no-equals-sign', '--json').status, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
