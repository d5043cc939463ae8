// How the guest parses the command lines it is given (hcsshim sends one
// CommandLine string, each argument `windows.EscapeArg`'d and joined with spaces —
// docs/mounts.md#sandbox-mounts step 3, docs/layers.md#devices-in-a-utility-vm, docs/layers.md#installing-a-driver-directory):
// - a process's argv: CommandLineToArgvW rules;
// - `cmd /c <rest>`: cmd.exe takes <rest> verbatim and splits it into commands at
//   unquoted `&`, `&&`, `||`, `|` (so a `&` in an unquoted path is a command separator —
//   the injection surface of docs/mounts.md#sandbox-mounts);
// - the arguments of cmd.exe's built-ins (mkdir, dir): cmd.exe splits them itself, at
//   blanks and at `;` `,` `=` outside quotes, so `mkdir a;b` makes two directories (the
//   separators that docs/differences.md#difference-10 keeps out of sandbox paths). External programs
//   (pnputil) get their text as is and parse it with CommandLineToArgvW.

export interface Arg {
  value: string;
  /** Offset just past the argument in the command line. */
  end: number;
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/**
 * CommandLineToArgvW: argv[0] ends at the next blank (or closing quote, with no
 * escapes); later arguments treat 2n backslashes + `"` as n backslashes and a
 * quote toggle, 2n+1 backslashes + `"` as n backslashes and a literal `"`, and
 * `""` inside quotes as a literal `"` (the post-2008 rule).
 */
export function commandLineToArgv(line: string): Arg[] {
  const args: Arg[] = [];
  let i = 0;
  while (isBlank(line[i])) i++;
  if (i >= line.length) return args;
  if (line[i] === '"') {
    const close = line.indexOf('"', i + 1);
    const end = close < 0 ? line.length : close;
    args.push({ value: line.slice(i + 1, end), end: Math.min(end + 1, line.length) });
    i = end + 1;
  } else {
    const start = i;
    while (i < line.length && !isBlank(line[i])) i++;
    args.push({ value: line.slice(start, i), end: i });
  }
  for (;;) {
    while (isBlank(line[i])) i++;
    if (i >= line.length) return args;
    let value = '';
    let quoted = false;
    while (i < line.length && (quoted || !isBlank(line[i]))) {
      if (line[i] === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n++;
          i++;
        }
        if (line[i] === '"') {
          value += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) {
            value += '"';
            i++;
          }
        } else {
          value += '\\'.repeat(n);
        }
      } else if (line[i] === '"') {
        if (quoted && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else {
          quoted = !quoted;
          i++;
        }
      } else {
        value += line[i];
        i++;
      }
    }
    args.push({ value, end: i });
  }
}

export type Chain = '&' | '&&' | '||' | '|';

export interface CmdCommand {
  /** How this command joins the previous one (`&` for the first). */
  chain: Chain;
  text: string;
}

/**
 * cmd.exe's split of a `/c` command string into commands (outside quotes; `^` escapes).
 * A pipe `a | b` runs both (b reads a's output, which nothing here uses).
 */
export function splitCmdCommands(rest: string): CmdCommand[] {
  const out: CmdCommand[] = [];
  let chain: Chain = '&';
  let text = '';
  let quoted = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '"') quoted = !quoted;
    if (!quoted && c === '^' && i + 1 < rest.length) {
      text += rest[++i];
      continue;
    }
    const pair = rest.slice(i, i + 2);
    if (!quoted && (c === '&' || c === '|')) {
      out.push({ chain, text: text.trim() });
      chain = (pair === '&&' || pair === '||' ? pair : c) as Chain;
      if (chain.length === 2) i++;
      text = '';
      continue;
    }
    text += c;
  }
  out.push({ chain, text: text.trim() });
  return out;
}

function isCmdDelimiter(c: string): boolean {
  return isBlank(c) || c === ';' || c === ',' || c === '=';
}

/** The arguments cmd.exe's built-ins see in one command: split at unquoted blanks, `;`, `,`, `=`; quotes removed. */
export function cmdArguments(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quoted = false;
  for (const c of text) {
    if (c === '"') {
      quoted = !quoted;
      word ??= '';
    } else if (!quoted && isCmdDelimiter(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}
