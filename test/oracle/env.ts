// What the oracle needs on this machine: oracle.exe (built by the oracle's own
// `build`, cached by content hash), a Windows 10 WINEPREFIX whose build number is
// the model's, the stand-in vmcompute.dll in its System32, a simulated root whose
// C is the prefix's drive_c, and the HcsServer the stand-in forwards to.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../lib/native';
import { oracleHandlers } from '../wine/oracle-handlers';
import { HcsServer } from '../wine/server';
import type { OracleEnv } from './sides';

/** SimulatedHost's default build (LTSC 2022); wine must report the same. */
export const BUILD = 20348;

const repo = packageRoot();

function log(msg: string): void {
  process.stdout.write(`[oracle] ${msg}\n`);
}

function timed<T>(what: string, fn: () => T): T {
  const t0 = Date.now();
  const r = fn();
  log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

/** The oracle tool (hcsshim v0.11.4 closure + overlay): $ORACLE_DIR, or the shared folder next to the checkout. */
export function oracleDir(): string {
  const candidates = [process.env.ORACLE_DIR, path.join(repo, '..', 'shared', 'oracle'), path.join(repo, '..', '..', 'shared', 'oracle')];
  for (const c of candidates) if (c !== undefined && c !== '' && fs.existsSync(path.join(c, 'build'))) return path.resolve(c);
  throw new Error(`the hcsshim oracle was not found (tried ${candidates.filter(Boolean).join(', ')}): set ORACLE_DIR`);
}

function findWine(): string {
  return ['/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/bin/wine'].find((p) => fs.existsSync(p)) ?? 'wine64';
}

function wineserverOf(wine: string): string {
  const beside = path.join(path.dirname(wine), 'wineserver');
  return fs.existsSync(beside) ? beside : 'wineserver';
}

/** A Windows 10 prefix reporting BUILD (osversion.Build() is GetVersion(), from these registry values for a manifested exe). */
function ensurePrefix(wine: string, prefix: string): void {
  const marker = path.join(prefix, `.wcow-oracle-build-${BUILD}`);
  if (fs.existsSync(marker)) return;
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.mkdirSync(prefix, { recursive: true });
  const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEARCH: 'win64', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  execFileSync(wine, ['wineboot', '-i'], { env, stdio: 'ignore' });
  execFileSync(wine, ['winecfg', '/v', 'win10'], { env, stdio: 'ignore' });
  for (const v of ['CurrentBuild', 'CurrentBuildNumber']) {
    execFileSync(wine, ['reg', 'add', 'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion', '/v', v, '/t', 'REG_SZ', '/d', String(BUILD), '/f'], {
      env,
      stdio: 'ignore',
    });
  }
  execFileSync(wineserverOf(wine), ['-w'], { env, stdio: 'ignore' });
  fs.writeFileSync(marker, '');
}

export interface Prepared {
  env: OracleEnv;
  close(): Promise<void>;
}

export async function prepare(): Promise<Prepared> {
  const cache = path.resolve(process.env.WCOW_WINE_CACHE ?? path.join(repo, '.wine'));
  const dir = oracleDir();
  const exe = timed('oracle.exe (hcsshim v0.11.4)', () =>
    execFileSync('bash', [path.join(dir, 'build')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!,
  );
  const wine = findWine();
  const prefix = path.join(cache, 'oracle-prefix');
  timed(`wine prefix (build ${BUILD})`, () => ensurePrefix(wine, prefix));
  const standins = path.join(cache, 'oracle-standins');
  timed('stand-in vmcompute.dll', () =>
    execFileSync('bash', [path.join(repo, 'test', 'wine', 'build-standins.sh'), standins], { stdio: 'inherit' }),
  );
  const drive = path.join(prefix, 'drive_c');
  fs.copyFileSync(path.join(standins, 'vmcompute.dll'), path.join(drive, 'windows', 'system32', 'vmcompute.dll'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-oracle-'));
  const simroot = path.join(work, 'simroot');
  fs.mkdirSync(simroot);
  // hcsshim's os.Stat/MkdirAll run on wine's C:, the model's on <simroot>/C: one folder.
  fs.symlinkSync(drive, path.join(simroot, 'C'));
  const server = new HcsServer(simroot, [oracleHandlers]);
  const port = await server.listen();
  const wineEnv = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all' };
  // One wineserver for every run (each oracle.exe would otherwise start its own).
  execFileSync(wineserverOf(wine), ['-p'], { env: wineEnv, stdio: 'ignore' });
  return {
    env: { wine, exe, prefix, simroot, server, port, work },
    close: async () => {
      await server.close();
      try {
        execFileSync(wineserverOf(wine), ['-k'], { env: wineEnv, stdio: 'ignore' });
      } catch {
        // already gone
      }
      if (process.env.ORACLE_KEEP === undefined) fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
