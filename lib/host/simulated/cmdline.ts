// How the guest parses the command lines it is given (hcsshim sends one
// CommandLine string, each argument `windows.EscapeArg`'d and joined with spaces —
// mounts.md §3.2 step 3, layers-scratch-ccg-devices.md §5.2/§6.2):
// - a process's argv: CommandLineToArgvW rules;
// - `cmd /c <rest>`: cmd.exe takes <rest> verbatim and splits it into commands at
//   unquoted `&`, `&&`, `||` (so a `&` in an unquoted path is a command separator —
//   the injection surface of mounts.md §3.2).

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

export type Chain = '&' | '&&' | '||';

export interface CmdCommand {
  /** How this command joins the previous one (`&` for the first). */
  chain: Chain;
  text: string;
}

/** cmd.exe's split of a `/c` command string into commands (outside quotes; `^` escapes). */
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
    if (!quoted && (c === '&' || pair === '||')) {
      out.push({ chain, text: text.trim() });
      chain = pair === '&&' ? '&&' : pair === '||' ? '||' : '&';
      if (chain !== '&') i++;
      text = '';
      continue;
    }
    text += c;
  }
  out.push({ chain, text: text.trim() });
  return out;
}
