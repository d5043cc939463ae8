// Strict OCI keys (issue 11 point 1, docs/differences.md#difference-9): a key in another case, or one
// the runtime-spec does not define at a level we read, is refused with its path and the
// right spelling; unknown mount options are kept and reported as warnings.

import assert from 'node:assert/strict';
import { WcowError } from '../../lib/errors';
import { validateSpec, type ValidateContext } from '../../lib/oci/validate';

const ARGON: ValidateContext = { hypervisorIsolated: false };
const XENON: ValidateContext = { hypervisorIsolated: true };
const L1 = String.raw`C:\layers\l1`;
const S = String.raw`C:\layers\scratch1`;

function spec(extra: Record<string, unknown> = {}, windows: Record<string, unknown> = { layerFolders: [L1, S] }): Record<string, unknown> {
  return { ociVersion: '1.1.0', ...extra, windows };
}

const mount = (m: Record<string, unknown>) => ({ destination: 'C:\\d', type: '', source: 'C:\\s', ...m });

function refused(input: unknown, ctx: ValidateContext, resource: string, message: string): void {
  assert.throws(
    () => validateSpec(input, ctx),
    (e: unknown) => {
      assert.ok(e instanceof WcowError, `not a WcowError: ${String(e)}`);
      assert.equal(e.code, 'ERR_INVALID_SPEC');
      assert.equal(e.op, 'spec.validate');
      assert.equal(e.resource, resource);
      assert.equal(e.message, message);
      return true;
    },
  );
}

describe('strict OCI keys (issue 11 point 1)', () => {
  it('`Mounts` is refused with the spelling `mounts` instead of allocating without mounts', () => {
    refused(spec({ Mounts: [mount({})] }), XENON, 'Mounts', "invalid OCI spec - unknown key 'Mounts': config.json spells it 'mounts' (OCI keys are case-sensitive)");
  });

  it('`windows.HyperV` is refused with `windows.hyperv` instead of being ignored', () => {
    refused(
      spec({}, { layerFolders: [L1, S], HyperV: {} }),
      XENON,
      'windows.HyperV',
      "invalid OCI spec - unknown key 'windows.HyperV': config.json spells it 'windows.hyperv' (OCI keys are case-sensitive)",
    );
  });

  it('`windows.LayerFolders` names the OCI spelling `windows.layerFolders`, not "Layerfolders is not populated"', () => {
    refused(
      spec({}, { LayerFolders: [L1, S] }),
      ARGON,
      'windows.LayerFolders',
      "invalid OCI spec - unknown key 'windows.LayerFolders': config.json spells it 'windows.layerFolders' (OCI keys are case-sensitive)",
    );
  });

  it('a mount written with Go field names is refused at `mounts[2].Source`', () => {
    const mounts = [mount({}), mount({}), { Source: 'C:\\s', Destination: 'C:\\d' }];
    refused(spec({ mounts }), XENON, 'mounts[2].Source', "invalid OCI spec - unknown key 'mounts[2].Source': config.json spells it 'mounts[2].source' (OCI keys are case-sensitive)");
  });

  it('an unknown key lists the keys of its level; root, hyperv and devices are checked too', () => {
    refused(
      spec({ mountz: [] }),
      ARGON,
      'mountz',
      "invalid OCI spec - unknown key 'mountz': the keys of a config.json are ociVersion, hooks, annotations, hostname, domainname, mounts, root, process, linux, solaris, windows, vm, zos, freebsd",
    );
    refused(spec({ root: { Path: 'x' } }), ARGON, 'root.Path', "invalid OCI spec - unknown key 'root.Path': config.json spells it 'root.path' (OCI keys are case-sensitive)");
    refused(
      spec({}, { layerFolders: [L1, S], hyperv: { utilityVmPath: 'C:\\u' } }),
      XENON,
      'windows.hyperv.utilityVmPath',
      "invalid OCI spec - unknown key 'windows.hyperv.utilityVmPath': config.json spells it 'windows.hyperv.utilityVMPath' (OCI keys are case-sensitive)",
    );
    refused(
      spec({}, { layerFolders: [L1, S], devices: [{ id: 'x', IDType: 'class' }] }),
      ARGON,
      'windows.devices[0].IDType',
      "invalid OCI spec - unknown key 'windows.devices[0].IDType': config.json spells it 'windows.devices[0].idType' (OCI keys are case-sensitive)",
    );
  });

  it('every config.json key of runtime-spec 1.2 is accepted, and levels we do not read pass through unchecked', () => {
    const full = {
      ociVersion: '1.2.0',
      process: { terminal: false, user: { username: 'ContainerUser' }, args: ['cmd'], cwd: 'C:\\', anything: 1 },
      root: { path: '', readonly: false },
      hostname: 'h',
      domainname: 'd',
      mounts: [{ destination: 'C:\\d', type: '', source: 'C:\\s', options: ['ro'], uidMappings: [], gidMappings: [] }],
      hooks: {},
      annotations: { 'Any.Key': 'v' },
      linux: {},
      solaris: {},
      vm: {},
      zos: {},
      windows: {
        layerFolders: [L1, S],
        devices: [],
        resources: { memory: { limit: 1 }, Unread: true },
        network: { endpointList: [] },
        credentialSpec: undefined,
        servicing: false,
        ignoreFlushesDuringBoot: true,
        hyperv: { utilityVMPath: '' },
      },
    };
    const v = validateSpec(full, XENON);
    assert.deepEqual(v.warnings, []);
  });

  it('hcsshim messages stay where hcsshim has one: a missing mount source keeps its text', () => {
    assert.throws(() => validateSpec(spec({ mounts: [{ destination: 'C:\\d' }] }), XENON), {
      code: 'ERR_INVALID_MOUNT',
      message: 'invalid OCI spec - a mount must have both source and a destination: {Destination:C:\\d Type: Source: Options:[]}',
    });
  });
});

describe('mount option warnings (issue 11 point 1)', () => {
  it("`readonly` gives a writable mount and a warning naming 'ro'; unknown options are kept", () => {
    const v = validateSpec(spec({ mounts: [mount({ options: ['readonly'] }), mount({ options: ['ro', 'nosuid'], destination: 'C:\\other' })] }), XENON);
    assert.equal(v.mounts[0]!.readOnly, false);
    assert.deepEqual(v.mounts[1]!.options, ['ro', 'nosuid']);
    assert.deepEqual(v.warnings, [
      { path: 'mounts[0].options[0]', message: "mount option 'readonly' is not read by Windows containers, so this mount is writable: a read-only mount is written 'ro'" },
      { path: 'mounts[1].options[1]', message: "mount option 'nosuid' is kept but Windows containers do not read it (only 'ro' changes a mount)" },
    ]);
  });
});
