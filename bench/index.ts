// `npm run bench`: runs every benchmark module listed here, one after the
// other (they would disturb each other's timings in parallel), and prints one table.
import { benchVhdx } from './vhdx';
import { benchAllocation } from './allocation';
import { benchJournal } from './journal';
import { printTable, type BenchRow } from './table';

const benchmarks: Array<() => Promise<BenchRow[]>> = [benchVhdx, benchAllocation, benchJournal];

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const bench of benchmarks) rows.push(...(await bench()));
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
