// What is random or transport-specific in a run, and nothing else (the oracle's
// README "Comparing with the package"):
// - VMBus GUIDs of VPCI devices (guid.NewV4 in hcsshim and in the package):
//   numbered by first appearance, in resource paths, device-util's --parentID and
//   the snapshot;
// - volume paths: the server already translates wine's C: volume to the model's;
// - guestConnection false: hcsshim hands HCS one HcsModifyComputeSystem carrying
//   both parts (modify.go:15-50 with gc == nil), which the model applies and
//   forwards as a GuestRequest; the package sends the host part and the guest part
//   as two calls. The combined call is split back into the package's two, in the
//   package's order (Add: host first; Remove: guest first).
// The process plumbing (HcsCreateProcess, callbacks, properties, close) is one
// Exec already: the stand-in answers it locally around one server call.

import type { Call, Run, StepRun } from './sides';

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const VMBUS_CONTEXTS = [
  new RegExp(`(VirtualPci/)(${GUID})`, 'g'),
  new RegExp(`(\\\\\\\\\\{44c4f61d-4444-4400-9d52-802e27ede19f\\}\\\\\\\\\\{)(${GUID})`, 'gi'),
  new RegExp(`("vmBusGuid":")(${GUID})`, 'g'),
];

/** Replaces every VMBus GUID in `text` by `<vmbus-n>`, numbered across calls by `names`. */
function vmbus(text: string, names: Map<string, string>): string {
  let out = text;
  for (const re of VMBUS_CONTEXTS) {
    out = out.replace(re, (_m, pre: string, g: string) => {
      const key = g.toLowerCase();
      if (!names.has(key)) names.set(key, `<vmbus-${names.size + 1}>`);
      return pre + names.get(key)!;
    });
  }
  return out;
}

function splitCombined(calls: Call[]): Call[] {
  const out: Call[] = [];
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!;
    const doc = c.api === 'HcsModifyComputeSystem' && c.document !== undefined ? (JSON.parse(c.document) as Record<string, unknown>) : undefined;
    if (doc === undefined || doc.GuestRequest === undefined || doc.ResourcePath === undefined) {
      out.push(c);
      continue;
    }
    const { GuestRequest, ...hostPart } = doc;
    const host: Call = { ...c, document: JSON.stringify(hostPart) };
    const next = calls[i + 1];
    const forwarded = next?.api === 'GuestRequest' && next.document === JSON.stringify(GuestRequest) ? next : undefined;
    if (forwarded !== undefined) i++;
    if (forwarded === undefined) {
      out.push(host);
    } else if (doc.RequestType === 'Remove') {
      // The model's outcome belongs to the combined call; each part gets the part's own.
      out.push(forwarded, { ...host, outcome: forwarded.outcome === 'ok' ? c.outcome! : 'ok' });
    } else {
      out.push({ ...host, outcome: 'ok' }, forwarded);
    }
  }
  return out;
}

export function normaliseRun(run: Run, combined: boolean): Run {
  const names = new Map<string, string>();
  const text = (s: string | undefined): string | undefined => (s === undefined ? undefined : vmbus(s, names));
  const steps: StepRun[] = run.steps.map((st) => ({
    ...st,
    calls: (combined ? splitCombined(st.calls) : st.calls).map((c) => {
      const n: Call = { ...c };
      if (c.document !== undefined) n.document = text(c.document)!;
      if (c.args !== undefined) n.args = text(c.args)!;
      return n;
    }),
  }));
  const snapshot = JSON.parse(vmbus(JSON.stringify(run.snapshot), names)) as Run['snapshot'];
  return { ...run, steps, snapshot };
}
