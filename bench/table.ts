// The one row shape every benchmark module returns, and the table they share.

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

function format(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(1) : value.toFixed(3);
}

/** Prints rows as one aligned table (name, value right-aligned, unit, note). */
export function printTable(rows: readonly BenchRow[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  const cells = rows.map((r) => [r.name, format(r.value), r.unit, r.note ?? '']);
  const header = ['benchmark', 'value', 'unit', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    [c[0]!.padEnd(widths[0]!), c[1]!.padStart(widths[1]!), c[2]!.padEnd(widths[2]!), c[3]!].join('  ').trimEnd();
  out(line(header));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) out(line(c));
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
