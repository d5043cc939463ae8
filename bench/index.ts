// `npm run bench`: runs every benchmark module listed here, one after the
// other (they would disturb each other's timings in parallel), and prints one table.
// `npm run bench -- allocation` (any of the names below) runs only those modules.
import { benchVhdx } from './vhdx';
import { benchAllocation } from './allocation';
import { benchJournal } from './journal';
import { printTable, type BenchRow } from './table';

const benchmarks: Record<string, () => Promise<BenchRow[]>> = { vhdx: benchVhdx, allocation: benchAllocation, journal: benchJournal };

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !Object.hasOwn(benchmarks, n));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}`);
  const rows: BenchRow[] = [];
  for (const [name, bench] of Object.entries(benchmarks)) if (names.length === 0 || names.includes(name)) rows.push(...(await bench()));
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
