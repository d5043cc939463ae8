// Go encoding/json decoding into a `[]string`, with Go's error texts: hcsshim main reads
// the rootfs mount options `parentLayerPaths=` / `parentCimPaths=` with json.Unmarshal and
// surfaces its errors verbatim (internal/layers/helpers.go:91-103; docs/rootfs.md).
// Go first checks the whole input with its scanner (syntax errors win, with the scanner's
// wording), then decodes; a value of the wrong type is an UnmarshalTypeError.

import { goQuote } from '../hcs/gostrconv';

/** Go's json.SyntaxError / UnmarshalTypeError text. */
export class GoJsonError extends Error {}

/** Go's quoteChar (encoding/json/scanner.go): strconv.Quote's escapes between single quotes. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  return `'${goQuote(c).slice(1, -1)}'`;
}

const WS = new Set([' ', '\t', '\r', '\n']);
const END = 'unexpected end of JSON input';

/** The checkValid pass: throws Go's SyntaxError text for the first offending character. */
class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  private peek(): string | undefined {
    return this.s[this.i];
  }

  private fail(context: string): never {
    const c = this.peek();
    if (c === undefined) throw new GoJsonError(END);
    throw new GoJsonError(`invalid character ${quoteChar(c)} ${context}`);
  }

  private skip(): void {
    while (this.peek() !== undefined && WS.has(this.peek()!)) this.i++;
  }

  run(): void {
    this.skip();
    this.value();
    this.skip();
    if (this.peek() !== undefined) this.fail('after top-level value');
  }

  private value(): void {
    this.skip();
    const c = this.peek();
    if (c === '[') return this.array();
    if (c === '{') return this.object();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    if (c === 't') return this.literal('true');
    if (c === 'f') return this.literal('false');
    if (c === 'n') return this.literal('null');
    this.fail('looking for beginning of value');
  }

  private array(): void {
    this.i++;
    this.skip();
    if (this.peek() === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value();
      this.skip();
      if (this.peek() === ',') this.i++;
      else if (this.peek() === ']') return void this.i++;
      else this.fail('after array element');
    }
  }

  private object(): void {
    this.i++;
    this.skip();
    if (this.peek() === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.skip();
      if (this.peek() !== '"') this.fail('looking for beginning of object key string');
      this.string();
      this.skip();
      if (this.peek() !== ':') this.fail('after object key');
      this.i++;
      this.value();
      this.skip();
      if (this.peek() === ',') this.i++;
      else if (this.peek() === '}') return void this.i++;
      else this.fail('after object key:value pair');
    }
  }

  private string(): void {
    this.i++;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('');
      if (c === '"') return void this.i++;
      if (c < ' ') this.fail('in string literal');
      this.i++;
      if (c !== '\\') continue;
      const e = this.peek();
      if (e !== undefined && '"\\/bfnrt'.includes(e)) {
        this.i++;
      } else if (e === 'u') {
        this.i++;
        for (let k = 0; k < 4; k++) {
          const h = this.peek();
          if (h === undefined || !/[0-9a-fA-F]/.test(h)) this.fail('in \\u hexadecimal character escape');
          this.i++;
        }
      } else {
        this.fail('in string escape code');
      }
    }
  }

  private digits(context: string): void {
    const d = this.peek();
    if (d === undefined || d < '0' || d > '9') this.fail(context);
    while (this.peek() !== undefined && this.peek()! >= '0' && this.peek()! <= '9') this.i++;
  }

  private number(): void {
    if (this.peek() === '-') this.i++;
    if (this.peek() === '0') this.i++;
    else this.digits('in numeric literal');
    if (this.peek() === '.') {
      this.i++;
      this.digits('after decimal point in numeric literal');
    }
    if (this.peek() === 'e' || this.peek() === 'E') {
      this.i++;
      if (this.peek() === '+' || this.peek() === '-') this.i++;
      this.digits('in exponent of numeric literal');
    }
  }

  private literal(word: string): void {
    this.i++;
    for (let k = 1; k < word.length; k++) {
      if (this.peek() !== word[k]) this.fail(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
      this.i++;
    }
  }
}

function goKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v; // string, number, boolean → Go says "bool"
}

/** Go replaces lone UTF-16 surrogates decoded from `\u` escapes with U+FFFD. */
function goString(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * json.Unmarshal(data, &[]string{}): `null` is an empty list, a `null` element an empty
 * string; the first element of another type is reported after the syntax check.
 */
export function unmarshalStringArray(data: string): string[] {
  new Scanner(data).run();
  const v = JSON.parse(data) as unknown;
  if (v === null) return [];
  if (!Array.isArray(v)) {
    const k = goKind(v);
    throw new GoJsonError(`json: cannot unmarshal ${k === 'boolean' ? 'bool' : k} into Go value of type []string`);
  }
  const out: string[] = [];
  for (const e of v) {
    if (e === null) out.push('');
    else if (typeof e === 'string') out.push(goString(e));
    else {
      const k = goKind(e);
      throw new GoJsonError(`json: cannot unmarshal ${k === 'boolean' ? 'bool' : k} into Go value of type string`);
    }
  }
  return out;
}
