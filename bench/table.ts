// The one row shape every benchmark module returns, and the table they share.
// Every row says its unit the same way (`ms`, `x` for ratios, `B`, `calls`) and,
// when it has a target, the target in that unit and whether this run met it.

export interface Target {
  op: '<=' | '>=';
  value: number;
}

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
  target?: Target;
}

/** Ratios are written `x` everywhere (one module once wrote `×`). */
function unit(u: string): string {
  return u === '×' ? 'x' : u;
}

function format(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(1) : value.toFixed(3);
}

function targetMet(value: number, t: Target): boolean {
  return t.op === '<=' ? value <= t.value : value >= t.value;
}

function targetCells(r: BenchRow): [string, string] {
  if (r.target === undefined) return ['', ''];
  return [`${r.target.op === '<=' ? '≤' : '≥'} ${r.target.value} ${unit(r.unit)}`, targetMet(r.value, r.target) ? 'yes' : 'NO'];
}

/** Prints rows as one aligned table (name, value right-aligned, unit, target, met, note). */
export function printTable(rows: readonly BenchRow[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  const cells = rows.map((r) => [r.name, format(r.value), unit(r.unit), ...targetCells(r), r.note ?? '']);
  const header = ['benchmark', 'value', 'unit', 'target', 'met', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : i === c.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
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
