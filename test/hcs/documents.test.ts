// Every HCS / GCS document of docs/mounts.md and docs/layers.md that lib/hcs/documents.ts
// builds, compared byte for byte (key order included) with JSON.stringify.
// Expected texts are the JSON hcsshim v0.11.4 sends, verbatim (String.raw keeps its escapes).

import assert from 'node:assert/strict';
import {
  asRemove,
  assignedDevice,
  ccgAddInstance,
  ccgPropertyQuery,
  ccgRemoveInstance,
  combinedLayersAdd,
  combinedLayersRemove,
  defaultVsmbOptions,
  hvSocketServiceRemove,
  hvSocketServiceUpdate,
  layerData,
  mappedDirectory,
  mappedPipe,
  mappedPipeAdd,
  mappedPipeRemove,
  mappedVirtualDiskGuest,
  processParameters,
  scsiAttachmentAdd,
  scsiAttachmentRemove,
  storage,
  virtualPciAdd,
  virtualPciRemove,
  vsmbOptions,
  vsmbShareAdd,
  vsmbShareRemove,
  withoutGuestRequest,
} from '../../lib/hcs/documents';
import { GUEST_SYSTEM_USER, GUEST_WORKING_DIRECTORY, VSMB_SHARE_PREFIX } from '../../lib/hcs/constants';
import { scsiAttachmentPath } from '../../lib/hcs/resourcepaths';
import { WcowError } from '../../lib/errors';

function same(actual: unknown, expectedJson: string): void {
  assert.equal(JSON.stringify(actual), expectedJson);
  assert.deepEqual(actual, JSON.parse(expectedJson));
}

const L3 = String.raw`C:\layers\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e`;
const SH = VSMB_SHARE_PREFIX;

describe('layer documents (docs/layers.md)', () => {
  it('docs/layers.md#one-share-per-read-only-layer a read-only layer share carries TakeBackupPrivilege in schema order', () => {
    same(
      vsmbShareAdd({ name: 's1', path: L3, options: { ...defaultVsmbOptions(true, false), TakeBackupPrivilege: true } }, 'Add'),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Add","Settings":{"Name":"s1","Path":"C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e","Options":{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"TakeBackupPrivilege":true,"PseudoOplocks":true}}}`,
    );
  });

  it('docs/layers.md#scratch-on-scsi the container scratch goes to LUN 1 with a guest MappedVirtualDisk at the cleaned root', () => {
    const vhd = String.raw`\\?\Volume{1b8c0000-0000-0000-0000-000000000001}\layers\scratch1\sandbox.vhdx`;
    const doc = scsiAttachmentAdd(0, 1, { type: 'VirtualDisk', path: vhd }, mappedVirtualDiskGuest('Add', String.raw`C:\c\1`, 1));
    same(
      withoutGuestRequest(doc),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/1","RequestType":"Add","Settings":{"Type":"VirtualDisk","Path":"\\\\?\\Volume{1b8c0000-0000-0000-0000-000000000001}\\layers\\scratch1\\sandbox.vhdx"}}`,
    );
    same(doc.GuestRequest, String.raw`{"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\c\\1","Lun":1}}`);
  });

  it('docs/layers.md#combinedlayers CombinedLayers names each layer by NameToGuid and share path, without ScratchPath', () => {
    same(
      combinedLayersAdd(String.raw`C:\c\1`, [
        { id: '6ba9cac1-7086-5ee9-a197-c465d3f50ad7', path: SH + 's1' },
        { id: '7095521e-b79e-50fc-bafb-958d85400362', path: SH + 's2' },
      ]),
      String.raw`{"RequestType":"Add","ResourceType":"CombinedLayers","Settings":{"ContainerRootPath":"C:\\c\\1","Layers":[{"Id":"6ba9cac1-7086-5ee9-a197-c465d3f50ad7","Path":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s1"},{"Id":"7095521e-b79e-50fc-bafb-958d85400362","Path":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s2"}]}}`,
    );
  });

  it('docs/layers.md#releasing-the-layers-of-a-uvm release: CombinedLayers Remove, guest then host SCSI Remove, share Remove', () => {
    same(combinedLayersRemove(String.raw`C:\c\1`), String.raw`{"RequestType":"Remove","ResourceType":"CombinedLayers","Settings":{"ContainerRootPath":"C:\\c\\1"}}`);
    const doc = scsiAttachmentRemove(0, 1, mappedVirtualDiskGuest('Remove', String.raw`C:\c\1`, 1));
    same(doc.GuestRequest, String.raw`{"RequestType":"Remove","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\c\\1","Lun":1}}`);
    same(withoutGuestRequest(doc), `{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/1","RequestType":"Remove"}`);
    same(vsmbShareRemove('s1'), `{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Remove","Settings":{"Name":"s1"}}`);
  });

  it('docs/layers.md#layerdata LayerData always prints SchemaVersion, {} when zero', () => {
    same(
      layerData([{ id: '6ba9cac1-7086-5ee9-a197-c465d3f50ad7', path: L3 }]),
      String.raw`{"SchemaVersion":{},"Layers":[{"Id":"6ba9cac1-7086-5ee9-a197-c465d3f50ad7","Path":"C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e"}]}`,
    );
    same(layerData([], { Major: 2, Minor: 1 }), `{"SchemaVersion":{"Major":2,"Minor":1}}`);
  });

  it('docs/behaviour.md#the-container-document Storage of a process-isolated and of a hypervisor-isolated container', () => {
    same(
      storage(
        [
          { id: '6ba9cac1-7086-5ee9-a197-c465d3f50ad7', path: L3 },
          { id: '300b3ac0-b603-5367-9494-afec045dd369', path: String.raw`C:\layers\7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62` },
        ],
        '\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\\',
      ),
      String.raw`{"Layers":[{"Id":"6ba9cac1-7086-5ee9-a197-c465d3f50ad7","Path":"C:\\layers\\f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e"},{"Id":"300b3ac0-b603-5367-9494-afec045dd369","Path":"C:\\layers\\7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62"}],"Path":"\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\\"}`,
    );
    same(
      storage([{ id: '6ba9cac1-7086-5ee9-a197-c465d3f50ad7', path: SH + 's1' }], String.raw`C:\c\1`),
      String.raw`{"Layers":[{"Id":"6ba9cac1-7086-5ee9-a197-c465d3f50ad7","Path":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s1"}],"Path":"C:\\c\\1"}`,
    );
  });
});

describe('credential guard documents (docs/layers.md#credential-guard)', () => {
  it('docs/layers.md#adding-an-instance AddInstance passes the credential spec verbatim as one string', () => {
    const cs = '{"CmsPlugins":["ActiveDirectory"]}';
    same(
      ccgAddInstance('c1', cs, 'LRPC'),
      `{"PropertyType":"ContainerCredentialGuard","Settings":{"Operation":"AddInstance","OperationDetails":{"Id":"c1","CredentialSpec":${JSON.stringify(cs)},"Transport":"LRPC"}}}`,
    );
    same(
      ccgAddInstance('c1', cs, 'HvSocket'),
      `{"PropertyType":"ContainerCredentialGuard","Settings":{"Operation":"AddInstance","OperationDetails":{"Id":"c1","CredentialSpec":${JSON.stringify(cs)},"Transport":"HvSocket"}}}`,
    );
  });

  it('Q5 an empty credential spec string is omitted', () => {
    same(
      ccgAddInstance('c1', '', 'LRPC'),
      `{"PropertyType":"ContainerCredentialGuard","Settings":{"Operation":"AddInstance","OperationDetails":{"Id":"c1","Transport":"LRPC"}}}`,
    );
  });

  it('docs/layers.md#querying-the-instance the property query and docs/layers.md#removing-an-instance RemoveInstance', () => {
    same(ccgPropertyQuery(), `{"PropertyTypes":["ContainerCredentialGuard"]}`);
    same(ccgRemoveInstance('c1'), `{"PropertyType":"ContainerCredentialGuard","Settings":{"Operation":"RemoveInstance","OperationDetails":{"Id":"c1"}}}`);
  });

  it('docs/layers.md#hvsocket-service-entry the hvsocket service Update keeps only the four schema fields', () => {
    const fromHcs = JSON.parse(
      '{"BindSecurityDescriptor":"D:P(A;;FA;;;SY)","ConnectSecurityDescriptor":"D:P(A;;FA;;;BA)","AllowWildcardBinds":true,"Extra":"dropped"}',
    );
    same(
      hvSocketServiceUpdate('0b52781f-b24d-5685-ddf6-69830ed40ec3', fromHcs),
      `{"ResourcePath":"VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/0b52781f-b24d-5685-ddf6-69830ed40ec3","RequestType":"Update","Settings":{"BindSecurityDescriptor":"D:P(A;;FA;;;SY)","ConnectSecurityDescriptor":"D:P(A;;FA;;;BA)","AllowWildcardBinds":true}}`,
    );
    same(
      hvSocketServiceRemove('0b52781f-b24d-5685-ddf6-69830ed40ec3'),
      `{"ResourcePath":"VirtualMachine/Devices/HvSocket/HvSocketConfig/ServiceTable/0b52781f-b24d-5685-ddf6-69830ed40ec3","RequestType":"Remove"}`,
    );
  });
});

describe('device documents (docs/layers.md#assigned-devices)', () => {
  const vmbus = '3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e';

  it('docs/layers.md#devices-in-a-utility-vm VPCI Add omits VirtualFunction 0 and Remove has no Settings', () => {
    same(
      virtualPciAdd(vmbus, [{ deviceInstancePath: String.raw`PCIP\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\6&2A0A8D3B&0&0000` }]),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/VirtualPci/3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e","RequestType":"Add","Settings":{"Functions":[{"DeviceInstancePath":"PCIP\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\6&2A0A8D3B&0&0000"}]}}`,
    );
    same(
      virtualPciAdd(vmbus, [{ deviceInstancePath: 'PCIP\\X', virtualFunction: 2 }]).Settings,
      String.raw`{"Functions":[{"DeviceInstancePath":"PCIP\\X","VirtualFunction":2}]}`,
    );
    same(virtualPciRemove(vmbus), `{"ResourcePath":"VirtualMachine/Devices/VirtualPci/3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e","RequestType":"Remove"}`);
  });

  it('docs/layers.md#devices-in-a-utility-vm the device-util file share restricts access to the one file', () => {
    same(
      vsmbShareAdd(
        {
          name: 's3',
          path: String.raw`C:\ContainerPlat`,
          allowedFiles: [String.raw`C:\ContainerPlat\device-util.exe`],
          options: { ...defaultVsmbOptions(true, false), RestrictFileAccess: true, SingleFileMapping: true },
        },
        'Add',
      ),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Add","Settings":{"Name":"s3","Path":"C:\\ContainerPlat","AllowedFiles":["C:\\ContainerPlat\\device-util.exe"],"Options":{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"RestrictFileAccess":true,"PseudoOplocks":true,"SingleFileMapping":true}}}`,
    );
  });

  it('docs/layers.md#devices-in-the-container-document / V7 / V8 assigned devices: location path, class GUID without Type', () => {
    same(assignedDevice('vpci-location-path', 'PCIROOT(0)#PCI(0300)#PCI(0000)'), `{"Type":"DeviceInstance","LocationPath":"PCIROOT(0)#PCI(0300)#PCI(0000)"}`);
    same(assignedDevice('class', '5B45201D-F2F2-4F3B-85BB-30FF1F953599'), `{"InterfaceClassGuid":"5B45201D-F2F2-4F3B-85BB-30FF1F953599"}`);
    same(assignedDevice('vpci-class-guid', '5B45201D-F2F2-4F3B-85BB-30FF1F953599'), `{"InterfaceClassGuid":"5B45201D-F2F2-4F3B-85BB-30FF1F953599"}`);
  });

  it('docs/layers.md#devices-in-the-container-document any other IDType is an invalid spec naming the device', () => {
    assert.throws(
      () => assignedDevice('vpci', 'PCIP\\X'),
      (e: unknown) => e instanceof WcowError && e.code === 'ERR_INVALID_SPEC' && e.resource === 'PCIP\\X' && e.message === 'specified device PCIP\\X has unsupported type vpci',
    );
  });
});

describe('guest process documents', () => {
  it('docs/mounts.md#sandbox-mounts the sandbox mkdir runs as SYSTEM in C:\\ with only a stderr pipe', () => {
    same(
      processParameters({
        commandLine: String.raw`cmd /c mkdir C:\SandboxMounts\a\b & dir C:\SandboxMounts\a\b`,
        user: GUEST_SYSTEM_USER,
        workingDirectory: GUEST_WORKING_DIRECTORY,
        createStdErrPipe: true,
      }),
      String.raw`{"CommandLine":"cmd /c mkdir C:\\SandboxMounts\\a\\b & dir C:\\SandboxMounts\\a\\b","User":"NT AUTHORITY\\SYSTEM","WorkingDirectory":"C:\\","CreateStdErrPipe":true}`,
    );
  });

  it('stdout-only processes print CreateStdOutPipe and no false flags', () => {
    same(processParameters({ commandLine: 'x', createStdOutPipe: true, createStdErrPipe: false }), `{"CommandLine":"x","CreateStdOutPipe":true}`);
  });
});

describe('SCSI mount documents (docs/mounts.md#scsi-disks)', () => {
  const ro = () =>
    scsiAttachmentAdd(0, 2, { type: 'VirtualDisk', path: String.raw`C:\disks\data.vhdx`, readOnly: true }, mappedVirtualDiskGuest('Add', String.raw`C:\mounts\m1`, 2));

  it('docs/mounts.md#adding-an-attachment split path: host part without GuestRequest, guest part alone', () => {
    same(
      withoutGuestRequest(ro()),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/2","RequestType":"Add","Settings":{"Type":"VirtualDisk","Path":"C:\\disks\\data.vhdx","ReadOnly":true}}`,
    );
    same(ro().GuestRequest, String.raw`{"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\mounts\\m1","Lun":2}}`);
  });

  it('docs/mounts.md#adding-an-attachment combined form carries GuestRequest last', () => {
    same(
      ro(),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/2","RequestType":"Add","Settings":{"Type":"VirtualDisk","Path":"C:\\disks\\data.vhdx","ReadOnly":true},"GuestRequest":{"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\mounts\\m1","Lun":2}}}`,
    );
  });

  it('docs/mounts.md#adding-an-attachment the rollback of a failed guest add re-sends the host part as Remove with its Settings', () => {
    same(
      asRemove(withoutGuestRequest(ro())),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/2","RequestType":"Remove","Settings":{"Type":"VirtualDisk","Path":"C:\\disks\\data.vhdx","ReadOnly":true}}`,
    );
  });

  it('docs/mounts.md#adding-an-attachment physical disk and extensible virtual disk Settings', () => {
    same(scsiAttachmentAdd(0, 2, { type: 'PassThru', path: String.raw`\\.\PHYSICALDRIVE2` }).Settings, String.raw`{"Type":"PassThru","Path":"\\\\.\\PHYSICALDRIVE2"}`);
    same(
      scsiAttachmentAdd(0, 2, { type: 'ExtensibleVirtualDisk', path: '{pool-id}{vdisk-id}', evdType: 'space' }).Settings,
      `{"Type":"ExtensibleVirtualDisk","Path":"{pool-id}{vdisk-id}","ExtensibleVirtualDiskType":"space"}`,
    );
  });

  it('docs/mounts.md#extensible-virtual-disk-paths an EVD with an empty mount path omits Path', () => {
    same(scsiAttachmentAdd(0, 2, { type: 'ExtensibleVirtualDisk', path: '', evdType: 'space' }).Settings, `{"Type":"ExtensibleVirtualDisk","ExtensibleVirtualDiskType":"space"}`);
  });

  it('docs/mounts.md#removing-an-attachment remove: guest MappedVirtualDisk Remove then host Remove without Settings', () => {
    const doc = scsiAttachmentRemove(0, 2, mappedVirtualDiskGuest('Remove', String.raw`C:\mounts\m1`, 2));
    same(doc.GuestRequest, String.raw`{"RequestType":"Remove","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\mounts\\m1","Lun":2}}`);
    same(withoutGuestRequest(doc), `{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/2","RequestType":"Remove"}`);
  });

  it('WCOWMappedVirtualDisk.Lun is omitempty: LUN 0 prints no Lun', () => {
    same(mappedVirtualDiskGuest('Add', 'C:\\x', 0).Settings, String.raw`{"ContainerPath":"C:\\x"}`);
  });

  it('docs/mounts.md#controller-and-luns the other controllers have their own GUIDs; out-of-range locations are refused', () => {
    assert.equal(scsiAttachmentPath(3, 63), 'VirtualMachine/Devices/Scsi/305891a9-b251-5dfe-91a2-c25d9212275b/Attachments/63');
    for (const [c, l] of [[4, 0], [0, 64], [0, -1], [0, 1.5]] as const) {
      assert.throws(() => scsiAttachmentPath(c, l), (e: unknown) => e instanceof WcowError && e.code === 'ERR_INVALID_ARGUMENT');
    }
  });
});

describe('VSMB options (docs/mounts.md#share-options)', () => {
  const table: [string, Parameters<typeof vsmbOptions>[0], string][] = [
    ['OCI mount rw dir', defaultVsmbOptions(false, false), '{}'],
    ['OCI mount rw dir, no direct map', defaultVsmbOptions(false, true), '{"NoDirectmap":true}'],
    ['OCI mount ro dir', defaultVsmbOptions(true, false), '{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"PseudoOplocks":true}'],
    ['OCI mount rw file', { ...defaultVsmbOptions(false, false), RestrictFileAccess: true, SingleFileMapping: true }, '{"RestrictFileAccess":true,"SingleFileMapping":true}'],
    [
      'OCI mount ro file',
      { ...defaultVsmbOptions(true, false), RestrictFileAccess: true, SingleFileMapping: true },
      '{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"RestrictFileAccess":true,"PseudoOplocks":true,"SingleFileMapping":true}',
    ],
    ['image layer', { ...defaultVsmbOptions(true, false), TakeBackupPrivilege: true }, '{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"TakeBackupPrivilege":true,"PseudoOplocks":true}'],
  ];
  for (const [use, flags, json] of table) {
    it(`${use} prints ${json}`, () => same(vsmbOptions(flags), json));
  }

  it('flags given in any order print in schema order', () => {
    same(vsmbOptions({ SingleFileMapping: true, ReadOnly: true, NoDirectmap: true }), '{"ReadOnly":true,"NoDirectmap":true,"SingleFileMapping":true}');
  });
});

describe('mount vectors V1-V8 (docs/mounts.md#vectors)', () => {
  it('V1 rw dir share: Add with Options {}, MappedDirectory without ReadOnly, Remove by name', () => {
    same(
      vsmbShareAdd({ name: 's3', path: String.raw`C:\data\rw`, options: defaultVsmbOptions(false, false) }, 'Add'),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Add","Settings":{"Name":"s3","Path":"C:\\data\\rw","Options":{}}}`,
    );
    same(
      mappedDirectory({ hostPath: SH + 's3', containerPath: String.raw`C:\rw`, readOnly: false }),
      String.raw`{"HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s3","ContainerPath":"C:\\rw"}`,
    );
    same(vsmbShareRemove('s3'), `{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Remove","Settings":{"Name":"s3"}}`);
    same(
      mappedDirectory({ hostPath: String.raw`\\?\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\data\rw`, containerPath: String.raw`C:\rw`, readOnly: false }),
      String.raw`{"HostPath":"\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\\data\\rw","ContainerPath":"C:\\rw"}`,
    );
  });

  it('V2 ro dir share', () => {
    same(
      vsmbShareAdd({ name: 's3', path: String.raw`C:\data\ro`, options: defaultVsmbOptions(true, false) }, 'Add').Settings,
      String.raw`{"Name":"s3","Path":"C:\\data\\ro","Options":{"ReadOnly":true,"ShareRead":true,"CacheIo":true,"PseudoOplocks":true}}`,
    );
    same(
      mappedDirectory({ hostPath: SH + 's3', containerPath: String.raw`C:\ro`, readOnly: true }),
      String.raw`{"HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s3","ContainerPath":"C:\\ro","ReadOnly":true}`,
    );
  });

  it('V3 / V3b single-file share: Add, then Update with the grown AllowedFiles', () => {
    const options = { ...defaultVsmbOptions(false, false), RestrictFileAccess: true, SingleFileMapping: true };
    same(
      vsmbShareAdd({ name: 's3', path: String.raw`C:\data\cfg`, allowedFiles: [String.raw`C:\data\cfg\app.json`], options }, 'Add'),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Add","Settings":{"Name":"s3","Path":"C:\\data\\cfg","AllowedFiles":["C:\\data\\cfg\\app.json"],"Options":{"RestrictFileAccess":true,"SingleFileMapping":true}}}`,
    );
    same(
      vsmbShareAdd({ name: 's3', path: String.raw`C:\data\cfg`, allowedFiles: [String.raw`C:\data\cfg\app.json`, String.raw`C:\data\cfg\b.json`], options }, 'Update'),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/VirtualSmb/Shares","RequestType":"Update","Settings":{"Name":"s3","Path":"C:\\data\\cfg","AllowedFiles":["C:\\data\\cfg\\app.json","C:\\data\\cfg\\b.json"],"Options":{"RestrictFileAccess":true,"SingleFileMapping":true}}}`,
    );
    same(
      mappedDirectory({ hostPath: SH + 's3\\app.json', containerPath: String.raw`C:\app\app.json`, readOnly: false }),
      String.raw`{"HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s3\\app.json","ContainerPath":"C:\\app\\app.json"}`,
    );
  });

  it('V4 named pipe: Add/Remove with the full pipe in the path and no Settings', () => {
    same(mappedPipeAdd(String.raw`\\.\pipe\foo`), String.raw`{"ResourcePath":"VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo","RequestType":"Add"}`);
    same(mappedPipeRemove(String.raw`\\.\pipe\foo`), String.raw`{"ResourcePath":"VirtualMachine/Devices/MappedPipes/\\\\.\\pipe\\foo","RequestType":"Remove"}`);
    same(
      mappedPipe({ containerPipeName: 'bar', hostPath: SH + 'IPC$\\foo' }),
      String.raw`{"ContainerPipeName":"bar","HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\IPC$\\foo"}`,
    );
    same(mappedPipe({ containerPipeName: 'bar', hostPath: String.raw`\\.\pipe\foo` }), String.raw`{"ContainerPipeName":"bar","HostPath":"\\\\.\\pipe\\foo"}`);
  });

  it('V5 sandbox mount MappedDirectory', () => {
    same(
      mappedDirectory({ hostPath: String.raw`C:\SandboxMounts\a\b`, containerPath: String.raw`C:\sb`, readOnly: false }),
      String.raw`{"HostPath":"C:\\SandboxMounts\\a\\b","ContainerPath":"C:\\sb"}`,
    );
  });

  it('V6 physical disk: HCS Add, GCS Add, MappedDirectory, then GCS and HCS Remove', () => {
    const add = scsiAttachmentAdd(0, 2, { type: 'PassThru', path: String.raw`\\.\PHYSICALDRIVE2` }, mappedVirtualDiskGuest('Add', String.raw`C:\mounts\m1`, 2));
    same(
      withoutGuestRequest(add),
      String.raw`{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/2","RequestType":"Add","Settings":{"Type":"PassThru","Path":"\\\\.\\PHYSICALDRIVE2"}}`,
    );
    same(add.GuestRequest, String.raw`{"RequestType":"Add","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\mounts\\m1","Lun":2}}`);
    same(mappedDirectory({ hostPath: String.raw`C:\mounts\m1`, containerPath: String.raw`C:\pd`, readOnly: false }), String.raw`{"HostPath":"C:\\mounts\\m1","ContainerPath":"C:\\pd"}`);
    const remove = scsiAttachmentRemove(0, 2, mappedVirtualDiskGuest('Remove', String.raw`C:\mounts\m1`, 2));
    same(remove.GuestRequest, String.raw`{"RequestType":"Remove","ResourceType":"MappedVirtualDisk","Settings":{"ContainerPath":"C:\\mounts\\m1","Lun":2}}`);
    same(withoutGuestRequest(remove), `{"ResourcePath":"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/2","RequestType":"Remove"}`);
  });

  it('V7 read-only virtual disk', () => {
    same(
      scsiAttachmentAdd(0, 2, { type: 'VirtualDisk', path: String.raw`C:\disks\data.vhdx`, readOnly: true }).Settings,
      String.raw`{"Type":"VirtualDisk","Path":"C:\\disks\\data.vhdx","ReadOnly":true}`,
    );
    same(
      mappedDirectory({ hostPath: String.raw`C:\mounts\m1`, containerPath: String.raw`C:\vd`, readOnly: true }),
      String.raw`{"HostPath":"C:\\mounts\\m1","ContainerPath":"C:\\vd","ReadOnly":true}`,
    );
  });

  it('V8 extensible virtual disk', () => {
    same(
      scsiAttachmentAdd(0, 2, { type: 'ExtensibleVirtualDisk', path: '{pool-id}{vdisk-id}', evdType: 'space' }).Settings,
      `{"Type":"ExtensibleVirtualDisk","Path":"{pool-id}{vdisk-id}","ExtensibleVirtualDiskType":"space"}`,
    );
    same(mappedDirectory({ hostPath: String.raw`C:\mounts\m1`, containerPath: String.raw`C:\evd`, readOnly: false }), String.raw`{"HostPath":"C:\\mounts\\m1","ContainerPath":"C:\\evd"}`);
  });

  it('docs/mounts.md#combined-scenario-m1-m8 combined scenario: MappedDirectories and MappedPipes of the container document', () => {
    const dirs = [
      mappedDirectory({ hostPath: SH + 's3', containerPath: String.raw`C:\rw`, readOnly: false }),
      mappedDirectory({ hostPath: SH + 's4', containerPath: String.raw`C:\ro`, readOnly: true }),
      mappedDirectory({ hostPath: SH + 's5\\app.json', containerPath: String.raw`C:\app\app.json`, readOnly: false }),
      mappedDirectory({ hostPath: String.raw`C:\SandboxMounts\a\b`, containerPath: String.raw`C:\sb`, readOnly: false }),
      mappedDirectory({ hostPath: String.raw`C:\mounts\m6`, containerPath: String.raw`C:\pd`, readOnly: false }),
      mappedDirectory({ hostPath: String.raw`C:\mounts\m7`, containerPath: String.raw`C:\vd`, readOnly: true }),
      mappedDirectory({ hostPath: String.raw`C:\mounts\m8`, containerPath: String.raw`C:\evd`, readOnly: false }),
    ];
    same(
      { MappedDirectories: dirs, MappedPipes: [mappedPipe({ containerPipeName: 'bar', hostPath: SH + 'IPC$\\foo' })] },
      '{' +
        String.raw`"MappedDirectories":[{"HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s3","ContainerPath":"C:\\rw"},{"HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s4","ContainerPath":"C:\\ro","ReadOnly":true},{"HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\s5\\app.json","ContainerPath":"C:\\app\\app.json"},{"HostPath":"C:\\SandboxMounts\\a\\b","ContainerPath":"C:\\sb"},{"HostPath":"C:\\mounts\\m6","ContainerPath":"C:\\pd"},{"HostPath":"C:\\mounts\\m7","ContainerPath":"C:\\vd","ReadOnly":true},{"HostPath":"C:\\mounts\\m8","ContainerPath":"C:\\evd"}],` +
        String.raw`"MappedPipes":[{"ContainerPipeName":"bar","HostPath":"\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\IPC$\\foo"}]` +
        '}',
    );
  });
});
