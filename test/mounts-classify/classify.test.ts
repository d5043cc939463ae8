// Mount classification and the pure mount computations (docs/mounts.md#setupmounts-mount-by-mount, docs/mounts.md#sandbox-mounts, docs/mounts.md#extensible-virtual-disk-paths, docs/mounts.md#named-pipes).

import assert from 'node:assert/strict';
import {
  classifyMount,
  containerPipeMapping,
  formatMount,
  isPipe,
  isReadOnlyMount,
  parseExtensibleVirtualDiskPath,
  sandboxMountPath,
} from '../../lib/mounts/classify';
import { WcowError } from '../../lib/errors';

describe('classifyMount (docs/mounts.md#setupmounts-mount-by-mount step 6, first match wins)', () => {
  it('a disk type goes to SCSI whatever the source looks like', () => {
    assert.deepEqual(classifyMount({ type: 'physical-disk', source: String.raw`\\.\PHYSICALDRIVE2` }), {
      kind: 'scsi',
      attachmentType: 'PassThru',
      hostPath: String.raw`\\.\PHYSICALDRIVE2`,
    });
    assert.deepEqual(classifyMount({ type: 'virtual-disk', source: 'sandbox:///x.vhdx' }), {
      kind: 'scsi',
      attachmentType: 'VirtualDisk',
      hostPath: 'sandbox:///x.vhdx',
    });
    assert.deepEqual(classifyMount({ type: 'virtual-disk', source: String.raw`\\.\pipe\x` }).kind, 'scsi');
  });

  it('an extensible virtual disk is keyed by its parsed mount path and carries its type', () => {
    assert.deepEqual(classifyMount({ type: 'extensible-virtual-disk', source: 'evd://space/{pool-id}{vdisk-id}' }), {
      kind: 'scsi',
      attachmentType: 'ExtensibleVirtualDisk',
      hostPath: '{pool-id}{vdisk-id}',
      evdType: 'space',
    });
  });

  it('sandbox:// (case-sensitive) before pipes before VSMB', () => {
    assert.deepEqual(classifyMount({ type: '', source: 'sandbox:///a/b' }), { kind: 'sandbox', sandboxPath: String.raw`C:\SandboxMounts\a\b` });
    assert.deepEqual(classifyMount({ source: String.raw`\\.\pipe\foo` }), { kind: 'pipe' });
    assert.deepEqual(classifyMount({ source: 'Sandbox:///a' }), { kind: 'vsmb' });
    assert.deepEqual(classifyMount({ source: String.raw`\\.\PIPE\foo` }), { kind: 'vsmb' });
    assert.deepEqual(classifyMount({ source: String.raw`\\.\pipe` }), { kind: 'vsmb' });
    assert.deepEqual(classifyMount({ source: String.raw`C:\data\rw` }), { kind: 'vsmb' });
  });

  it('isPipe needs the trailing backslash', () => {
    assert.equal(isPipe(String.raw`\\.\pipe\foo`), true);
    assert.equal(isPipe(String.raw`\\.\pipe`), false);
  });
});

describe('isReadOnlyMount (docs/mounts.md#setupmounts-mount-by-mount step 5)', () => {
  const cases: [string[] | undefined, boolean][] = [
    [undefined, false],
    [[], false],
    [['ro'], true],
    [['RO'], true],
    [['Ro'], true],
    [['rw', 'ro'], true],
    [['readonly'], false],
    [[' ro'], false],
    [['ro,x'], false],
  ];
  for (const [options, want] of cases) {
    it(`${JSON.stringify(options)} is ${want ? 'read-only' : 'writable'}`, () => assert.equal(isReadOnlyMount(options), want));
  }
});

describe('sandboxMountPath (docs/mounts.md#sandbox-paths)', () => {
  const table: [string, string][] = [
    ['sandbox:///a/b', String.raw`C:\SandboxMounts\a\b`],
    ['sandbox://a/b', String.raw`C:\SandboxMounts\a\b`],
    ['sandbox:///test', String.raw`C:\SandboxMounts\test`],
    [String.raw`sandbox://path\to\sandboxMount`, String.raw`C:\SandboxMounts\path\to\sandboxMount`],
    ['sandbox:///a/b/', String.raw`C:\SandboxMounts\a\b`],
    ['sandbox:////a//b', String.raw`C:\SandboxMounts\a\b`],
    ['sandbox:///a/./b', String.raw`C:\SandboxMounts\a\b`],
    ['sandbox://', String.raw`C:\SandboxMounts`],
    ['sandbox:///', String.raw`C:\SandboxMounts`],
    ['sandbox:///a/../b', String.raw`C:\SandboxMounts\b`],
    ['sandbox:///../Windows', String.raw`C:\Windows`],
    ['sandbox:///../../..', 'C:\\'],
    ['sandbox://sandbox://x', String.raw`C:\SandboxMounts\sandbox:\x`],
  ];
  for (const [source, want] of table) {
    it(`${source} -> ${want}`, () => assert.equal(sandboxMountPath(source), want));
  }
});

describe('parseExtensibleVirtualDiskPath (docs/mounts.md#extensible-virtual-disk-paths)', () => {
  const ok: [string, string, string][] = [
    ['evd://space/{p}{v}', 'space', '{p}{v}'],
    [String.raw`evd://mytype/C:\disks\data.vhdx`, 'mytype', String.raw`C:\disks\data.vhdx`],
    ['evd://provider/some/nested/path', 'provider', 'some/nested/path'],
    ['evd://space/', 'space', ''],
    ['space/x', 'space', 'x'],
  ];
  for (const [src, evdType, mountPath] of ok) {
    it(`${src} -> (${evdType}, ${JSON.stringify(mountPath)})`, () => assert.deepEqual(parseExtensibleVirtualDiskPath(src), { evdType, mountPath }));
  }
  for (const src of ['evd://space', 'evd://', 'evd:///path', '/no/evd/prefix', String.raw`evd://a\b`]) {
    it(`${src} is refused with hcsshim's text`, () =>
      assert.throws(
        () => parseExtensibleVirtualDiskPath(src),
        (e: unknown) => e instanceof WcowError && e.code === 'ERR_INVALID_MOUNT' && e.message === `invalid extensible vhd path: ${src}`,
      ));
  }
});

describe('formatMount: Go %+v of specs.Mount', () => {
  it('prints every field, nil Options as []', () => {
    assert.equal(formatMount({ destination: String.raw`C:\x`, source: '' }), String.raw`{Destination:C:\x Type: Source: Options:[]}`);
  });
  it('prints options space-separated', () => {
    assert.equal(
      formatMount({ destination: String.raw`C:\vd`, type: 'virtual-disk', source: String.raw`C:\disks\data.vhdx`, options: ['ro', 'x'] }),
      String.raw`{Destination:C:\vd Type:virtual-disk Source:C:\disks\data.vhdx Options:[ro x]}`,
    );
  });
});

describe('containerPipeMapping (docs/mounts.md#named-pipes)', () => {
  const m = { source: String.raw`\\.\pipe\hostPipe`, destination: String.raw`\\.\pipe\containerPipe` };
  it('hypervisor-isolated: the host pipe through the VSMB IPC$ share', () => {
    assert.deepEqual(containerPipeMapping(m, true), {
      containerPipeName: 'containerPipe',
      hostPath: String.raw`\\?\VMSMB\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\IPC$\hostPipe`,
    });
  });
  it('process-isolated: the host pipe as is', () => {
    assert.deepEqual(containerPipeMapping(m, false), { containerPipeName: 'containerPipe', hostPath: String.raw`\\.\pipe\hostPipe` });
  });
  it('a destination without the pipe prefix is used verbatim', () => {
    assert.equal(containerPipeMapping({ source: m.source, destination: 'bar' }, true).containerPipeName, 'bar');
  });
});
