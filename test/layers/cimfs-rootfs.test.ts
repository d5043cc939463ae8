// Typed rootfs mounts (docs/rootfs.md#typed-rootfs-mounts): hcsshim main's ParseWCOWLayers vectors
// P1-P13, Go encoding/json's error texts for the option arrays, and the allocation from a
// `windows-layer` mount being the allocation from the equivalent LayerFolders.

import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { allocateWindowsResources, planWindowsResources } from '../../lib/allocate';
import { WcowError } from '../../lib/errors';
import { unmarshalStringArray } from '../../lib/layers/gojson';
import { parseWcowLayers, rootfsLayers, type RootfsMount } from '../../lib/layers/rootfs';
import { createVhdx } from '../../lib/vhdx';
import { bench, json, L1, L2, L3, rejects, S, spec } from '../allocate/fixtures';

const P1: RootfsMount = {
  type: 'windows-layer',
  source: 'C:\\s\\snapshots\\7',
  options: ['rw', 'parentLayerPaths=["C:\\\\s\\\\snapshots\\\\6","C:\\\\s\\\\snapshots\\\\5"]'],
};
const P1_VALUE = { kind: 'wcifs', scratch: 'C:\\s\\snapshots\\7', parents: ['C:\\s\\snapshots\\6', 'C:\\s\\snapshots\\5'] };
const P7: RootfsMount = {
  type: 'CimFS',
  source: 'C:\\s\\snapshots\\7',
  options: [
    'rw',
    'cimpath=C:\\s\\snapshots\\cim-layers\\7.cim',
    'parentLayerPaths=["C:\\\\s\\\\snapshots\\\\6","C:\\\\s\\\\snapshots\\\\5"]',
    'parentCimPaths=["C:\\\\s\\\\snapshots\\\\cim-layers\\\\6.cim","C:\\\\s\\\\snapshots\\\\cim-layers\\\\5.cim"]',
  ],
};
const P10: RootfsMount = {
  type: 'BlockCIM',
  source: 'C:\\s\\snapshots\\9',
  options: ['parentCimPaths=["C:\\\\s\\\\snapshots\\\\8\\\\layer.vhd\\\\layer.cim"]', 'blockCIMType=file', 'enable_layer_integrity'],
};

function parseError(rootfs: RootfsMount[], layerFolders: string[] = []): WcowError {
  try {
    parseWcowLayers(rootfs, layerFolders);
  } catch (err) {
    assert.ok(err instanceof WcowError);
    return err;
  }
  assert.fail('expected a parse error');
}

describe('rootfs: ParseWCOWLayers vectors (hcsshim main)', () => {
  it('P1: windows-layer with parentLayerPaths is WCIFS, parents top-most first', () => {
    assert.deepEqual(parseWcowLayers([P1], []), P1_VALUE);
  });

  it('P2: LayerFolders [6, 5, 7] is the same value as P1', () => {
    assert.deepEqual(parseWcowLayers([], ['C:\\s\\snapshots\\6', 'C:\\s\\snapshots\\5', 'C:\\s\\snapshots\\7']), P1_VALUE);
  });

  it('P3: a rootfs mount and LayerFolders together fail the precondition', () => {
    assert.equal(parseError([P1], ['C:\\a', 'C:\\b']).message, 'cannot pass both a rootfs mount and Windows.LayerFolders: failed precondition');
  });

  it('P3b/c: neither, or two mounts, fail the precondition', () => {
    assert.equal(parseError([]).message, 'must pass either a rootfs mount or Windows.LayerFolders: failed precondition');
    assert.equal(parseError([P1, P1]).message, 'expected a single rootfs mount: failed precondition');
  });

  it('P4: one LayerFolder without a rootfs needs two', () => {
    assert.equal(parseError([], ['C:\\s\\snapshots\\7']).message, 'must pass at least two Windows.LayerFolders: failed precondition');
  });

  it('P5: a Target on the mount fails with hcsshim\'s inverted text', () => {
    assert.equal(parseError([{ ...P1, target: 'C:\\mnt' }]).message, 'rootfs mount is missing Target path: failed precondition');
  });

  it('P6: windows-layer without parentLayerPaths parses to zero parents', () => {
    assert.deepEqual(parseWcowLayers([{ type: 'windows-layer', source: 'C:\\s\\snapshots\\7', options: ['rw'] }], []), {
      kind: 'wcifs',
      scratch: 'C:\\s\\snapshots\\7',
      parents: [],
    });
  });

  it('P7: CimFS from containerd ≥ 2.1 is forked CIM pairs in option order; cimpath= is ignored', () => {
    assert.deepEqual(parseWcowLayers([P7], []), {
      kind: 'forked-cim',
      scratch: 'C:\\s\\snapshots\\7',
      layers: [
        { path: 'C:\\s\\snapshots\\6', cimPath: 'C:\\s\\snapshots\\cim-layers\\6.cim' },
        { path: 'C:\\s\\snapshots\\5', cimPath: 'C:\\s\\snapshots\\cim-layers\\5.cim' },
      ],
    });
  });

  it('P8: CimFS from containerd 2.0 (no parentCimPaths=) is a length mismatch', () => {
    const m = { ...P7, options: P7.options!.filter((o) => !o.startsWith('parentCimPaths=')) };
    assert.equal(parseError([m]).message, 'invalid mount, number of parent layer paths & cim paths should be same');
  });

  it('P9: single backslashes in parentLayerPaths are a JSON escape error with the option named', () => {
    const m = { ...P7, options: ['parentLayerPaths=["C:\\s\\6"]', 'parentCimPaths=["x"]'] };
    assert.equal(parseError([m]).message, 'failed to unmarshal option `parentLayerPaths=`: invalid character \'s\' in string escape code');
  });

  it('P9b: the first matching option wins, later duplicates are ignored', () => {
    const m = { ...P7, options: ['parentLayerPaths=["C:\\\\a"]', 'parentLayerPaths=oops', 'parentCimPaths=["C:\\\\a.cim"]'] };
    assert.deepEqual(parseWcowLayers([m], []), { kind: 'forked-cim', scratch: P7.source, layers: [{ path: 'C:\\a', cimPath: 'C:\\a.cim' }] });
  });

  it('CimFS with no pairs is an error here (hcsshim indexes the first pair and panics)', () => {
    assert.match(parseError([{ type: 'CimFS', source: 'C:\\s\\snapshots\\7', options: ['rw'] }]).message, /^invalid mount, a CimFS mount needs at least one parent layer/);
  });

  it('P10: BlockCIM with one file parent: BlockPath/CimName split, no merged CIM, integrity flag ignored', () => {
    assert.deepEqual(parseWcowLayers([P10], []), {
      kind: 'block-cim',
      scratch: 'C:\\s\\snapshots\\9',
      parents: [{ type: 1, blockPath: 'C:\\s\\snapshots\\8\\layer.vhd', cimName: 'layer.cim' }],
    });
  });

  it('P11: BlockCIM with two parents needs mergedCIMPath=', () => {
    const m = { ...P10, options: ['parentCimPaths=["C:\\\\a\\\\l.vhd\\\\l.cim","C:\\\\b\\\\l.vhd\\\\l.cim"]', 'blockCIMType=file'] };
    assert.equal(parseError([m]).message, 'merged CIM path not provided');
  });

  it('P12: BlockCIM type, parents and raw JSON errors', () => {
    const withOptions = (...options: string[]): RootfsMount[] => [{ ...P10, options }];
    assert.equal(parseError(withOptions(P10.options![0]!, 'blockCIMType=vhd')).message, 'invalid block CIM type `vhd`');
    assert.equal(parseError(withOptions(P10.options![0]!)).message, 'BlockCIM type not provided');
    assert.equal(parseError(withOptions('parentCimPaths=[]', 'blockCIMType=file')).message, 'need at least 1 parent layer');
    assert.equal(parseError(withOptions('parentCimPaths=oops', 'blockCIMType=file')).message, "invalid character 'o' looking for beginning of value");
    // A later duplicate overrides an earlier one in the BlockCIM loop.
    const overridden = parseWcowLayers(withOptions(P10.options![0]!, 'blockCIMType=device', 'blockCIMType=file'), []);
    assert.equal(overridden.kind === 'block-cim' && overridden.parents[0]!.type, 1);
  });

  it('P13: an unknown type (case matters) is invalid', () => {
    assert.equal(parseError([{ ...P7, type: 'cimfs' }]).message, "invalid windows mount type: 'cimfs'");
    assert.equal(parseError([{ ...P7, type: 'lcow-layer' }]).message, "invalid windows mount type: 'lcow-layer'");
  });

  it('unchecked input: a mount that is not { type, source, options } is ERR_INVALID_ARGUMENT', () => {
    for (const bad of [{}, [{ type: 1, source: 'x' }], [{ type: 'CimFS', source: 'x', options: [1] }], 'x']) {
      assert.throws(() => rootfsLayers(bad, {}), (e: WcowError) => e.code === 'ERR_INVALID_ARGUMENT');
    }
  });
});

describe('rootfs: Go encoding/json texts for the option arrays', () => {
  const cases: [string, string][] = [
    ['', 'unexpected end of JSON input'],
    ['[x]', "invalid character 'x' looking for beginning of value"],
    ['["C:\\a"]', "invalid character 'a' in string escape code"],
    ['"a"', 'json: cannot unmarshal string into Go value of type []string'],
    ['[1]', 'json: cannot unmarshal number into Go value of type string'],
    ['["a"] x', "invalid character 'x' after top-level value"],
    ['["a" "b"]', "invalid character '\"' after array element"],
    ['["a"', 'unexpected end of JSON input'],
    ['[tru]', "invalid character ']' in literal true (expecting 'e')"],
    ['{"a":1}', 'json: cannot unmarshal object into Go value of type []string'],
    ['[true]', 'json: cannot unmarshal bool into Go value of type string'],
    ['["\\u12x4"]', "invalid character 'x' in \\u hexadecimal character escape"],
    ['["a\nb"]', "invalid character '\\n' in string literal"],
    ['[-]', "invalid character ']' in numeric literal"],
    ['[1.]', "invalid character ']' after decimal point in numeric literal"],
  ];
  for (const [input, message] of cases) {
    it(`${JSON.stringify(input)} → ${message}`, () => {
      assert.throws(() => unmarshalStringArray(input), (e: Error) => e.message === message);
    });
  }

  it('null is an empty list, a null element an empty string, escapes decode', () => {
    assert.deepEqual(unmarshalStringArray('null'), []);
    assert.deepEqual(unmarshalStringArray(' [ "a\\\\b", null, "\\u00e9" ] '), ['a\\b', '', 'é']);
  });
});

/** What containerd's windows snapshotter hands over for `scratch` over `parents`. */
const mount = (scratch: string, parents: string[]): RootfsMount => ({
  type: 'windows-layer',
  source: scratch,
  options: ['rw', `parentLayerPaths=${JSON.stringify(parents)}`],
});

describe('rootfs: allocation from a windows-layer mount', () => {

  it('P1 ≡ P2: the typed mount makes the same calls, documents and release as LayerFolders', async () => {
    const run = async (typed: boolean): Promise<{ calls: string; document: string; release: string }> => {
      const b = await bench();
      try {
        const a = typed
          ? await allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [mount(S, [L3, L2, L1])], host: b.host })
          : await allocateWindowsResources({ id: 'c1', spec: spec([L3, L2, L1, S]), host: b.host });
        const calls = json(b.host.calls.map((c) => [c.api, c.target, c.document, c.args]));
        const document = json(a.containerDocument());
        const before = b.host.calls.length;
        await a.resources.release({ all: true });
        return { calls, document, release: json(b.host.calls.slice(before).map((c) => [c.api, c.target])) };
      } finally {
        await b.done();
      }
    };
    assert.deepEqual(await run(true), await run(false));
  });

  it('P3 through allocate: a mount and LayerFolders together are refused before any call', async () => {
    const b = await bench();
    try {
      const e = await rejects(allocateWindowsResources({ id: 'c1', spec: spec([L3, S]), rootfs: [mount(S, [L3])], host: b.host }));
      assert.equal(e.message, 'cannot pass both a rootfs mount and Windows.LayerFolders: failed precondition');
      assert.equal(e.code, 'ERR_INVALID_SPEC');
      assert.equal(e.op, 'validate');
      assert.deepEqual(b.host.calls, []);
    } finally {
      await b.done();
    }
  });

  it('P6 through allocate: zero parents is refused as v0.11.4 refuses one layer folder, before any call', async () => {
    const b = await bench();
    try {
      const e = await rejects(allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [mount(S, [])], host: b.host }));
      assert.equal(e.message, 'failed to mount container storage: need at least two layers - base and scratch');
      assert.deepEqual(b.host.calls, []);
    } finally {
      await b.done();
    }
  });

  it('BlockCIM is refused with ERR_UNSUPPORTED_MOUNT_TYPE before any call (allocate and plan)', async () => {
    const b = await bench();
    try {
      for (const p of [
        allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [P10], host: b.host }),
        planWindowsResources({ id: 'c1', spec: {}, rootfs: [P10], host: b.host }),
      ]) {
        const e = await rejects(p);
        assert.equal(e.code, 'ERR_UNSUPPORTED_MOUNT_TYPE');
        assert.match(e.message, /^BlockCIM rootfs mounts are not supported/);
      }
      assert.deepEqual(b.host.calls, []);
    } finally {
      await b.done();
    }
  });
});

describe('rootfs: a sandbox.vhdx the snapshotter made is used as it is (S4)', () => {
  it('LayerFolders and windows-layer: no MkdirAll/CreateSandboxLayer, the VHDX bytes unchanged; missing → one CreateSandboxLayer', async () => {
    for (const typed of [false, true]) {
      const b = await bench();
      try {
        await b.dir(S);
        const vhdx = b.real(`${S}\\sandbox.vhdx`);
        await createVhdx(vhdx, { sizeBytes: 10 * 1024 ** 3 });
        const before = createHash('sha256').update(readFileSync(vhdx)).digest('hex');
        const allocate = (): ReturnType<typeof allocateWindowsResources> =>
          typed
            ? allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [mount(S, [L3])], host: b.host })
            : allocateWindowsResources({ id: 'c1', spec: spec([L3, S]), host: b.host });
        const a = await allocate();
        assert.ok(!b.host.calls.some((c) => c.api === 'MkdirAll' || c.api === 'CreateSandboxLayer'), `typed=${typed}`);
        assert.equal(createHash('sha256').update(readFileSync(vhdx)).digest('hex'), before);
        await a.resources.release({ all: true });
        rmSync(vhdx);
        b.host.clearCalls();
        const again = await allocate();
        assert.equal(b.host.calls.filter((c) => c.api === 'CreateSandboxLayer').length, 1);
        await again.resources.release({ all: true });
      } finally {
        await b.done();
      }
    }
  });
});
