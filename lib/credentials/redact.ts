// The one redaction rule for credential specs (gMSA): the value of any property named
// `CredentialSpec` (any case — HCS documents spell it `CredentialSpec`, the OCI spec and the
// simulated state `credentialSpec`) is replaced by REDACTED wherever data leaves the engine:
// trace payloads and log lines (lib/trace), error messages and HCS result documents
// (lib/errors), the CLI's output (lib/cli/action.ts), the simulated host's state file
// (persist.ts). Inside the engine and on its way to HCS the spec is untouched: the
// AddInstance request and the container document need it.

export const REDACTED = '[redacted credential spec]';

const SECRET_KEY = /^credentialspec$/i;

/** Whether a property of this name holds a credential spec. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A JSON.stringify replacer applying the rule. */
export function secretReplacer(key: string, value: unknown): unknown {
  return isSecretKey(key) && value !== undefined && value !== null ? REDACTED : value;
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of `value` for the outside: plain objects and arrays are copied with every
 * credential spec replaced, strings go through redactText, errors become their JSON view
 * (WcowError.toJSON; name and message otherwise); anything else that is an object — a host,
 * a UVM handle, a closer — becomes `[ClassName]`, since what it holds is not data to publish.
 * Functions are dropped, cycles become `[Circular]`.
 */
export function redact(value: unknown): unknown {
  return copy(value, new Set());
}

function copy(v: unknown, ancestors: Set<object>): unknown {
  if (typeof v === 'string') return redactText(v);
  if (typeof v === 'function') return undefined;
  if (typeof v !== 'object' || v === null) return v;
  if (ancestors.has(v)) return '[Circular]';
  ancestors.add(v);
  try {
    if (Array.isArray(v)) return v.map((e) => copy(e, ancestors));
    if (v instanceof Error) {
      const json = (v as { toJSON?: () => unknown }).toJSON;
      return copy(typeof json === 'function' ? json.call(v) : { name: v.name, message: v.message }, ancestors);
    }
    if (!isPlain(v)) return `[${(v.constructor as { name?: string } | undefined)?.name ?? 'object'}]`;
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      const c = isSecretKey(k) && e !== undefined && e !== null ? REDACTED : copy(e, ancestors);
      if (c !== undefined) out[k] = c;
    }
    return out;
  } finally {
    ancestors.delete(v);
  }
}

/** The end of the JSON value starting at `i` (a string, object, array or literal), or -1. */
function jsonValueEnd(t: string, i: number): number {
  if (t[i] === '"') {
    for (let j = i + 1; j < t.length; j++) {
      if (t[j] === '\\') j++;
      else if (t[j] === '"') return j + 1;
    }
    return -1;
  }
  if (t[i] === '{' || t[i] === '[') {
    let depth = 0;
    for (let j = i; j < t.length; j++) {
      const c = t[j];
      if (c === '"') {
        j = jsonValueEnd(t, j) - 1;
        if (j < 0) return -1;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  const m = /^[^,}\]\s]+/.exec(t.slice(i));
  return m === null ? -1 : i + m[0].length;
}

/** A credential-spec key in JSON text, and its colon. */
const SECRET_KEY_IN_TEXT = /"credentialspec"\s*:\s*/gi;

/**
 * The rule applied to text holding JSON (a document the CLI prints, an error message quoting
 * a document): the value after every `"CredentialSpec":` is replaced. Text without the key
 * is returned as is. Data is redacted before it is serialised (redact, secretReplacer), so
 * JSON escaped inside another JSON string does not occur here.
 */
export function redactText(t: string): string {
  if (!/credentialspec/i.test(t)) return t;
  let out = '';
  let last = 0;
  SECRET_KEY_IN_TEXT.lastIndex = 0;
  for (let m = SECRET_KEY_IN_TEXT.exec(t); m !== null; m = SECRET_KEY_IN_TEXT.exec(t)) {
    const start = m.index + m[0].length;
    const end = jsonValueEnd(t, start);
    if (end < 0) continue;
    out += t.slice(last, start) + JSON.stringify(REDACTED);
    last = end;
    SECRET_KEY_IN_TEXT.lastIndex = end;
  }
  return out + t.slice(last);
}
