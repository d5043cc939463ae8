// The CommandLine of guest processes, built as hcsshim builds it: each argument
// through golang.org/x/sys/windows EscapeArg, joined by spaces (internal/cmd/cmd.go:100-106;
// docs/mounts.md#sandbox-mounts step 3). EscapeArg quotes for CommandLineToArgvW only: cmd.exe
// metacharacters pass through unescaped, which is why `cmd /c mkdir P & dir P`
// works and why sandbox paths are screened in lib/mounts/classify.ts (docs/differences.md#difference-6, docs/differences.md#difference-10).

/**
 * windows.EscapeArg: `""` for an empty argument; an argument with a space or tab is
 * wrapped in quotes, with the backslashes before the closing quote doubled; an
 * embedded `"` becomes `\"` with the backslashes before it doubled; anything else
 * is returned unchanged.
 */
export function escapeArg(arg: string): string {
  if (arg.length === 0) return '""';
  const hasSpace = /[ \t]/.test(arg);
  if (!hasSpace && !arg.includes('"')) return arg;
  let out = hasSpace ? '"' : '';
  let slashes = 0;
  for (const c of arg) {
    if (c === '\\') {
      slashes++;
    } else {
      if (c === '"') out += '\\'.repeat(slashes + 1);
      slashes = 0;
    }
    out += c;
  }
  return hasSpace ? out + '\\'.repeat(slashes) + '"' : out;
}

/** The CommandLine of a process started with argv `args`. */
export function makeCommandLine(args: readonly string[]): string {
  return args.map(escapeArg).join(' ');
}
