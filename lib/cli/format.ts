// Human-readable output: aligned tables, sizes and durations. Plain text with no
// colour codes, so that output piped into a file or a test reads the same.

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

/** Rows aligned under their headers, columns separated by two spaces, no trailing blanks. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const w = widths[i] as number;
        return c.align === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}

/** `key: value` lines with the values aligned. */
export function fields(entries: readonly (readonly [string, string])[]): string {
  const w = Math.max(0, ...entries.map(([k]) => k.length)) + 1;
  return entries.map(([k, v]) => `${(k + ':').padEnd(w)} ${v}`.trimEnd()).join('\n') + '\n';
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Binary size, e.g. `1 GiB`, `1.5 MiB`, `512 B`. */
export function formatBytes(n: number | bigint): string {
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 || Number.isInteger(v) ? 0 : v < 10 ? 2 : 1;
  return `${v.toFixed(digits)} ${UNITS[u]}`;
}

/** Milliseconds with a precision that suits the magnitude: `0.042`, `3.21`, `1250`. */
export function formatMs(ms: number): string {
  if (ms < 1) return ms.toFixed(3);
  if (ms < 100) return ms.toFixed(2);
  return ms.toFixed(0);
}

/** A command line to paste into a POSIX shell: words with anything but safe characters single-quoted. */
export function commandLine(words: readonly string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
