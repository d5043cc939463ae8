// validateSpec: every check made before the first side effect (docs/differences.md#difference-1),
// with hcsshim's exact texts and our coded errors.

import assert from 'node:assert/strict';
import { validateSpec, deviceInfoFromPath, type ValidateContext } from '../../lib/oci/validate';
import { WcowError, type WcowErrorCode } from '../../lib/errors';

const ARGON: ValidateContext = { hypervisorIsolated: false };
const XENON: ValidateContext = { hypervisorIsolated: true };
const L3 = String.raw`C:\layers\l3`;
const L1 = String.raw`C:\layers\l1`;
const S = String.raw`C:\layers\scratch1`;
const VOL = '\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\\';

function spec(extra: Record<string, unknown> = {}, windows: Record<string, unknown> = {}): Record<string, unknown> {
  return { ociVersion: '1.1.0', ...extra, windows: { layerFolders: [L3, L1, S], ...windows } };
}

function rejects(input: unknown, ctx: ValidateContext, code: WcowErrorCode, message: string, resource?: string): void {
  assert.throws(
    () => validateSpec(input, ctx),
    (e: unknown) => {
      assert.ok(e instanceof WcowError, `not a WcowError: ${String(e)}`);
      assert.equal(e.message, message);
      assert.equal(e.code, code);
      assert.equal(e.op, 'spec.validate');
      if (resource !== undefined) assert.equal(e.resource, resource);
      return true;
    },
  );
}

const NOT_POPULATED = "field 'Spec.Windows.Layerfolders' is not populated";

describe('validateSpec: layer folders (docs/behaviour.md#allocation-order, Q1-Q3, V4)', () => {
  it('V4 absent LayerFolders, absent Windows, absent spec: hcsshim text', () => {
    for (const input of [spec({}, { layerFolders: undefined }), spec({}, { layerFolders: null }), { windows: null }, {}, null, undefined]) {
      rejects(input, ARGON, 'ERR_INVALID_SPEC', NOT_POPULATED, 'Spec.Windows.LayerFolders');
    }
  });

  it('an inherited layerFolders property does not count', () => {
    const windows = Object.create({ layerFolders: [L1, S] }) as object;
    rejects({ windows }, ARGON, 'ERR_INVALID_SPEC', NOT_POPULATED);
  });

  it('Q1 empty LayerFolders is a coded error instead of a panic (docs/differences.md#difference-7)', () => {
    rejects(
      spec({}, { layerFolders: [] }),
      XENON,
      'ERR_INVALID_SPEC',
      "invalid OCI spec - 'Spec.Windows.LayerFolders' is empty: it must list the image layers and, last, the scratch folder",
    );
  });

  it('Q2 a lone scratch folder fails before the scratch is created, with the text hcsshim ends with', () => {
    rejects(spec({}, { layerFolders: [S] }), ARGON, 'ERR_INVALID_SPEC', 'failed to mount container storage: need at least two layers - base and scratch');
    rejects(spec({}, { layerFolders: [S] }), XENON, 'ERR_INVALID_SPEC', 'invalid spec - not enough layer folders supplied');
    const premounted = spec({ root: { path: VOL } }, { layerFolders: [S] });
    rejects(premounted, ARGON, 'ERR_INVALID_SPEC', 'invalid spec - not enough layer folders supplied');
  });

  it('an empty folder name is refused', () => {
    rejects(spec({}, { layerFolders: [L1, ''] }), ARGON, 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Windows.LayerFolders[1]' is an empty path");
  });

  it('Q3 trailing separators are removed; the scratch is last, parents topmost first', () => {
    const v = validateSpec(spec({}, { layerFolders: [L3 + '\\', L1 + '/', S + '\\\\'] }), ARGON);
    assert.deepEqual(v.layerFolders, [L3, L1, S]);
    assert.equal(v.scratchFolder, S);
    assert.deepEqual(v.parentLayers, [L3, L1]);
  });

  it('a bare volume root keeps its separator', () => {
    assert.deepEqual(validateSpec(spec({}, { layerFolders: ['D:\\', S] }), ARGON).parentLayers, ['D:\\']);
  });
});

describe('validateSpec: root and isolation (docs/behaviour.md#when-layers-are-mounted, docs/behaviour.md#the-container-document, Q4, Q7)', () => {
  it('layers are mounted when Root.Path is empty and a UVM or no HyperV section is there', () => {
    assert.equal(validateSpec(spec(), ARGON).mountLayers, true);
    assert.equal(validateSpec(spec({}, { hyperv: {} }), XENON).mountLayers, true);
    assert.equal(validateSpec(spec({ root: { path: String.raw`C:\c\1` } }), XENON).mountLayers, false);
    assert.equal(validateSpec(spec({ root: { path: '' } }), ARGON).rootPath, '');
  });

  it('Q7 HyperV without a utility VM is refused: nothing would mount the layers', () => {
    rejects(
      spec({}, { hyperv: {} }),
      ARGON,
      'ERR_INVALID_SPEC',
      "invalid OCI spec - 'Spec.Windows.HyperV' is set but no utility VM hosts the container: its layers would never be mounted",
      'Spec.Windows.HyperV',
    );
  });

  it('a read-only root is refused with the document builder text', () => {
    rejects(spec({ root: { path: '', readonly: true } }), ARGON, 'ERR_INVALID_SPEC', 'invalid container spec - readonly is not supported for Windows containers');
  });

  it('a pre-mounted process-isolated root must be a volume GUID path (v2 only)', () => {
    const good = VOL;
    assert.equal(validateSpec(spec({ root: { path: good } }), ARGON).rootPath, good);
    assert.equal(validateSpec(spec({ root: { path: good.slice(0, -1) } }), ARGON).mountLayers, false);
    rejects(
      spec({ root: { path: String.raw`C:\rootfs` } }),
      ARGON,
      'ERR_INVALID_SPEC',
      "invalid container spec - Root.Path 'C:\\rootfs' must be a volume GUID path in the format '\\\\?\\Volume{GUID}\\'",
    );
    assert.equal(validateSpec(spec({ root: { path: String.raw`C:\rootfs` } }), { hypervisorIsolated: false, schemaVersion: { major: 1, minor: 0 } }).rootPath, String.raw`C:\rootfs`);
  });

  it('Q4 a process-isolated container on schema 2.5 is refused; a UVM always uses 2.1', () => {
    rejects(
      spec(),
      { hypervisorIsolated: false, schemaVersion: { major: 2, minor: 5 } },
      'ERR_INVALID_SPEC',
      'unsupported schema version 2.5 for a process-isolated Windows container: only 1.0 and 2.1 produce a valid container document',
    );
    assert.doesNotThrow(() => validateSpec(spec(), { hypervisorIsolated: true, schemaVersion: { major: 2, minor: 5 } }));
    assert.doesNotThrow(() => validateSpec(spec(), { hypervisorIsolated: false, schemaVersion: { major: 1, minor: 0 } }));
  });
});

describe('validateSpec: wrong JSON types are coded errors', () => {
  const cases: [string, unknown, WcowErrorCode, string][] = [
    ['spec', 42, 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec' must be an object, got number"],
    ['windows', { windows: [] }, 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Windows' must be an object, got array"],
    ['layerFolders', spec({}, { layerFolders: 'C:\\x' }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Windows.LayerFolders' must be an array of strings, got string"],
    ['a layer folder', spec({}, { layerFolders: [L1, 7] }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Windows.LayerFolders[1]' must be a string, got number"],
    ['root', spec({ root: 'x' }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Root' must be an object, got string"],
    ['root path', spec({ root: { path: 1 } }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Root.Path' must be a string, got number"],
    ['root readonly', spec({ root: { readonly: 'yes' } }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Root.Readonly' must be a boolean, got string"],
    ['hyperv', spec({}, { hyperv: true }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Windows.HyperV' must be an object, got boolean"],
    ['annotations', spec({ annotations: [] }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Annotations' must be an object of strings, got array"],
    ['an annotation', spec({ annotations: { a: true } }), 'ERR_INVALID_SPEC', `invalid OCI spec - 'Spec.Annotations["a"]' must be a string, got boolean`],
    ['mounts', spec({ mounts: {} }), 'ERR_INVALID_MOUNT', "invalid OCI spec - 'Spec.Mounts' must be an array, got object"],
    ['a mount', spec({ mounts: [null] }), 'ERR_INVALID_MOUNT', "invalid OCI spec - 'Spec.Mounts[0]' must be an object, got null"],
    ['a mount source', spec({ mounts: [{ destination: 'C:\\x', source: 1 }] }), 'ERR_INVALID_MOUNT', "invalid OCI spec - 'Spec.Mounts[0].Source' must be a string, got number"],
    ['mount options', spec({ mounts: [{ destination: 'C:\\x', source: 'C:\\y', options: 'ro' }] }), 'ERR_INVALID_MOUNT', "invalid OCI spec - 'Spec.Mounts[0].Options' must be an array of strings, got string"],
    ['a mount option', spec({ mounts: [{ destination: 'C:\\x', source: 'C:\\y', options: [false] }] }), 'ERR_INVALID_MOUNT', "invalid OCI spec - 'Spec.Mounts[0].Options[0]' must be a string, got boolean"],
    ['devices', spec({}, { devices: 'x' }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Windows.Devices' must be an array, got string"],
    ['a device id', spec({}, { devices: [{ id: 5, idType: 'class' }] }), 'ERR_INVALID_SPEC', "invalid OCI spec - 'Spec.Windows.Devices[0].ID' must be a string, got number"],
  ];
  for (const [what, input, code, message] of cases) {
    it(`${what}: ${message}`, () => rejects(input, ARGON, code, message));
  }
});

describe('validateSpec: annotations (docs/layers.md#credential-guard, docs/layers.md#the-driver-annotation, docs/behaviour.md#createcontainer-around-it)', () => {
  const cs = '{"CmsPlugins":["ActiveDirectory"]}';
  const GMSA = 'io.microsoft.container.wcow.gmsa.disable';

  it('gMSA disabled (any case of true) with a string credential spec is denied', () => {
    for (const v of ['true', 'TRUE', 'True']) {
      rejects(
        spec({ annotations: { [GMSA]: v } }, { credentialSpec: cs }),
        XENON,
        'ERR_OPERATION_DENIED',
        'container config validation failed: gMSA credentials are disabled: operation denied',
        GMSA,
      );
    }
  });

  it('gMSA disable set to something else than true, or no string spec, passes', () => {
    assert.equal(validateSpec(spec({ annotations: { [GMSA]: 'yes' } }, { credentialSpec: cs }), ARGON).credentialSpec, cs);
    assert.equal(validateSpec(spec({ annotations: { [GMSA]: 'true' } }, { credentialSpec: { a: 1 } }), ARGON).credentialSpec, undefined);
  });

  it('only a string credential spec counts, the empty string included (Q5)', () => {
    assert.equal(validateSpec(spec({}, { credentialSpec: 42 }), ARGON).credentialSpec, undefined);
    assert.equal(validateSpec(spec({}, { credentialSpec: '' }), ARGON).credentialSpec, '');
  });

  const TYPE = 'io.kubernetes.cri.container-type';
  const ID = 'io.kubernetes.cri.sandbox-id';

  it('an unknown container type is refused', () => {
    rejects(spec({ annotations: { [TYPE]: 'pod', [ID]: 'p1' } }), ARGON, 'ERR_INVALID_SPEC', "invalid 'io.kubernetes.cri.container-type': 'pod'", TYPE);
  });

  it('V3c container type and sandbox id go together', () => {
    rejects(spec({ annotations: { [TYPE]: 'sandbox' } }), ARGON, 'ERR_INVALID_SPEC', "cannot specify 'io.kubernetes.cri.container-type' without 'io.kubernetes.cri.sandbox-id'", TYPE);
    rejects(spec({ annotations: { [TYPE]: 'sandbox', [ID]: '' } }), ARGON, 'ERR_INVALID_SPEC', "cannot specify 'io.kubernetes.cri.container-type' without 'io.kubernetes.cri.sandbox-id'");
    rejects(spec({ annotations: { [ID]: 'p1' } }), ARGON, 'ERR_INVALID_SPEC', "cannot specify 'io.kubernetes.cri.sandbox-id' without 'io.kubernetes.cri.container-type'", ID);
  });

  it('V3 a pause container is a sandbox; ctx.isSandbox overrides', () => {
    const v = validateSpec(spec({ annotations: { [TYPE]: 'sandbox', [ID]: 'p1' } }), ARGON);
    assert.deepEqual([v.isSandbox, v.containerType, v.sandboxId], [true, 'sandbox', 'p1']);
    assert.equal(validateSpec(spec({ annotations: { [TYPE]: 'container', [ID]: 'p1' } }), ARGON).isSandbox, false);
    assert.equal(validateSpec(spec(), { hypervisorIsolated: true, isSandbox: true }).isSandbox, true);
  });

  it('kernel drivers split on commas without trimming, for hypervisor isolation only', () => {
    const annotations = { 'io.microsoft.virtualmachine.kerneldrivers': String.raw`C:\drivers\gpu, C:\drivers\net,` };
    assert.deepEqual(validateSpec(spec({ annotations }), XENON).driverDirectories, [String.raw`C:\drivers\gpu`, String.raw` C:\drivers\net`, '']);
    assert.deepEqual(validateSpec(spec({ annotations }), ARGON).driverDirectories, []);
    assert.deepEqual(validateSpec(spec({ annotations: { 'io.microsoft.virtualmachine.kerneldrivers': '' } }), XENON).driverDirectories, []);
  });

  it('annotation keys named like Object.prototype members are plain keys', () => {
    const input = JSON.parse(`{"annotations":{"__proto__":"x","toString":"y"},"windows":{"layerFolders":["C:\\\\a","C:\\\\s"]}}`) as unknown;
    assert.equal(validateSpec(input, ARGON).isSandbox, false);
  });
});

describe('validateSpec: mounts (docs/mounts.md#setupmounts-mount-by-mount, docs/mounts.md#vectors)', () => {
  it('V10 a mount without source names it in %+v form', () => {
    rejects(
      spec({ mounts: [{ destination: String.raw`C:\x` }] }),
      ARGON,
      'ERR_INVALID_MOUNT',
      String.raw`invalid OCI spec - a mount must have both source and a destination: {Destination:C:\x Type: Source: Options:[]}`,
      String.raw`C:\x`,
    );
    rejects(
      spec({ mounts: [{ destination: '', source: String.raw`C:\y`, options: ['ro', 'x'] }] }),
      XENON,
      'ERR_INVALID_MOUNT',
      String.raw`invalid OCI spec - a mount must have both source and a destination: {Destination: Type: Source:C:\y Options:[ro x]}`,
    );
  });

  it('V9 bind and wrong-case types are unsupported in both isolation modes', () => {
    for (const ctx of [ARGON, XENON]) {
      rejects(spec({ mounts: [{ destination: String.raw`C:\x`, source: String.raw`C:\data\rw`, type: 'bind' }] }), ctx, 'ERR_UNSUPPORTED_MOUNT_TYPE', "invalid OCI spec - Type 'bind' not supported", String.raw`C:\x`);
      rejects(spec({ mounts: [{ destination: String.raw`C:\x`, source: String.raw`C:\d.vhdx`, type: 'Virtual-Disk' }] }), ctx, 'ERR_UNSUPPORTED_MOUNT_TYPE', "invalid OCI spec - Type 'Virtual-Disk' not supported");
    }
  });

  it('V11 a malformed EVD source reads as hcsshim wraps it', () => {
    rejects(
      spec({ mounts: [{ source: 'evd://space', destination: String.raw`C:\e`, type: 'extensible-virtual-disk' }] }),
      XENON,
      'ERR_INVALID_MOUNT',
      String.raw`adding SCSI mount {Destination:C:\e Type:extensible-virtual-disk Source:evd://space Options:[]}: invalid extensible vhd path: evd://space`,
      String.raw`C:\e`,
    );
  });

  it('the first bad mount in spec order is the one reported', () => {
    rejects(
      spec({
        mounts: [
          { source: String.raw`C:\data\rw`, destination: String.raw`C:\rw` },
          { source: String.raw`C:\a`, destination: String.raw`C:\b`, type: 'tmpfs' },
          { destination: String.raw`C:\c` },
        ],
      }),
      XENON,
      'ERR_UNSUPPORTED_MOUNT_TYPE',
      "invalid OCI spec - Type 'tmpfs' not supported",
    );
  });

  it('V12 a sandbox path that climbs out of C:\\SandboxMounts is refused (docs/differences.md#difference-6)', () => {
    rejects(
      spec({ mounts: [{ source: 'sandbox:///../Windows', destination: String.raw`C:\sb` }] }),
      XENON,
      'ERR_INVALID_MOUNT',
      String.raw`invalid OCI spec - sandbox mount {Destination:C:\sb Type: Source:sandbox:///../Windows Options:[]} resolves to C:\Windows, outside C:\SandboxMounts: sandbox mounts may not leave their root in the utility VM`,
      String.raw`C:\sb`,
    );
  });

  it('a .. that stays inside the sandbox root is fine', () => {
    const [m] = validateSpec(spec({ mounts: [{ source: 'sandbox:///a/../b', destination: String.raw`C:\sb` }] }), XENON).mounts;
    assert.deepEqual(m?.classification, { kind: 'sandbox', sandboxPath: String.raw`C:\SandboxMounts\b` });
  });

  it('cmd.exe metacharacters in a sandbox path are refused (docs/differences.md#difference-6)', () => {
    for (const c of ['&', '|', '<', '>', '^', '%', '"', '\n']) {
      const source = `sandbox:///a${c}b`;
      rejects(
        spec({ mounts: [{ source, destination: String.raw`C:\sb` }] }),
        XENON,
        'ERR_INVALID_MOUNT',
        `invalid OCI spec - sandbox mount {Destination:C:\\sb Type: Source:${source} Options:[]} contains ${JSON.stringify(c)}: the path is passed to cmd.exe in the utility VM, where that character is a command metacharacter`,
      );
    }
  });

  it('a sandbox path with a space is fine: EscapeArg quotes it', () => {
    assert.equal(validateSpec(spec({ mounts: [{ source: 'sandbox:///my dir', destination: String.raw`C:\sb` }] }), XENON).mounts.length, 1);
  });

  it('docs/mounts.md#combined-scenario-m1-m8 M1..M8 are classified in spec order with their read-only flags', () => {
    const mounts = [
      { source: String.raw`C:\data\rw`, destination: String.raw`C:\rw` },
      { source: String.raw`C:\data\ro`, destination: String.raw`C:\ro`, options: ['RO'] },
      { source: String.raw`C:\data\cfg\app.json`, destination: String.raw`C:\app\app.json` },
      { source: String.raw`\\.\pipe\foo`, destination: String.raw`\\.\pipe\bar` },
      { source: 'sandbox:///a/b', destination: String.raw`C:\sb` },
      { source: String.raw`\\.\PHYSICALDRIVE2`, destination: String.raw`C:\pd`, type: 'physical-disk' },
      { source: String.raw`C:\disks\data.vhdx`, destination: String.raw`C:\vd`, type: 'virtual-disk', options: ['ro'] },
      { source: 'evd://space/{pool-id}{vdisk-id}', destination: String.raw`C:\evd`, type: 'extensible-virtual-disk' },
    ];
    const v = validateSpec(spec({ mounts }), XENON);
    assert.deepEqual(
      v.mounts.map((m) => [m.destination, m.readOnly, m.classification]),
      [
        [String.raw`C:\rw`, false, { kind: 'vsmb' }],
        [String.raw`C:\ro`, true, { kind: 'vsmb' }],
        [String.raw`C:\app\app.json`, false, { kind: 'vsmb' }],
        [String.raw`\\.\pipe\bar`, false, { kind: 'pipe' }],
        [String.raw`C:\sb`, false, { kind: 'sandbox', sandboxPath: String.raw`C:\SandboxMounts\a\b` }],
        [String.raw`C:\pd`, false, { kind: 'scsi', attachmentType: 'PassThru', hostPath: String.raw`\\.\PHYSICALDRIVE2` }],
        [String.raw`C:\vd`, true, { kind: 'scsi', attachmentType: 'VirtualDisk', hostPath: String.raw`C:\disks\data.vhdx` }],
        [String.raw`C:\evd`, false, { kind: 'scsi', attachmentType: 'ExtensibleVirtualDisk', hostPath: '{pool-id}{vdisk-id}', evdType: 'space' }],
      ],
    );
    assert.deepEqual(v.mounts[0]?.options, []);
    assert.equal(v.mounts[0]?.type, '');
  });
});

describe('validateSpec: devices (docs/layers.md#assigned-devices, V7, V8)', () => {
  const devices = (list: { id: string; idType: string }[]) => spec({}, { devices: list });

  it('process-isolated: location paths and class GUIDs only', () => {
    const v = validateSpec(
      devices([
        { id: 'PCIROOT(0)#PCI(0300)#PCI(0000)', idType: 'vpci-location-path' },
        { id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'class' },
        { id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'vpci-class-guid' },
      ]),
      ARGON,
    );
    assert.deepEqual(v.devices.map((d) => d.idType), ['vpci-location-path', 'class', 'vpci-class-guid']);
    for (const idType of ['vpci', 'vpci-instance-id', 'gpu']) {
      assert.throws(
        () => validateSpec(devices([{ id: 'PCIP\\X', idType }]), ARGON),
        (e: unknown) => e instanceof WcowError && e.code === 'ERR_INVALID_SPEC' && e.message === `specified device PCIP\\X has unsupported type ${idType}` && e.resource === 'PCIP\\X',
      );
    }
  });

  it('V7 hypervisor-isolated: a class GUID is refused before the device-util share exists (docs/differences.md#difference-4)', () => {
    rejects(
      devices([{ id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'class' }]),
      XENON,
      'ERR_INVALID_SPEC',
      'device type class for device 5B45201D-F2F2-4F3B-85BB-30FF1F953599 is not supported in windows',
      '5B45201D-F2F2-4F3B-85BB-30FF1F953599',
    );
    // `gpu` is accepted since hcsshim main (additive); other types still read v0.11.4's message.
    rejects(devices([{ id: 'GPU0', idType: 'vpci-class-guid' }]), XENON, 'ERR_INVALID_SPEC', 'device type vpci-class-guid for device GPU0 is not supported in windows');
  });

  it('V8 hypervisor-isolated: instance ids with their PCI id and virtual function', () => {
    const id = String.raw`PCIP\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\6&2A0A8D3B&0&0000`;
    const v = validateSpec(devices([{ id, idType: 'vpci' }, { id: id + '\\2', idType: 'vpci-instance-id' }]), XENON);
    assert.deepEqual(v.devices, [
      { id, idType: 'vpci', pciId: id, virtualFunction: 0 },
      { id: id + '\\2', idType: 'vpci-instance-id', pciId: id, virtualFunction: 2 },
    ]);
  });

  it('the hypervisor message names the PCI id, not the whole id', () => {
    rejects(devices([{ id: String.raw`ROOT\X\3`, idType: 'class' }]), XENON, 'ERR_INVALID_SPEC', String.raw`device type class for device ROOT\X is not supported in windows`);
  });
});

describe('deviceInfoFromPath (devices.go getDeviceInfoFromPath)', () => {
  const cases: [string, string, number][] = [
    [String.raw`PCIP\A\6&2A0A8D3B&0&0000`, String.raw`PCIP\A\6&2A0A8D3B&0&0000`, 0],
    [String.raw`PCIP\A\B\2`, String.raw`PCIP\A\B`, 2],
    [String.raw`ROOT\SYSTEM\0001`, String.raw`ROOT\SYSTEM`, 1],
    [String.raw`PCIP\A\65535`, String.raw`PCIP\A`, 65535],
    [String.raw`PCIP\A\65536`, String.raw`PCIP\A\65536`, 0],
    [String.raw`PCIP\A\+1`, String.raw`PCIP\A\+1`, 0],
    ['PCIP/A/3', String.raw`PCIP\A`, 3],
  ];
  for (const [id, pciId, virtualFunction] of cases) {
    it(`${id} -> ${pciId} function ${virtualFunction}`, () => assert.deepEqual(deviceInfoFromPath(id), { pciId, virtualFunction }));
  }
});
