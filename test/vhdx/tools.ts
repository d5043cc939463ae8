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

/** A fresh directory (in `parent`, default the OS temporary directory), removed by the returned cleanup function. */
export function tempDir(parent = os.tmpdir()): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(parent, 'wcow-vhdx-'));
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

// CRC-32C, to forge files whose checksummed structures still check out (a
// dozen lines; no npm package is worth a dependency for a test helper).
const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Recomputes the checksum (at byte 4) of the header or region table at `offset` in `image`. */
export function reseal(image: Buffer, offset: number, size: number): void {
  const s = image.subarray(offset, offset + size);
  s.writeUInt32LE(0, 4);
  s.writeUInt32LE(crc32c(s), 4);
}

/** Bytes this process has read through system calls so far (Linux /proc/self/io `rchar`). */
export function bytesReadByProcess(): number {
  const m = /^rchar: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'));
  if (!m) throw new Error('/proc/self/io has no rchar line');
  return Number(m[1]);
}
