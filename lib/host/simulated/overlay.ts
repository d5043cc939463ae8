// The file system of a rehearsal (SimulatedHost.rehearse): the real drives, read as they are,
// plus what the rehearsal created — folders (MkdirAll) and files (CreateSandboxLayer's
// sandbox.vhdx) — kept in memory. Nothing is ever written under the root.

import type { Stats } from 'node:fs';
import { inspectVhdx } from '../../vhdx/index';
import { existingFile, WindowsFs, type ExistingFile, type RealStat } from './fs';
import { fold } from './state';
import { DEFAULT_SANDBOX_SIZE } from './vmcompute';

type Located = ReturnType<WindowsFs['locate']>;

export class OverlayFs extends WindowsFs {
  /** Folded `C:\a\b` → what the rehearsal created there, in the spelling it was created with. */
  readonly #created = new Map<string, { name: string; isDirectory: boolean }>();

  #key(drive: string, parts: readonly string[]): string {
    return fold(`${drive}:\\${parts.join('\\')}`);
  }

  /** The real look-up, continued through what the rehearsal created below its last existing folder. */
  override locate(w: { drive: string; parts: readonly string[] }): Located {
    const located = super.locate(w);
    const spelled = [...located.spelled];
    let found = located.found;
    for (; found < w.parts.length; found++) {
      const made = this.#created.get(this.#key(w.drive, [...spelled.slice(0, found), w.parts[found]!]));
      if (made === undefined) break;
      spelled[found] = made.name;
    }
    if (found === located.found) return located;
    return { real: this.realOf(w.drive, spelled), spelled, found };
  }

  override directories(w: { drive: string }, located: { spelled: string[]; found: number; stat?: Stats }): boolean {
    const made = this.#created.get(this.#key(w.drive, located.spelled.slice(0, located.found)));
    return made === undefined ? super.directories(w, located) : made.isDirectory;
  }

  override mkdirs(w: { drive: string }, located: { spelled: string[]; found: number }): void {
    for (let i = located.found; i < located.spelled.length; i++) {
      this.#created.set(this.#key(w.drive, located.spelled.slice(0, i + 1)), { name: located.spelled[i]!, isDirectory: true });
    }
  }

  override async existing(p: string): Promise<ExistingFile | undefined> {
    const real = await super.existing(p);
    if (real !== undefined) return real;
    const w = this.parse(p);
    if (w?.kind !== 'file') return undefined;
    const located = this.locate(w);
    const made = located.found === w.parts.length ? this.#created.get(this.#key(w.drive, located.spelled)) : undefined;
    if (made === undefined) return undefined;
    const stat: RealStat = { isDirectory: made.isDirectory, isFile: !made.isDirectory, size: 0 };
    return { ...existingFile(w, located, stat), rehearsed: true };
  }

  /** Virtual sizes of the VHDs the rehearsal created and then expanded (they have no bytes). */
  readonly vhdxSizes = new Map<string, number>();

  override async create(target: { win: string; real: string }): Promise<void> {
    const w = this.parse(target.win);
    if (w?.kind !== 'file') return;
    const located = this.locate(w);
    this.#created.set(this.#key(w.drive, located.spelled), { name: located.spelled[located.spelled.length - 1]!, isDirectory: false });
  }
}

/** A VHD's virtual size: read from its bytes, or, for one a rehearsal made, as CreateSandboxLayer makes it or as it was expanded since. */
export async function virtualSizeOf(fs: WindowsFs, f: ExistingFile): Promise<number> {
  if (f.rehearsed === true && fs instanceof OverlayFs) return fs.vhdxSizes.get(fold(f.win)) ?? DEFAULT_SANDBOX_SIZE;
  return (await inspectVhdx(f.real)).virtualSize;
}

/** Grow a VHD a rehearsal made (its size only; nothing is written). */
export function resizeRehearsed(fs: WindowsFs, f: ExistingFile, bytes: number): void {
  if (fs instanceof OverlayFs) fs.vhdxSizes.set(fold(f.win), bytes);
}
