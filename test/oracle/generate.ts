// Generated scenarios (fast-check, seeded): specs drawn from everything the
// engine accepts and some of what it refuses — 0-3 layers + scratch, 0-12 mounts
// of every kind and option, credential specs, devices of every id type, kernel
// drivers, pod sandbox containers, up to three containers sharing one UVM's
// layers, disks and shares, release modes and orders, UVM options, and a fault at
// the k-th call of an API. Each scenario names the differences (docs/differences.md) it may show
// (`mayDiffer`): what its inputs make possible, not required.

import fc from 'fast-check';
import type { OciMount, OciSpec } from '../../lib/oci/types';
import type { ContainerCase, Fault, HostSetup, ReleaseMode, Scenario, Step } from './scenario';

const LAYERS = ['C:\\layers\\app', 'C:\\layers\\mid', 'C:\\layers\\base', 'C:\\layers\\os'];
const DIRS = ['C:\\data\\rw', 'C:\\data\\ro', 'C:\\data\\logs'];
const FILES = ['C:\\data\\cfg\\app.json', 'C:\\data\\cfg\\b.json', 'C:\\data\\etc\\hosts'];
const VHDX = ['C:\\disks\\data.vhdx', 'C:\\disks\\two.vhdx'];
const GPU = 'PCIP\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\6&2A0A8D3B&0&0000';
const NIC = 'PCIP\\VEN_8086&DEV_1572&SUBSYS_00018086&REV_01\\4&1B2C3D4E&0&0008';
const DRIVERS = ['C:\\drivers\\gpu', 'C:\\drivers\\net'];

const SETUP: HostSetup = {
  dirs: [...LAYERS, ...DIRS, ...DRIVERS],
  files: Object.fromEntries(FILES.map((f) => [f, 'x'])),
  vhdx: VHDX,
  physicalDrives: [2, 3],
  deviceLocations: { [NIC]: ['PCIROOT(0)#PCI(0200)#PCI(0000)', 'PCIROOT(0)#PCI(0200)#PCI(0001)'] },
};

const CCG_SPEC = JSON.stringify({
  CmsPlugins: ['ActiveDirectory'],
  DomainJoinConfig: { Sid: 'S-1-5-21-7', MachineAccountName: 'gmsa7', Guid: '7d6c5b4a-3a2b-4c1d-9e8f-000000000007', DnsTreeName: 'fabrikam.com', DnsName: 'fabrikam.com', NetBiosName: 'FABRIKAM' },
});

/** APIs both sides call the same number of times (NameToGuid: our container document calls it too). */
const FAULT_APIS = [
  'HcsModifyComputeSystem',
  'GuestRequest',
  'Exec',
  'GrantVmAccess',
  'CreateSandboxLayer',
  'ActivateLayer',
  'PrepareLayer',
  'GetLayerMountPath',
  'HcsModifyServiceSettings',
  'HcsGetServiceProperties',
];

type MountKind = 'dir' | 'file' | 'pipe' | 'sandbox' | 'physical' | 'vhdx' | 'evd' | 'missing' | 'bind' | 'nosource';

const mountArb = (kind: MountKind, i: number): fc.Arbitrary<OciMount> => {
  const destination = `C:\\m${i}`;
  const ro = fc.constantFrom<string[] | undefined>(undefined, ['ro'], ['RO'], ['rw'], ['ro', 'noexec']);
  switch (kind) {
    case 'dir':
      return fc.record({ source: fc.constantFrom(...DIRS), options: ro }).map(({ source, options }) => ({ destination, source, ...(options && { options }) }));
    case 'file':
      return fc.record({ source: fc.constantFrom(...FILES), options: ro }).map(({ source, options }) => ({ destination: `${destination}\\f.txt`, source, ...(options && { options }) }));
    case 'pipe':
      return fc.constantFrom('p1', 'p2', 'p3').map((p) => ({ destination: `\\\\.\\pipe\\c${i}${p}`, source: `\\\\.\\pipe\\${p}` }));
    case 'sandbox':
      return fc.constantFrom('a', 'a/b', 'logs', 'x/y/z').map((p) => ({ destination, source: `sandbox:///${p}` }));
    case 'physical':
      return fc.record({ n: fc.constantFrom(2, 3), options: ro }).map(({ n, options }) => ({ destination, source: `\\\\.\\PHYSICALDRIVE${n}`, type: 'physical-disk', ...(options && { options }) }));
    case 'vhdx':
      return fc.record({ source: fc.constantFrom(...VHDX), options: ro }).map(({ source, options }) => ({ destination, source, type: 'virtual-disk', ...(options && { options }) }));
    case 'evd':
      return fc.constantFrom('space', 'pool').map((t) => ({ destination, source: `evd://${t}/C:\\disks\\evd${i}.vhdx`, type: 'extensible-virtual-disk' }));
    case 'missing':
      return fc.constant({ destination, source: 'C:\\data\\nope' });
    case 'bind':
      return fc.constant({ destination, source: DIRS[0]!, type: 'bind' });
    case 'nosource':
      return fc.constant({ destination, source: '' });
  }
};

const KINDS: readonly { arbitrary: fc.Arbitrary<MountKind>; weight: number }[] = [
  { arbitrary: fc.constant<MountKind>('dir'), weight: 6 },
  { arbitrary: fc.constant<MountKind>('file'), weight: 2 },
  { arbitrary: fc.constant<MountKind>('pipe'), weight: 3 },
  { arbitrary: fc.constant<MountKind>('sandbox'), weight: 3 },
  { arbitrary: fc.constant<MountKind>('physical'), weight: 2 },
  { arbitrary: fc.constant<MountKind>('vhdx'), weight: 3 },
  { arbitrary: fc.constant<MountKind>('evd'), weight: 2 },
  { arbitrary: fc.constant<MountKind>('missing'), weight: 1 },
  { arbitrary: fc.constant<MountKind>('bind'), weight: 1 },
  { arbitrary: fc.constant<MountKind>('nosource'), weight: 1 },
];

/** Mount kinds the package refuses before its first side effect, where hcsshim fails later (docs/differences.md#difference-1). */
const REFUSED: readonly MountKind[] = ['bind', 'nosource'];
/** Kinds that fail an allocation; with the refused ones, only in a UVM's last container (see containerArb). */
const FAILING: readonly MountKind[] = [...REFUSED, 'missing'];

const mountsArb = (hyperv: boolean, refusable: boolean): fc.Arbitrary<{ mounts: OciMount[]; kinds: MountKind[] }> =>
  fc
    .array(fc.oneof(...KINDS), { maxLength: 12 })
    // Process isolation: only what resolves on the host (disks and sandbox paths are not).
    .map((kinds) => (hyperv ? kinds : kinds.filter((k) => k === 'dir' || k === 'file' || k === 'pipe' || REFUSED.includes(k))))
    .map((kinds) => (refusable ? kinds : kinds.filter((k) => !FAILING.includes(k))))
    .chain((kinds) => fc.tuple(...kinds.map((k, i) => mountArb(k, i))).map((mounts) => ({ mounts, kinds })));

const deviceArb = (hyperv: boolean, refusable: boolean): fc.Arbitrary<{ id: string; idType: string }> =>
  hyperv
    ? fc.constantFrom(
        { id: GPU, idType: 'vpci' },
        { id: NIC, idType: 'vpci-instance-id' },
        { id: `${GPU}\\1`, idType: 'vpci-instance-id' },
        // A UVM takes only vpci ids: the package refuses these up front (docs/differences.md#difference-1).
        ...(refusable
          ? [
              { id: 'PCIROOT(0)#PCI(0300)#PCI(0000)', idType: 'vpci-location-path' },
              { id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'class' },
            ]
          : []),
      )
    : fc.constantFrom(
        { id: '5B45201D-F2F2-4F3B-85BB-30FF1F953599', idType: 'class' },
        { id: 'PCIROOT(0)#PCI(0300)#PCI(0000)', idType: 'vpci-location-path' },
      );

interface Drawn {
  container: ContainerCase;
  kinds: MountKind[];
}

/**
 * One container. `refusable`: it may carry what fails its allocation — what the package
 * refuses before any side effect and hcsshim only after some (docs/differences.md#difference-1, docs/differences.md#difference-9), or a missing
 * mount source. Only the last container of a UVM does: hcsshim's side effects consume
 * counters (share names) that the package's refusal does not, and what hcsshim's
 * rollback leaks (docs/differences.md#difference-2, docs/differences.md#difference-3) stays shared with later containers, whose names and LUNs
 * would then differ for that reason alone.
 */
const containerArb = (id: string, hyperv: boolean, first: boolean, refusable: boolean): fc.Arbitrary<Drawn> =>
  fc
    .record({
      // No layer at all: refused by the package (docs/differences.md#difference-1), accepted by v0.11.4.
      layers: fc.subarray(LAYERS, { minLength: refusable ? 0 : 1, maxLength: 3 }),
      mounts: mountsArb(hyperv, refusable),
      ccg: fc.boolean(),
      devices: fc.array(deviceArb(hyperv, refusable), { maxLength: 2 }),
      drivers: fc.subarray(DRIVERS),
      missingDriver: fc.integer({ min: 0, max: 19 }).map((n) => refusable && n === 0),
      sandbox: fc.integer({ min: 0, max: 5 }).map((n) => first && n === 0),
      release: fc.constantFrom<ReleaseMode>('all', 'all', 'all', 'all', 'partial', 'none'),
      legacySchema: fc.integer({ min: 0, max: 9 }).map((n) => !hyperv && n === 0),
    })
    .map((d) => {
      const annotations: Record<string, string> = {};
      const drivers = d.missingDriver ? [...d.drivers, 'C:\\drivers\\missing'] : d.drivers;
      if (drivers.length > 0) annotations['io.microsoft.virtualmachine.kerneldrivers'] = drivers.join(',');
      if (d.sandbox) {
        annotations['io.kubernetes.cri.container-type'] = 'sandbox';
        annotations['io.kubernetes.cri.sandbox-id'] = id;
      }
      const windows: NonNullable<OciSpec['windows']> = { layerFolders: [...d.layers, `C:\\scratch\\${id}`] };
      if (hyperv) windows.hyperv = {};
      if (d.ccg) windows.credentialSpec = CCG_SPEC;
      if (d.devices.length > 0) windows.devices = d.devices;
      const spec: OciSpec = {
        ociVersion: '1.1.0',
        ...(Object.keys(annotations).length > 0 && { annotations }),
        ...(d.mounts.mounts.length > 0 && { mounts: d.mounts.mounts }),
        windows,
      };
      const container: ContainerCase = { id, spec, release: d.release, ...(d.legacySchema && { schemaVersion: { major: 1, minor: 0 } }) };
      return { container, kinds: d.mounts.kinds };
    });

const faultArb: fc.Arbitrary<Fault | undefined> = fc.option(
  fc.oneof(
    fc.record({ api: fc.constantFrom(...FAULT_APIS), nth: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ api: fc.constant('Exec'), nth: fc.integer({ min: 1, max: 4 }), exitCode: fc.constantFrom(1, 2, 259) }),
    fc.record({ api: fc.constant('PrepareLayer'), times: fc.constant(2), hresult: fc.constant(0x80070015 | 0) }),
  ),
  { freq: 3 },
);

/** What a scenario's inputs let it show (numbers of docs/differences.md). */
function mayDiffer(hyperv: boolean, drawn: readonly Drawn[], fault: Fault | undefined): number[] {
  const out = new Set<number>();
  for (const { container, kinds } of drawn) {
    const w = container.spec.windows!;
    if (kinds.some((k) => k === 'bind' || k === 'nosource')) out.add(1);
    if (hyperv && (w.devices ?? []).some((d) => d.idType !== 'vpci' && d.idType !== 'vpci-instance-id')) out.add(1);
    if (w.layerFolders!.length === 1) out.add(1);
    // Host preflight (9): a missing driver folder or mount source is refused before any call.
    if (kinds.includes('missing') || container.spec.annotations?.['io.microsoft.virtualmachine.kerneldrivers']?.includes('missing') === true) out.add(9);
    if (hyperv && (kinds.includes('file') || (w.devices ?? []).length > 0)) out.add(2).add(3);
    if (hyperv && w.credentialSpec !== undefined) out.add(5);
    if (hyperv && container.spec.annotations?.['io.kubernetes.cri.container-type'] === 'sandbox') out.add(11);
  }
  if (fault !== undefined) {
    out.add(2);
    if (hyperv) out.add(4);
    out.add(5);
  }
  return [...out].sort((a, b) => a - b);
}

const scenarioArb: fc.Arbitrary<Omit<Scenario, 'name'>> = fc
  .record({
    hyperv: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0),
    count: fc.integer({ min: 1, max: 3 }),
    noWritableFileShares: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
    fullyPhysicallyBacked: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
    vsmbNoDirectMap: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
    fault: faultArb,
    faultStep: fc.nat(),
  })
  .chain((o) => {
    const n = o.hyperv ? o.count : Math.min(o.count, 2);
    return fc
      .tuple(...Array.from({ length: n }, (_, i) => containerArb(`c${i + 1}`, o.hyperv, i === 0, i === n - 1)))
      .chain((drawn) => {
        const releasable = drawn.filter((d) => d.container.release !== 'none').map((d) => d.container.id);
        return fc.shuffledSubarray(releasable, { minLength: releasable.length, maxLength: releasable.length }).map((order) => ({ o, drawn, order }));
      });
  })
  .map(({ o, drawn, order }) => {
    const steps: Step[] = [...drawn.map((d) => ({ allocate: d.container.id })), ...order.map((id) => ({ release: id }))];
    // Armed at the last allocation or at a release, for the reason containerArb gives.
    const armable = [drawn.length - 1, ...order.map((_, i) => drawn.length + i)];
    const drawnFault = o.fault as Fault | null;
    const fault: Fault | undefined = drawnFault === null ? undefined : { ...drawnFault, atStep: armable[o.faultStep % armable.length]! };
    return {
      uvm: o.hyperv
        ? {
            id: 'gen@vm',
            ...(o.noWritableFileShares && { noWritableFileShares: true }),
            ...(o.fullyPhysicallyBacked && { fullyPhysicallyBacked: true }),
            ...(o.vsmbNoDirectMap && { vsmbNoDirectMap: true }),
          }
        : null,
      setup: SETUP,
      containers: drawn.map((d) => d.container),
      steps,
      ...(fault !== undefined && { faults: [fault] }),
      mayDiffer: mayDiffer(o.hyperv, drawn, fault),
    };
  });

export function generated(seed: number, runs: number): Scenario[] {
  if (runs <= 0) return [];
  return fc.sample(scenarioArb, { seed, numRuns: runs }).map((s, i) => ({ ...s, name: `generated #${i}`, origin: `ORACLE_SEED=${seed} ORACLE_ONLY='generated #${i}'` }));
}
