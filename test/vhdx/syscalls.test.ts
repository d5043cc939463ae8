// A durable createVhdx makes the physical floor's system calls (bench/vhdx-floor.c) and no
// others: open the temporary file, size it, write the non-zero bytes, fsync, close, link,
// unlink, open the directory, fsync, close (issue 14). Traced with strace where it is
// installed (Linux).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './tools';

const hasStrace = process.platform === 'linux' && spawnSync('strace', ['-V']).status === 0;

/** The calls the traced child's worker made on the files under `dir`, by name ("openat", "pwrite64", …), after `marker`. */
function traced(dir: string, flush: boolean): string[] {
  const vhdx = path.join(dir, 'traced.vhdx');
  const log = path.join(dir, 'strace.log');
  const script = `
    const { createVhdx } = require(${JSON.stringify(path.join(__dirname, '../../lib/vhdx/index.js'))});
    (async () => {
      await createVhdx(${JSON.stringify(path.join(dir, 'warm.vhdx'))}, { sizeBytes: 1 << 30 });
      require('node:fs').writeSync(1, 'marker\\n');
      await createVhdx(${JSON.stringify(vhdx)}, { sizeBytes: 20 * 1024 ** 3, flush: ${flush} });
    })();`;
  const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=openat,newfstatat,fstat,statx,lstat,ftruncate,pwrite64,write,fsync,fdatasync,close,link,linkat,unlink,unlinkat,rename,renameat2,lseek', process.execPath, '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.includes('"marker\\n"'));
  const calls: string[] = [];
  const fds = new Set<string>();
  for (const l of lines.slice(start + 1)) {
    const m = /^\d+\s+(\w+)\((.*)$/.exec(l);
    if (m === null) continue;
    const [, name, args] = m as unknown as [string, string, string];
    const fd = /^(\d+)[,)]/.exec(args)?.[1];
    const touchesDir = args.includes(JSON.stringify(dir).slice(1, -1));
    if (touchesDir || (fd !== undefined && fds.has(fd))) {
      calls.push(name);
      const opened = /= (\d+)$/.exec(l)?.[1];
      if (name === 'openat' && opened !== undefined) fds.add(opened);
      if (name === 'close' && fd !== undefined) fds.delete(fd);
    }
  }
  return calls;
}

describe('vhdx: the system calls of a create (issue 14)', function () {
  this.timeout(30_000);
  before(function () {
    if (!hasStrace) this.skip();
  });

  it("a flushed create makes the physical floor's calls and no others", () => {
    const { dir, cleanup } = tempDir();
    const calls = traced(dir, true);
    cleanup();
    const writes = calls.filter((c) => c === 'pwrite64').length;
    assert.ok(writes >= 4, `${writes} writes`);
    assert.deepEqual(calls.filter((c) => c !== 'pwrite64'), ['openat', 'ftruncate', 'fsync', 'close', 'link', 'unlink', 'openat', 'fsync', 'close']);
  });

  it('an unflushed create: the same without the flushes and the directory', () => {
    const { dir, cleanup } = tempDir();
    const calls = traced(dir, false);
    cleanup();
    assert.deepEqual(calls.filter((c) => c !== 'pwrite64'), ['openat', 'ftruncate', 'close', 'link', 'unlink']);
  });
});
