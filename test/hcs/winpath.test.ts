// Go path/filepath on Windows, as hcsshim computes paths (docs/mounts.md#sandbox-mounts, docs/mounts.md#guest-path-of-a-share;
// docs/layers.md#devices-in-a-utility-vm). Expected values are what Go's filepath returns on Windows.

import assert from 'node:assert/strict';
import { base, clean, dir, isAbs, join, split, volumeName } from '../../lib/host/winpath';

const SH = String.raw`\\?\VMSMB\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}`;

describe('winpath: Go filepath for Windows paths', () => {
  const cleanCases: [string, string][] = [
    ['', '.'],
    ['C:\\a\\b\\', String.raw`C:\a\b`],
    ['C:/a//b/./c/', String.raw`C:\a\b\c`],
    [String.raw`C:\a\..\..\..`, 'C:\\'],
    ['C:', 'C:.'],
    ['C:a/../..', String.raw`C:..`],
    ['a/../../b', String.raw`..\b`],
    [String.raw`\\host\share\..\x`, String.raw`\\host\share\x`],
    [String.raw`\\host\share`, String.raw`\\host\share`],
    [SH + String.raw`\s3\..\..`, '\\\\?\\VMSMB\\'],
    ['\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\\', '\\\\?\\Volume{baac0fd5-16b7-405b-9621-112aa8e3d973}\\'],
    [String.raw`\\.\pipe\foo\..\bar`, String.raw`\\.\pipe\bar`],
    ['a/../c:', String.raw`.\c:`],
    ['c:x', 'c:x'],
    [String.raw`\a\..\??\c:\x`, String.raw`\.\??\c:\x`],
  ];
  for (const [input, want] of cleanCases) {
    it(`clean(${JSON.stringify(input)}) = ${JSON.stringify(want)}`, () => assert.equal(clean(input), want));
  }

  it('join skips empty parts, cleans, and never climbs above the volume root', () => {
    assert.equal(join('C:\\SandboxMounts', '/a/b'), String.raw`C:\SandboxMounts\a\b`);
    assert.equal(join('C:\\SandboxMounts', ''), String.raw`C:\SandboxMounts`);
    assert.equal(join('C:\\SandboxMounts', '/../../..'), 'C:\\');
    assert.equal(join('', ''), '');
    assert.equal(join('C:', 'f'), 'C:f');
    assert.equal(join('C:', '\\f'), 'C:\\f');
    assert.equal(join('\\', '??', 'x'), String.raw`\.\??\x`);
    assert.equal(join(SH + '\\', 's3', 'app.json'), SH + String.raw`\s3\app.json`);
    assert.equal(join(String.raw`C:\c/1`), String.raw`C:\c\1`);
  });

  it('dir and base as hcsshim uses them for device ids and VSMB files', () => {
    assert.equal(dir(String.raw`C:\data\cfg\app.json`), String.raw`C:\data\cfg`);
    assert.equal(dir(String.raw`PCIP\VEN_10DE&DEV_1EB8\6&2A0A8D3B&0&0000\2`), String.raw`PCIP\VEN_10DE&DEV_1EB8\6&2A0A8D3B&0&0000`);
    assert.equal(dir('C:\\'), 'C:\\');
    assert.equal(dir('file'), '.');
    assert.equal(dir(String.raw`\\host\share`), String.raw`\\host\share`);
    assert.equal(dir(String.raw`\\host\share\x`), '\\\\host\\share\\');
    assert.equal(base('C:\\layers\\abc\\'), 'abc');
    assert.equal(base('C:\\'), '\\');
    assert.equal(base(''), '.');
    assert.equal(base('C:'), '\\');
    assert.equal(base('a/b'), 'b');
  });

  it('split keeps the separator on the directory and does not clean', () => {
    assert.deepEqual(split(String.raw`C:\data\cfg\app.json`), ['C:\\data\\cfg\\', 'app.json']);
    assert.deepEqual(split('C:\\layers\\x\\'), ['C:\\layers\\x\\', '']);
    assert.deepEqual(split('C:/a/b'), ['C:/a/', 'b']);
    assert.deepEqual(split('C:file'), ['C:', 'file']);
  });

  it('volumeName and isAbs follow volumeNameLen', () => {
    assert.equal(volumeName(String.raw`C:\x`), 'C:');
    assert.equal(volumeName('//host/share/x'), String.raw`\\host\share`);
    assert.equal(volumeName(SH + '\\s3'), String.raw`\\?\VMSMB`);
    assert.equal(volumeName(String.raw`\\.\UNC\host\share\x`), String.raw`\\.\UNC\host\share`);
    assert.equal(volumeName(String.raw`\x`), '');
    assert.equal(isAbs(String.raw`C:\x`), true);
    assert.equal(isAbs('C:x'), false);
    assert.equal(isAbs(String.raw`\x`), false);
    assert.equal(isAbs(String.raw`\\host\share`), true);
    assert.equal(isAbs(String.raw`\\.\pipe\foo`), true);
    assert.equal(isAbs('x'), false);
  });
});
