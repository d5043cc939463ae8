// The two pieces of Go's strconv whose texts reach our errors: Quote (what `%q` prints, in
// containerd's `failed to parse label %q=%q`) and ParseUint's NumError (its label values,
// containerd plugins/snapshots/windows/windows.go), so a message reads as containerd's does.

/** A strconv.NumError: `strconv.ParseUint: parsing "<input>": invalid syntax | value out of range`. */
export class GoNumError extends Error {}

const NAMED: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote, rune by rune (a lone surrogate reaches Go as U+FFFD, which is printable). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const named = NAMED[ch];
    const cp = ch.codePointAt(0)!;
    if (named !== undefined) out += named;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd';
    else if (PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}

/**
 * strconv.ParseUint(s, 10, bits): decimal digits only (no sign, prefix or underscore in base
 * 10); the scan stops at the first bad character (invalid syntax) or the first overflow
 * (value out of range), whichever comes first.
 */
export function parseUint(s: string, bits: 32 | 64): bigint {
  const max = (1n << BigInt(bits)) - 1n;
  const fail = (why: string): never => {
    throw new GoNumError(`strconv.ParseUint: parsing ${goQuote(s)}: ${why}`);
  };
  if (s === '') fail('invalid syntax');
  let n = 0n;
  for (const c of s) {
    if (c < '0' || c > '9') fail('invalid syntax');
    n = n * 10n + BigInt(c.charCodeAt(0) - 48);
    if (n > max) fail('value out of range');
  }
  return n;
}
