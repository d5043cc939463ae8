// After hcsshim leaks (its release stopped early, docs/differences.md#difference-2, docs/differences.md#difference-3, docs/differences.md#difference-4, while ours ran to
// the end), hcsshim's UVM still holds shares and LUNs that ours gave back. Later
// steps in the same UVM then number things differently without doing anything
// else differently: ours adds again a share hcsshim still holds (a new `s<n>`
// name; vsmb.go:160 reuses by path), and attaches at a LUN hcsshim's leak still
// occupies (scsi.go:320 takes the lowest free one). From the first step after a
// leak the judge compares the two runs in these terms: every VSMB share name
// replaced by what it stands for (its host path and options), every LUN by the
// disk attached there. Names and LUNs before the leak are compared as they are.

import type { HostSnapshot } from '../../lib/host/simulated/snapshot';
import type { Call, ContainerResult, Run, StepRun } from './sides';

interface Doc {
  ResourcePath?: string;
  RequestType?: string;
  Settings?: { Name?: string; Path?: string; Options?: unknown; Type?: string };
}

const SHARE_NAME = /("Name":")(s[0-9a-f]+)(")/g;
// A share's guest path, `\\?\VMSMB\VSMB-{…}\s<n>` (JSON-escaped once), in layer paths and mounts.
const SHARE_PATH = /(VSMB-\{[0-9a-fA-F-]+\}(?:\\\\)+)(s[0-9a-f]+)(?![0-9a-z])/g;
const ATTACHMENT = /(Attachments\/)([0-9]+)(?![0-9])/g;
const LUN = /("Lun":)([0-9]+)/g;

/** Tokens shared by both sides: equal tokens name the same share or the same attached disk. */
class Registry {
  private readonly tokens = new Map<string, string>();

  token(kind: 'share' | 'disk', key: string): string {
    const k = `${kind}|${key}`;
    let t = this.tokens.get(k);
    if (t === undefined) {
      t = `<${kind}-${this.tokens.size + 1}>`;
      this.tokens.set(k, t);
    }
    return t;
  }
}

const shareKey = (path: string, options: unknown): string => `${path.toLowerCase()}|${JSON.stringify(options ?? {})}`;

/** One run's calls, snapshot and results in tokens, and which tokens it held at the start of each step. */
export class Renamed {
  /** Share name → token; names are never reused within a UVM (vsmb.go:144 counter). */
  private readonly shares = new Map<string, string>();
  private readonly calls = new Map<StepRun, Call[]>();
  private readonly heldAtStart = new Map<StepRun, ReadonlySet<string>>();

  constructor(
    private readonly registry: Registry,
    run: Run,
  ) {
    const luns = new Map<string, string>();
    const held = new Set<string>();
    for (const st of run.steps) {
      this.heldAtStart.set(st, new Set(held));
      this.calls.set(
        st,
        st.calls.map((c) => this.call(c, luns, held)),
      );
    }
  }

  private call(c: Call, luns: Map<string, string>, held: Set<string>): Call {
    if (c.document === undefined) return c;
    const d = JSON.parse(c.document) as Doc & { Settings?: { Lun?: number } };
    const ok = c.outcome === 'ok';
    if (d.ResourcePath === 'VirtualMachine/Devices/VirtualSmb/Shares' && d.Settings?.Name !== undefined) {
      if (d.RequestType === 'Add' && d.Settings.Path !== undefined) {
        this.shares.set(d.Settings.Name, this.registry.token('share', shareKey(d.Settings.Path, d.Settings.Options)));
      }
      const t = this.shares.get(d.Settings.Name);
      if (t !== undefined && ok) {
        if (d.RequestType === 'Add') held.add(t);
        if (d.RequestType === 'Remove') held.delete(t);
      }
    }
    const attachment = /Attachments\/([0-9]+)$/.exec(d.ResourcePath ?? '');
    if (attachment !== null && d.RequestType === 'Add' && d.Settings?.Path !== undefined) {
      const t = this.registry.token('disk', d.Settings.Path.toLowerCase());
      luns.set(attachment[1]!, t);
      if (ok) held.add(t);
    }
    const document = this.text(c.document, luns);
    if (attachment !== null && d.RequestType === 'Remove') {
      const t = luns.get(attachment[1]!);
      if (t !== undefined && ok) held.delete(t);
      luns.delete(attachment[1]!);
    }
    return { ...c, document };
  }

  private text(s: string, luns: ReadonlyMap<string, string>): string {
    const share = (m: string, pre: string, name: string, post = ''): string => {
      const t = this.shares.get(name);
      return t === undefined ? m : `${pre}${t}${post}`;
    };
    return s
      .replace(SHARE_NAME, share)
      .replace(SHARE_PATH, (m, pre: string, name: string) => share(m, pre, name))
      .replace(ATTACHMENT, (m, pre: string, lun: string) => (luns.has(lun) ? `${pre}${luns.get(lun)!}` : m))
      .replace(LUN, (m, pre: string, lun: string) => (luns.has(lun) ? `${pre}"${luns.get(lun)!}"` : m));
  }

  stepCalls(st: StepRun): Call[] {
    return this.calls.get(st) ?? st.calls;
  }

  /** Whether the run held the share or disk `token` names when `st` began. */
  heldBefore(st: StepRun, token: string): boolean {
    return this.heldAtStart.get(st)?.has(token) ?? false;
  }

  /** The token of the share or disk a call of this run adds (or, with `Update`, extends), if any. */
  addedBy(st: StepRun, i: number, request: 'Add' | 'Update' = 'Add'): string | undefined {
    const c = this.stepCalls(st)[i];
    if (c?.document === undefined) return undefined;
    const d = JSON.parse(c.document) as Doc;
    if (d.RequestType !== request) return undefined;
    if (d.ResourcePath === 'VirtualMachine/Devices/VirtualSmb/Shares') return d.Settings?.Name;
    return /Attachments\/(<disk-[0-9]+>)$/.exec(d.ResourcePath ?? '')?.[1];
  }

  /** The final state in tokens: share names, LUNs (by the disk at each) and share guest paths. */
  snapshot(snap: HostSnapshot): unknown {
    type Uvm = { scsi: { lun: number | string; path: string }[]; vsmbShares: { name: string }[]; guest?: { mappedVirtualDisks?: { lun: number | string }[] } };
    const out = structuredClone(snap) as unknown as { uvms: Record<string, Uvm> };
    for (const uvm of Object.values(out.uvms)) {
      const luns = new Map(uvm.scsi.map((s) => [String(s.lun), this.registry.token('disk', s.path.toLowerCase())]));
      for (const s of uvm.scsi) if (Number(s.lun) !== 0) s.lun = luns.get(String(s.lun))!;
      for (const s of uvm.vsmbShares) s.name = this.shares.get(s.name) ?? s.name;
      for (const m of uvm.guest?.mappedVirtualDisks ?? []) if (Number(m.lun) !== 0) m.lun = luns.get(String(m.lun)) ?? m.lun;
    }
    return JSON.parse(this.text(JSON.stringify(out), new Map())) as unknown;
  }

  result(r: ContainerResult): ContainerResult {
    return JSON.parse(this.text(JSON.stringify(r), new Map())) as ContainerResult;
  }
}

/** Both runs renamed over one registry. */
export function renameBoth(theirs: Run, ours: Run): { theirs: Renamed; ours: Renamed } {
  const registry = new Registry();
  return { theirs: new Renamed(registry, theirs), ours: new Renamed(registry, ours) };
}
