// Issue 11, "must show": the package as a runtime author gets it. Pack the tarball, install
// it into a fresh project with --ignore-scripts and no network (so nothing is compiled and
// nothing downloaded: the prebuild must be in the tarball), compile a strict TypeScript
// program that uses a whole config.json literal, allocate/plan/release with it, and run the
// README quick start twice in a row with the installed CLI.

import * as assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../lib/native';

const REPO = packageRoot();
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PREBUILDS = ['prebuilds/linux-x64/wcow-resources.node', 'prebuilds/win32-x64/wcow-resources.node'];

function run(cmd: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${String(r.stdout)}\n${String(r.stderr)}`);
  return String(r.stdout);
}

/** The program a runtime author writes against the README and the .d.ts (strict mode). */
const PROGRAM = String.raw`
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimulatedHost, allocateWindowsResources, createVhdx, planWindowsResources, WcowError, type OciConfig } from 'wcow-resources';

// A whole config.json as a runtime writes it (runtime-spec 1.2): every field typed.
const config: OciConfig = {
  ociVersion: '1.2.0',
  process: {
    terminal: false,
    user: { username: 'ContainerUser' },
    args: ['cmd', '/c', 'dir', 'C:\\data'],
    env: ['PATH=C:\\Windows\\system32'],
    cwd: 'C:\\',
    consoleSize: { height: 25, width: 80 },
  },
  root: { path: '', readonly: false },
  hostname: 'newcomer',
  domainname: 'example.test',
  mounts: [
    { destination: 'C:\\data', type: '', source: 'C:\\host\\data', options: ['ro'] },
    { destination: 'C:\\disk', type: 'virtual-disk', source: 'C:\\disks\\data.vhdx' },
  ],
  hooks: { prestart: [] },
  annotations: { 'io.kubernetes.cri.container-name': 'web' },
  windows: {
    layerFolders: ['C:\\layers\\base', 'C:\\layers\\scratch-web'],
    resources: { memory: { limit: 1073741824 }, cpu: { count: 2, maximum: 5000 }, storage: { sandboxSize: 21474836480 } },
    network: { endpointList: ['ep1'], allowUnqualifiedDNSQuery: true, DNSSearchList: ['example.test'] },
    servicing: false,
    ignoreFlushesDuringBoot: true,
    hyperv: {},
  },
};

async function main(): Promise<void> {
  const root = process.argv[2]!;
  const host = new SimulatedHost({ root });
  fs.mkdirSync(host.hostPath('C:\\layers\\base'), { recursive: true });
  fs.mkdirSync(host.hostPath('C:\\host\\data'), { recursive: true });
  const vhdx = host.hostPath('C:\\disks\\data.vhdx');
  fs.mkdirSync(path.dirname(vhdx), { recursive: true });
  await createVhdx(vhdx, { sizeBytes: 64 * 1024 * 1024 });

  const uvm = await host.createUtilityVm({ id: 'web@vm' });
  const plan = await planWindowsResources({ id: 'web', spec: config, host, uvm });
  const a = await allocateWindowsResources({ id: 'web', spec: config, host, uvm });
  const rootPath: string = a.spec.root.path;
  const doc = a.containerDocument();
  await a.resources.release();
  const after = host.snapshot().uvms['web@vm'];
  console.log(JSON.stringify({ calls: plan.calls.length, rootPath, mapped: doc.MappedDirectories?.length ?? 0, scsiAfter: after?.scsi.length, hostname: a.spec.hostname }));
}

main().catch((err: unknown) => {
  if (err instanceof WcowError) console.error(err.code, err.op, err.resource, err.message);
  else console.error(err);
  process.exit(1);
});
`;

describe('newcomer: the packed tarball, installed offline without scripts (issue 11 point 5, must show)', function () {
  // Building missing prebuilds (first run only: CI builds them before the tests) takes minutes.
  this.timeout(900_000);
  let top: string;
  let project: string;
  let tarball: string;
  let files: string[];

  before(() => {
    for (const p of PREBUILDS) {
      if (!fs.existsSync(path.join(REPO, p))) run(NPM, ['run', p.includes('win32') ? 'prebuilds:win32' : 'prebuilds:linux'], { cwd: REPO });
    }
    top = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-newcomer-pack-'));
    // --ignore-scripts: prepack would rebuild what is there already; the content is the test.
    const packed = JSON.parse(run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', top], { cwd: REPO })) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(top, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);

    project = path.join(top, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-runtime', version: '1.0.0', private: true }));
    // Offline: the package's dependencies come as tarballs of the copies this repository has.
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const deps = Object.keys(pkg.dependencies).map((d) => {
      const out = JSON.parse(run(NPM, ['pack', path.join(REPO, 'node_modules', d), '--ignore-scripts', '--json', '--pack-destination', top], { cwd: top })) as { filename: string }[];
      return path.join(top, out[0]!.filename);
    });
    run(NPM, ['install', ...deps, tarball, '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], { cwd: project });
  });

  after(() => fs.rmSync(top, { recursive: true, force: true }));

  it('the tarball holds both prebuilds, the examples, the per-folder READMEs, and a repository field', () => {
    for (const p of [...PREBUILDS, 'examples/hyperv-mounts/config.json', 'examples/README.md', 'README.md', 'lib/cli/README.md', 'lib/preflight/README.md', 'dist/lib/index.d.ts']) {
      assert.ok(files.includes(p), `${p} is in the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('build/') || f.startsWith('test/')), 'no local build or tests');
    const pkg = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'wcow-resources', 'package.json'), 'utf8')) as { repository?: { url?: string }; scripts: Record<string, string> };
    assert.match(pkg.repository?.url ?? '', /wcow-resources/);
    assert.match(pkg.scripts.prepack ?? '', /npm run prebuilds/);
    assert.equal(fs.existsSync(path.join(project, 'node_modules', 'wcow-resources', 'build')), false, 'nothing was compiled at install');
  });

  it('a strict TypeScript program with a whole config.json literal compiles, then plans, allocates and releases', () => {
    fs.writeFileSync(path.join(project, 'main.ts'), PROGRAM);
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          typeRoots: [path.join(REPO, 'node_modules', '@types')],
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: project });
    const out = JSON.parse(run(process.execPath, [path.join('out', 'main.js'), path.join(top, 'drives')], { cwd: project })) as Record<string, unknown>;
    assert.deepEqual(out, { calls: out.calls, rootPath: 'C:\\c\\1', mapped: 2, scsiAfter: 1, hostname: 'newcomer' });
    assert.ok(typeof out.calls === 'number' && out.calls > 5);
  });

  it('the README quick start runs twice in a row with the installed CLI', () => {
    const env = { ...process.env, XDG_STATE_HOME: path.join(top, 'xdg') };
    const bin = path.join(project, 'node_modules', '.bin', 'wcow-resources');
    const config = path.join(project, 'node_modules', 'wcow-resources', 'examples', 'hyperv-mounts', 'config.json');
    for (const round of [1, 2]) {
      const a = spawnSync(bin, ['allocate', config, '--hyperv', '--setup', '--id', 'demo'], { cwd: project, env, encoding: 'utf8' });
      assert.equal(a.status, 0, `round ${round}: ${a.stderr}`);
      if (round === 2) assert.match(a.stderr, /reusing utility VM demo@vm/);
      run(bin, ['status'], { cwd: project, env });
      run(bin, ['release', 'demo'], { cwd: project, env });
    }
  });
});
