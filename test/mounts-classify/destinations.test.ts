// Mount destinations, pipe sources and path characters are checked before the first side
// effect (issue 15.8; docs/differences.md#difference-9 family): hcsshim hands them to HCS, which fails
// late — or, for `\\.\pipe\..\..\C:\x`, maps whatever the path reaches.

import assert from 'node:assert/strict';
import { WcowError, type WcowErrorCode } from '../../lib/errors';
import { validateSpec } from '../../lib/oci/validate';
import { allocateWindowsResources, planWindowsResources } from '../../lib/allocate';
import { bench, L1, L2, S, spec } from '../allocate/fixtures';

const XENON = { hypervisorIsolated: true };
const ARGON = { hypervisorIsolated: false };
const LAYERS = ['C:\\layers\\l1', 'C:\\layers\\s'];

function outcome(mounts: unknown[], ctx = XENON, layerFolders = LAYERS): WcowError | undefined {
  try {
    validateSpec({ windows: { layerFolders }, mounts }, ctx);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof WcowError, String(err));
    return err;
  }
}

function refused(mounts: unknown[], code: WcowErrorCode, index: number, ctx = XENON): WcowError {
  const err = outcome(mounts, ctx);
  assert.ok(err !== undefined, `${JSON.stringify(mounts)} was accepted`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, new RegExp(`Spec\\.Mounts\\[${index}\\]`), err.message);
  return err;
}

describe('mount destinations and pipe sources (issue 15.8)', () => {
  it('a destination that is a drive root, a bare drive or relative is refused, naming the mount index', () => {
    for (const destination of ['C:\\', 'C:', 'relative', 'c:/', 'C:\\a\\..', 'C:relative', '\\abs-without-drive', '\\\\server\\share\\x', '\\\\?\\C:\\x']) {
      for (const ctx of [XENON, ARGON]) {
        const err = refused([{ source: 'C:\\data\\rw', destination: 'C:\\ok' }, { source: 'C:\\data\\rw', destination }], 'ERR_INVALID_MOUNT', 1, ctx);
        assert.equal(err.resource, destination);
        assert.equal(err.op, 'spec.validate');
      }
    }
  });

  it('the same destination twice is refused, in any case and spelling', () => {
    const err = refused([{ source: 'C:\\a', destination: 'C:\\data' }, { source: 'C:\\b', destination: 'c:/DATA\\' }], 'ERR_INVALID_MOUNT', 1);
    assert.match(err.message, /Spec\.Mounts\[0\]/);
    refused([{ source: '\\\\.\\pipe\\a', destination: '\\\\.\\pipe\\q' }, { source: '\\\\.\\pipe\\b', destination: '\\\\.\\PIPE\\Q' }], 'ERR_INVALID_MOUNT', 1);
  });

  it('a pipe source or destination that climbs with .. is refused', () => {
    refused([{ source: '\\\\.\\pipe\\..\\..\\C:\\x', destination: '\\\\.\\pipe\\p' }], 'ERR_INVALID_MOUNT', 0);
    refused([{ source: '\\\\.\\pipe\\ok', destination: '\\\\.\\pipe\\a/../../C:\\x' }], 'ERR_INVALID_MOUNT', 0);
    refused([{ source: '\\\\.\\pipe\\', destination: '\\\\.\\pipe\\p' }], 'ERR_INVALID_MOUNT', 0);
  });

  it('NUL and control characters in a mount path are refused', () => {
    refused([{ source: 'C:\\data\\r\u0000w', destination: 'C:\\rw' }], 'ERR_INVALID_MOUNT', 0);
    refused([{ source: 'C:\\data\\rw', destination: 'C:\\r\nw' }], 'ERR_INVALID_MOUNT', 0);
  });

  it('what the docs/ vectors and hcsshim tests use is accepted', () => {
    const pairs = [
      ['C:\\data\\rw', 'C:\\rw'],
      ['C:\\data\\cfg\\app.json', 'C:\\app\\app.json'],
      ['\\\\.\\pipe\\foo', '\\\\.\\pipe\\bar'],
      ['\\\\.\\pipe\\hostPipe', '\\\\.\\pipe\\containerPipe'],
      ['sandbox:///a/b', 'C:\\sb'],
      ['C:\\x', 'D:/data/x'],
      ['C:\\y', 'C:\\a\\..\\b'],
    ];
    const ok = pairs.map(([source, destination]) => ({ source, destination }));
    assert.equal(outcome(ok), undefined);
  });
});

describe('layer folders with a NUL (issue 15.8)', () => {
  it('validation refuses a NUL or control character in a layer folder: ERR_INVALID_SPEC naming it', () => {
    for (const bad of ['C:\\layers\\x\u0000y', 'C:\\layers\\x\ty']) {
      for (const layerFolders of [[bad, 'C:\\layers\\s'], ['C:\\layers\\l1', bad]]) {
        const err = outcome([], XENON, layerFolders);
        assert.ok(err !== undefined, `${JSON.stringify(layerFolders)} was accepted`);
        assert.equal(err.code, 'ERR_INVALID_SPEC');
        assert.match(err.message, /Spec\.Windows\.LayerFolders\[[01]\]/);
      }
    }
  });

  it('plan refuses it and allocation fails with the same coded error before any call', async () => {
    const b = await bench();
    try {
      const s = spec([L2, 'C:\\layers\\x\u0000y', L1, S]);
      const planned = await planWindowsResources({ id: 'c', spec: s, host: b.host }).then(() => undefined, (e: unknown) => e);
      assert.ok(planned instanceof WcowError && planned.code === 'ERR_INVALID_SPEC', String(planned));
      const before = b.host.calls.length;
      const err = await allocateWindowsResources({ id: 'c', spec: s, host: b.host }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof WcowError && err.code === 'ERR_INVALID_SPEC', String(err));
      assert.deepEqual(b.host.calls.slice(before), []);
    } finally {
      await b.done();
    }
  });
});
