// Outside tools that judge our VHDX files (qemu-img, qemu-io, 7zz) and small
// file helpers. A missing tool fails the test with the package to install:
// these checks are the point of the tests, so they are never skipped.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const packages: Record<string, string> = { 'qemu-img': 'qemu-utils', 'qemu-io': 'qemu-utils', '7zz': '7zip' };

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(tool: 'qemu-img' | 'qemu-io' | '7zz', args: string[]): RunResult {
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error(`${tool} is required by the VHDX tests but is not installed (Debian: apt-get install ${packages[tool]})`);
    }
    throw r.error;
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and requires exit 0, showing the tool's output otherwise. */
export function ok(tool: 'qemu-img' | 'qemu-io' | '7zz', args: string[]): string {
  const r = run(tool, args);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export interface QemuInfo {
  'virtual-size': number;
  'cluster-size': number;
  format: string;
  'actual-size': number;
}

export function qemuInfo(file: string): QemuInfo {
  return JSON.parse(ok('qemu-img', ['info', '--output=json', file])) as QemuInfo;
}

/** `qemu-io` on a VHDX, one `-c` per command; returns the exit status (1 on a pattern mismatch). */
export function qemuIo(file: string, ...commands: string[]): RunResult {
  return run('qemu-io', ['-f', 'vhdx', ...commands.flatMap((c) => ['-c', c]), file]);
}

/** A fresh directory, removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-vhdx-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function pattern(byte: number, length: number): Buffer {
  return Buffer.alloc(length, byte);
}

/** Overwrites bytes of a file in place (for corruption tests). */
export function patchFile(file: string, offset: number, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

export function readFileRange(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    fs.readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
