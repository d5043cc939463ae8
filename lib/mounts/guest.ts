// Go's `%q`, as hcsshim prints a guest process's captured output and a mount source in
// its errors.

const SHORT: Record<string, string> = {
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

/**
 * Go's `%q` of a string (strconv.Quote), as hcsshim prints guest stderr (docs/mounts.md#setupmounts-mount-by-mount
 * error table): `\"` and `\\`, the C escapes \a \b \f \n \r \t \v, `\xNN` for
 * other control bytes, printable Unicode kept.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const short = SHORT[ch];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0x80 && cp < 0xa0) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}
