// golang.org/x/sys/windows EscapeArg and hcsshim's CommandLine (docs/mounts.md#sandbox-mounts;
// docs/layers.md#devices-in-a-utility-vm, docs/layers.md#installing-a-driver-directory).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapeArg, makeCommandLine } from '../../lib/hcs/commandline';
import { PNPUTIL_PATH, VSMB_SHARE_PREFIX } from '../../lib/hcs/constants';
import { SimulatedHost } from '../../lib/host/simulated';
import { cmdArguments } from '../../lib/host/simulated/cmdline';
import type { UtilityVm } from '../../lib/host/types';

describe('EscapeArg', () => {
  const cases: [string, string][] = [
    ['', '""'],
    ['abc', 'abc'],
    [String.raw`C:\SandboxMounts\a\b`, String.raw`C:\SandboxMounts\a\b`],
    ['&', '&'],
    ['a b', '"a b"'],
    ['a\tb', '"a\tb"'],
    ['C:\\my dir\\', String.raw`"C:\my dir\\"`],
    ['C:\\my dir\\\\', String.raw`"C:\my dir\\\\"`],
    ['a"b', String.raw`a\"b`],
    [String.raw`a\"b`, String.raw`a\\\"b`],
    [String.raw`a\\"b c`, String.raw`"a\\\\\"b c"`],
    [String.raw`a\b`, String.raw`a\b`],
    ['"', String.raw`\"`],
  ];
  for (const [arg, want] of cases) {
    it(`${JSON.stringify(arg)} -> ${JSON.stringify(want)}`, () => assert.equal(escapeArg(arg), want));
  }
});

describe('makeCommandLine', () => {
  it('docs/mounts.md#sandbox-mounts the sandbox mkdir: & stays a bare cmd.exe separator', () => {
    const p = String.raw`C:\SandboxMounts\a\b`;
    assert.equal(makeCommandLine(['cmd', '/c', 'mkdir', p, '&', 'dir', p]), String.raw`cmd /c mkdir C:\SandboxMounts\a\b & dir C:\SandboxMounts\a\b`);
  });

  it('docs/mounts.md#sandbox-mounts a path with a space is quoted', () => {
    const p = String.raw`C:\SandboxMounts\my dir`;
    assert.equal(makeCommandLine(['cmd', '/c', 'mkdir', p, '&', 'dir', p]), String.raw`cmd /c mkdir "C:\SandboxMounts\my dir" & dir "C:\SandboxMounts\my dir"`);
  });

  it('docs/layers.md#installing-a-driver-directory the pnputil driver install keeps the forward slash before *.inf', () => {
    const uvmPath = VSMB_SHARE_PREFIX + 's4';
    assert.equal(
      makeCommandLine(['cmd', '/c', PNPUTIL_PATH, '/add-driver', `${uvmPath}/*.inf`, '/subdirs', '/install']),
      String.raw`cmd /c C:\Windows\System32\pnputil.exe /add-driver \\?\VMSMB\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\s4/*.inf /subdirs /install`,
    );
  });

  it('docs/layers.md#devices-in-a-utility-vm the device-util query', () => {
    const tool = VSMB_SHARE_PREFIX + String.raw`s3\device-util.exe`;
    assert.equal(
      makeCommandLine([tool, 'children', String.raw`--parentID=VMBUS\{44c4f61d-4444-4400-9d52-802e27ede19f}\{3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e}`, '--property=location']),
      String.raw`\\?\VMSMB\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\s3\device-util.exe children --parentID=VMBUS\{44c4f61d-4444-4400-9d52-802e27ede19f}\{3f0b2c1e-7a4d-4c57-9d0e-5d6a1b2c3d4e} --property=location`,
    );
  });
});

describe('the simulated guest parses cmd /c as cmd.exe does (issue 15.5)', () => {
  // cmd.exe's built-ins split their arguments at blanks and at ; , = outside quotes, so
  // `mkdir a;b` makes two directories; `|` joins two commands like `&`.
  let host: SimulatedHost;
  let uvm: UtilityVm;
  beforeEach(async () => {
    host = new SimulatedHost({ root: fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-cmd-')) });
    uvm = await host.createUtilityVm({ id: 'pod1@vm' });
  });
  const dirs = (): string[] => host.snapshot().uvms['pod1@vm']!.guest.directories;

  for (const sep of [';', ',', '=']) {
    it(`mkdir C:\\SandboxMounts\\x${sep}C:\\evil creates both directories`, async () => {
      const r = await uvm.exec({ CommandLine: makeCommandLine(['cmd', '/c', 'mkdir', `C:\\SandboxMounts\\x${sep}C:\\evil`]) });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok(dirs().includes('C:\\evil'), JSON.stringify(dirs()));
      assert.ok(dirs().includes('C:\\SandboxMounts\\x'), JSON.stringify(dirs()));
    });
  }

  it('inside quotes ; , = and blanks are part of the name', async () => {
    const r = await uvm.exec({ CommandLine: 'cmd /c mkdir "C:\\a b;c,d=e"' });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(dirs().includes('C:\\a b;c,d=e'), JSON.stringify(dirs()));
  });

  it('a | runs the command after it too', async () => {
    const r = await uvm.exec({ CommandLine: 'cmd /c mkdir C:\\p | mkdir C:\\q' });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(dirs().includes('C:\\q'), JSON.stringify(dirs()));
  });

  it('cmdArguments splits at blanks, ; , = outside quotes and drops the quotes', () => {
    assert.deepEqual(cmdArguments('mkdir a;b, c==d "e;f g"h'), ['mkdir', 'a', 'b', 'c', 'd', 'e;f gh']);
  });
});
