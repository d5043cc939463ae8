// A lock file between processes: the recover lock of a journal directory (lib/recover.ts) and
// the simulated host's state lock (lib/host/simulated/persist.ts).
//
// Why not proper-lockfile (the maintained npm choice): it tells a stale lock by an mtime it
// refreshes on a timer (at least 2 s, or a live holder blocked that long loses its lock), not
// by the holder's process, so a killed holder blocks everyone for seconds; and the state
// lock is taken once per simulated call, where a timer per lock costs more than the lock.
//
// The lock file holds its owner (pid, process start time, a nonce). It is written complete
// to a temporary file and then linked to its name, so nobody ever sees a lock file that is
// empty or half-written; link fails when the name exists, which is the exclusion. A lock
// whose owner is dead is taken over — under a second lock (`<name>.break`), so two
// processes that both found it stale cannot remove each other's fresh lock.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { currentOwner, isAlive, type Owner } from './owner';

export interface LockHolder extends Owner {
  nonce: string;
}

export interface HeldLock {
  readonly path: string;
  release(): void;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder> | null;
    if (v === null || typeof v !== 'object' || !Number.isInteger(v.pid) || typeof v.nonce !== 'string') return undefined;
    return { pid: v.pid as number, nonce: v.nonce, ...(typeof v.start === 'string' && { start: v.start }) };
  } catch {
    return undefined;
  }
}

/**
 * What is at `path`: its owner, `absent`, or `garbage` — a file that is no lock of this
 * module (locks are never torn) or cannot be read.
 */
function readLock(path: string): LockHolder | 'absent' | 'garbage' {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'garbage';
  }
  return parseHolder(text) ?? 'garbage';
}

/** The owner of the lock at `path`, or undefined when there is none (or it cannot be read). */
export function lockHolder(path: string): LockHolder | undefined {
  const l = readLock(path);
  return typeof l === 'string' ? undefined : l;
}

/** Create `path` complete (temp + link). False when it exists; other errors throw. */
function linkNew(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.nonce === b.nonce;
}

/**
 * Remove the lock found at `path` if it is still the stale one (`stale`: a dead owner's, or
 * `garbage`). Breaking runs under `<path>.break`, so the re-read and the removal are one
 * step for everyone breaking; and while a stale file is there nobody can link a fresh lock,
 * so the one removed is the one re-read. A lock that is gone is never "broken": between
 * the re-read and the removal someone may have linked a fresh one (its holder would lose
 * it, and two processes would hold the lock). A break lock left by a breaker killed in
 * that short step is removed when its owner is dead.
 */
function breakStale(path: string, stale: LockHolder | 'garbage'): void {
  const breaker = `${path}.break`;
  if (!linkNew(breaker, JSON.stringify({ ...currentOwner(), nonce: randomBytes(8).toString('hex') }))) {
    const b = readLock(breaker);
    if (b === 'garbage' || (b !== 'absent' && !isAlive(b))) fs.rmSync(breaker, { force: true });
    return;
  }
  try {
    const now = readLock(path);
    if (stale === 'garbage' ? now === 'garbage' : typeof now !== 'string' && sameHolder(now, stale)) fs.rmSync(path, { force: true });
  } finally {
    fs.rmSync(breaker, { force: true });
  }
}

/** One attempt: the lock, or the live process that holds it. */
export function tryLock(path: string): HeldLock | LockHolder {
  const holder: LockHolder = { ...currentOwner(), nonce: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 8; attempt++) {
    if (linkNew(path, JSON.stringify(holder))) {
      return {
        path,
        release: () => {
          // Only our own lock: a holder whose lock was broken (it was thought dead) must
          // not remove its successor's.
          const now = lockHolder(path);
          if (now !== undefined && sameHolder(now, holder)) fs.rmSync(path, { force: true });
        },
      };
    }
    const other = readLock(path);
    // Released meanwhile: try again.
    if (other === 'absent') continue;
    if (other !== 'garbage' && isAlive(other)) return other;
    breakStale(path, other);
  }
  throw new Error(`cannot take the lock ${path}: it keeps changing hands`);
}

export function isHeld(l: HeldLock | LockHolder): l is HeldLock {
  return 'release' in l;
}

/**
 * Wait for the lock (polling with a growing, jittered pause, at most `maxPauseMs`); after
 * `timeoutMs`, the live process that still holds it.
 */
export async function lock(path: string, maxPauseMs = 8, timeoutMs = Infinity): Promise<HeldLock> {
  const l = await lockWithin(path, timeoutMs, maxPauseMs);
  if (!isHeld(l)) throw new Error(`${path} is held by process ${l.pid}`);
  return l;
}

export async function lockWithin(path: string, timeoutMs: number, maxPauseMs = 8): Promise<HeldLock | LockHolder> {
  const end = Date.now() + timeoutMs;
  let pause = 0.25;
  for (;;) {
    const l = tryLock(path);
    if (isHeld(l) || Date.now() >= end) return l;
    await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
    pause = Math.min(maxPauseMs, pause * 2);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** The same, blocking (for the simulated host's synchronous set-up calls). */
export function lockSync(path: string, maxPauseMs = 8): HeldLock {
  let pause = 0.25;
  for (;;) {
    const l = tryLock(path);
    if (isHeld(l)) return l;
    Atomics.wait(sleeper, 0, 0, pause * (0.5 + Math.random()));
    pause = Math.min(maxPauseMs, pause * 2);
  }
}
