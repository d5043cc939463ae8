// The deliberate differences from hcsshim v0.11.4 (docs/differences.md), as the runner accepts
// them. A scenario declares the differences it must show; the judge then
// explains every mismatch between hcsshim's run and ours by one of them, and
// fails the scenario when a mismatch is explained by none, or a declared
// difference explains nothing:
// - refusals before the first side effect (1 validation, 6/10 sandbox paths,
//   7 empty LayerFolders, 9 host preflight: missing driver folders and mount sources): ours fails its allocation with no
//   call at all where hcsshim made calls (and rolled them back, or for 6/10 succeeded);
// - releases hcsshim skips (2 the layers after a failed closer, 3 single-file shares,
//   4 the device-util share and earlier devices, 5 a CCG instance whose query
//   failed): hcsshim's calls of the step are a subsequence of ours, and each extra
//   call of ours is a release the difference names.
// Where a difference was accepted, our final state must hold nothing hcsshim's does
// not (we release more, never less).

import { renameBoth } from './cascade';
import { callText } from './diff';
import { TOOLS_DIRECTORY, type Scenario } from './scenario';
import type { Call, Run, StepRun } from './sides';

export const DIFFERENCE_TITLES: Record<number, string> = {
  1: 'whole spec validated before the first side effect',
  2: 'release runs to the end, layers included',
  3: 'single-file VSMB shares are released',
  4: 'a failed device assignment releases the tool share and earlier devices',
  5: 'a CCG instance whose query fails is removed',
  6: 'sandbox:// paths escaping C:\\SandboxMounts are rejected',
  7: 'empty LayerFolders is an error',
  8: 'crash journal and recover()',
  9: 'host preflight before the first side effect',
  10: 'sandbox:// paths are allow-listed',
  11: 'a failed pod-sandbox allocation in a UVM takes its layers back',
};

/**
 * Which declared refusal our allocation error is: the host preflight 9 (op `preflight`,
 * or the driver-folder check), sandbox paths 6/10, else validation 1/7.
 */
function refusalOf(message: string, op: string | undefined, declared: ReadonlySet<number>): number | undefined {
  const candidates =
    op === 'preflight' || /failed to find path to drivers/.test(message) ? [9] : /sandbox/i.test(message) ? [6, 10] : /not enough layer folders/.test(message) ? [7, 1] : [1, 7];
  return candidates.find((d) => declared.has(d));
}

export interface Verdict {
  ok: boolean;
  accepted: number[];
  problems: string[];
}

interface Doc {
  ResourcePath?: string;
  RequestType?: string;
  Settings?: { Name?: string; Path?: string; AllowedFiles?: string[]; Operation?: string };
  ResourceType?: string;
  Operation?: string;
}

function doc(c: Call): Doc {
  return c.document === undefined ? {} : (JSON.parse(c.document) as Doc);
}

/** What a run's calls told about VSMB shares: name → host path, and which are file shares. */
function shares(run: Run): Map<string, { path: string; file: boolean }> {
  const m = new Map<string, { path: string; file: boolean }>();
  for (const st of run.steps) {
    for (const c of st.calls) {
      const d = doc(c);
      if (d.ResourcePath === 'VirtualMachine/Devices/VirtualSmb/Shares' && d.RequestType === 'Add' && d.Settings?.Name !== undefined) {
        m.set(d.Settings.Name, { path: d.Settings.Path ?? '', file: (d.Settings.AllowedFiles?.length ?? 0) > 0 });
      }
    }
  }
  return m;
}

/**
 * Which release difference an extra call of ours is, if any. In a failed allocation the
 * device-util share (a single-file share hcsshim never registers) and the VPCI devices
 * are 4; in a release, any single-file share is 3.
 */
function releaseDifference(c: Call, known: Map<string, { path: string; file: boolean }>, op: StepRun['op']): number | undefined {
  const d = doc(c);
  if (c.api === 'HcsModifyServiceSettings') return JSON.stringify(d).includes('"RemoveInstance"') ? 5 : undefined;
  // The CCG instance's hvsocket service entry goes with it (docs/differences.md#difference-5).
  if (d.ResourcePath?.startsWith('VirtualMachine/Devices/HvSocket/') === true) return 5;
  // In a failed allocation ours also takes back the devices assigned before (4); in a release
  // an extra device removal is one hcsshim's stopped release, or its leak, still holds (2).
  if (d.ResourcePath?.startsWith('VirtualMachine/Devices/VirtualPci/') === true && d.RequestType === 'Remove') return op === 'allocate' ? 4 : 2;
  if (d.ResourcePath === 'VirtualMachine/Devices/VirtualSmb/Shares') {
    const share = known.get(d.Settings?.Name ?? '');
    const tool = share?.path.toLowerCase() === TOOLS_DIRECTORY.toLowerCase();
    if (op === 'allocate' && tool && (d.RequestType === 'Remove' || d.RequestType === 'Update')) return 4;
    if (share?.file === true && (d.RequestType === 'Remove' || d.RequestType === 'Update')) return 3;
  }
  if (d.RequestType === 'Remove' || c.api === 'UnprepareLayer' || c.api === 'DeactivateLayer') return 2;
  return undefined;
}

/** Whether hcsshim's allocation of `id` added or extended a single-file share (a file mount, device-util). */
function holdsFileShare(run: Run, id: string): boolean {
  const st = run.steps.find((x) => x.op === 'allocate' && x.container === id);
  return (st?.calls ?? []).some((c) => {
    const d = doc(c);
    return d.ResourcePath === 'VirtualMachine/Devices/VirtualSmb/Shares' && (d.RequestType === 'Add' || d.RequestType === 'Update') && (d.Settings?.AllowedFiles?.length ?? 0) > 0;
  });
}

function isPodSandbox(s: Scenario, id: string): boolean {
  const c = s.containers.find((x) => x.id === id);
  return c !== undefined && (c.isSandbox ?? c.spec.annotations?.['io.kubernetes.cri.container-type'] === 'sandbox');
}

/** Indexes of ours' calls that are not matched by hcsshim's, when hcsshim's are a subsequence of ours. */
function extras(theirs: readonly Call[], ours: readonly Call[]): number[] | undefined {
  const same = (a: Call, b: Call): boolean => callText(a) === callText(b);
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < ours.length; i++) {
    if (j < theirs.length && same(theirs[j]!, ours[i]!)) j++;
    else out.push(i);
  }
  return j === theirs.length ? out : undefined;
}

/** What names an element of a snapshot list: its first identity field present. */
const IDENTITY = ['name', 'lun', 'id', 'containerRootPath', 'containerPath', 'path'] as const;

function sameIdentity(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const key = IDENTITY.find((k) => k in x);
  return key !== undefined && JSON.stringify(x[key]) === JSON.stringify(y[key]);
}

/** Every array element and scalar of `small` is in `big`: ours holds nothing hcsshim does not. */
function within(small: unknown, big: unknown, at: string, problems: string[]): void {
  if (Array.isArray(small) && Array.isArray(big)) {
    const texts = new Set(big.map((x) => JSON.stringify(x)));
    for (const x of small) {
      if (texts.has(JSON.stringify(x))) continue;
      // The same share, disk, device… in both, ours with less in it (fewer allowed files, say).
      const same = big.find((y) => sameIdentity(x, y));
      if (same !== undefined) within(x, same, at, problems);
      else problems.push(`snapshot ${at}: ours holds ${JSON.stringify(x)}, hcsshim does not`);
    }
  } else if (small !== null && big !== null && typeof small === 'object' && typeof big === 'object') {
    for (const [k, v] of Object.entries(small)) within(v, (big as Record<string, unknown>)[k], at === '' ? k : `${at}.${k}`, problems);
  } else if (small === null && big !== undefined) {
    // Ours no longer holds it (a guest mount taken back before a failed host detach, which
    // hcsshim sends as one combined call, normalise.ts): less, not more.
  } else if (JSON.stringify(small) !== JSON.stringify(big)) {
    problems.push(`snapshot ${at}: hcsshim ${JSON.stringify(big)}, ours ${JSON.stringify(small)}`);
  }
}

/**
 * CreateContainer takes a container counter value before allocateWindowsResources
 * refuses a spec; the package refuses before taking one (docs/differences.md#difference-1: "not even the
 * container counter"). hcsshim's later container roots `C:\c\<n>` are then one higher
 * per refused container: renumbered in hcsshim's run (any JSON escaping depth).
 */
function renumberRoots<T>(value: T, refused: readonly number[]): T {
  if (refused.length === 0) return value;
  const text = JSON.stringify(value).replace(/C:((?:\\\\)+)c\1([0-9a-f]+)(?![0-9a-f])/g, (_m, sep: string, hex: string) => {
    const n = parseInt(hex, 16);
    return `C:${sep}c${sep}${(n - refused.filter((r) => r < n).length).toString(16)}`;
  });
  return JSON.parse(text) as T;
}

export function judge(s: Scenario, theirs: Run, ours: Run, differences: string[], compare: (a: Run, b: Run) => string[]): Verdict {
  const required = new Set(s.differences ?? []);
  const declared = new Set([...required, ...(s.mayDiffer ?? [])]);
  if (differences.length === 0) {
    return required.size === 0 ? { ok: true, accepted: [], problems: [] } : { ok: false, accepted: [], problems: [`declared DESIGN ${[...required].join(', ')} but the runs are equal`] };
  }
  const shown = new Set<number>();
  const problems: string[] = [];
  const fileShares = new Map([...shares(theirs), ...shares(ours)]);
  // hcsshim's run as the package is meant to differ from it: each explained step replaced by ours.
  const expected: Run = structuredClone(theirs);
  expected.steps = [];
  const byContainer = (run: Run, st: StepRun): StepRun | undefined => run.steps.find((x) => x.op === st.op && x.container === st.container);
  /** Counter values of the containers hcsshim allocated and we refused. */
  const refused: number[] = [];
  /** The difference through which hcsshim first held something ours gave back or never took. */
  let leak: number | undefined;
  // Once hcsshim has leaked, its later share names and LUNs may differ from ours (cascade.ts).
  const renamed = renameBoth(theirs, ours);
  const afterLeak = new Set<string>();
  for (const [i, raw] of theirs.steps.entries()) {
    const st = renumberRoots(raw, refused);
    // A refusal that makes no call in either run still shifts the roots of later containers.
    const later = s.uvm !== null && theirs.steps.some((x, j) => j > i && x.op === 'allocate');
    const mine = byContainer(ours, st);
    const result = theirs.containers[st.container]!;
    const ourResult = ours.containers[st.container]!;
    if (mine === undefined) {
      // We refused the allocation, so there is nothing to release.
      if (st.op === 'release' && ourResult.allocateError !== null && result.allocateError === null) continue;
      expected.steps.push(st);
      continue;
    }
    if (st.op === 'allocate' && ourResult.allocateError !== null && mine.calls.length === 0 && (st.calls.length > 0 || later)) {
      const refusal = refusalOf(ourResult.allocateError, ourResult.allocateOp, declared);
      if (refusal !== undefined) {
        shown.add(refusal);
        const root = /^C:\\c\\([0-9a-f]+)$/.exec(result.containerRootInUvm);
        if (root !== null) refused.push(parseInt(root[1]!, 16));
        // hcsshim's container now holds references ours never took (its allocation succeeded,
        // or its rollback stopped): shared shares and disks go at other releases in ours.
        if (result.allocateError === null || result.releaseError !== null) leak ??= refusal;
        expected.steps.push(mine);
        Object.assign(expected.containers[st.container]!, { ...ourResult });
        continue;
      }
    }
    // hcsshim fails to remove a single-file share without sending a call (vsmb.go:236-276,
    // docs/differences.md#difference-3) where ours drops its reference: equal calls, different release outcomes.
    const silentFileShare = () => {
      if (st.op !== 'release' || result.releaseError === null || ourResult.releaseError !== null || !declared.has(3) || !holdsFileShare(theirs, st.container)) return;
      shown.add(3);
      leak ??= 3;
      expected.containers[st.container]!.releaseError = null;
    };
    const cascade = leak !== undefined;
    if (cascade && st.op === 'allocate') afterLeak.add(st.container);
    // hcsshim extends (Update) a single-file share its leak still holds where ours, which gave
    // it back, adds it anew: that Update is left out, and ours' Add is a cascade (below).
    const leakedUpdate = (i: number): boolean => {
      const t = renamed.theirs.addedBy(raw, i, 'Update');
      return t !== undefined && renamed.theirs.heldBefore(raw, t) && !renamed.ours.heldBefore(mine, t);
    };
    const extra = cascade
      ? extras(
          renumberRoots(renamed.theirs.stepCalls(raw).filter((_c, i) => !leakedUpdate(i)), refused),
          renumberRoots(renamed.ours.stepCalls(mine), refused),
        )
      : extras(st.calls, mine.calls);
    if (cascade && extra?.length === 0) {
      // Equal but for the names and LUNs the earlier leak shifted.
      silentFileShare();
      expected.steps.push(mine);
      continue;
    }
    if (extra !== undefined && extra.length > 0) {
      // A pod sandbox's layers stay in the UVM (resources_wcow.go:70) even when its allocation
      // fails in hcsshim; ours takes them back (11): the layer releases of its rollback.
      const podSandbox = st.op === 'allocate' && s.uvm !== null && isPodSandbox(s, st.container);
      const kinds = extra
        .map((i) => {
          // Ours adds again what hcsshim's leak still holds (2: its release stopped, ours did not).
          const added = cascade ? renamed.ours.addedBy(mine, i) : undefined;
          // Labelled by the difference that caused the leak, when the scenario does not declare 2.
          const origin = (k: number | undefined): number | undefined => (k === 2 && !declared.has(2) && leak !== undefined ? leak : k);
          if (added !== undefined && renamed.theirs.heldBefore(raw, added)) return origin(2);
          return origin(releaseDifference(mine.calls[i]!, fileShares, st.op));
        })
        .map((k) => (k === 2 && podSandbox && declared.has(11) ? 11 : k));
      // 2 only where hcsshim's release (or its rollback of a failed allocation) failed and
      // stopped, or did so earlier: what it leaked then still holds references now.
      const stopped: boolean = result.releaseError !== null || leak !== undefined;
      const ok = kinds.every((k) => k !== undefined && declared.has(k) && (k !== 2 || stopped));
      if (ok) {
        for (const k of kinds) shown.add(k!);
        leak ??= kinds.find((k) => k === 2 || k === 3 || k === 4 || k === 11);
        expected.steps.push(mine);
        // A release, or the rollback of a failed allocation, that stopped in hcsshim and ran to the end in ours.
        expected.containers[st.container]!.releaseError = ourResult.releaseError;
        continue;
      }
      problems.push(
        `${st.op} ${st.container}: calls of ours hcsshim does not make, not explained by the declared differences:\n${extra
          .map((i, n) => `      ${kinds[n] === undefined ? '?' : `DESIGN ${kinds[n]}`}: ${callText(mine.calls[i])}`)
          .join('\n')}`,
      );
    } else if (extra?.length === 0) {
      silentFileShare();
    }
    expected.steps.push(st);
  }
  for (const d of required) if (!shown.has(d)) problems.push(`declared DESIGN ${d} (${DIFFERENCE_TITLES[d]}) was not shown`);
  for (const d of shown) if (!declared.has(d)) problems.push(`DESIGN ${d} shown but not declared`);
  // Everything else must now be equal, but the final state: ours ⊆ hcsshim's.
  expected.containers = renumberRoots(expected.containers, refused);
  // Results of containers allocated after a leak: equal but for shifted share names.
  for (const id of afterLeak) {
    const e = expected.containers[id]!;
    const o = ours.containers[id]!;
    if (JSON.stringify(renamed.theirs.result(e)) === JSON.stringify(renamed.ours.result(o))) expected.containers[id] = { ...e, ...o, allocateError: e.allocateError, releaseError: e.releaseError };
  }
  problems.push(...compare({ ...expected, snapshot: ours.snapshot }, ours));
  const final = renumberRoots(theirs.snapshot, refused);
  if (leak !== undefined) within(renamed.ours.snapshot(ours.snapshot), renamed.theirs.snapshot(final), '', problems);
  else within(ours.snapshot, final, '', problems);
  return problems.length === 0 ? { ok: true, accepted: [...shown].sort((a, b) => a - b), problems } : { ok: false, accepted: [], problems };
}
