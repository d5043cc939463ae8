// npm run test:oracle: hcsshim v0.11.4 as the judge. Every scenario runs twice
// per guest mode — hcsshim's allocateWindowsResources/ReleaseResources under wine
// against a fresh SimulatedHost, then the package against another fresh one with
// the same files, UVM and faults — and the two runs must be equal call for call,
// result for result, snapshot for snapshot, but for the differences (docs/differences.md) the
// scenario declares (each checked to be exactly that difference).
//
// ORACLE_SEED=<n> reproduces a generated set; ORACLE_RUNS=<n> sets its size;
// ORACLE_ONLY=<name or substring> runs those scenarios; ORACLE_DUMP=<dir> writes
// each failing case (scenario, both runs) there as JSON.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareRuns } from './diff';
import { judge, DIFFERENCE_TITLES } from './deliberate';
import { prepare } from './env';
import { generated } from './generate';
import { normaliseRun } from './normalise';
import type { Scenario } from './scenario';
import { runHcsshim, runOurs } from './sides';
import { vectors } from './vectors';

type Mode = 'guest connection' | 'no guest connection';

interface Case {
  scenario: Scenario;
  mode: Mode | 'process isolation';
}

function cases(list: readonly Scenario[], bothModes: boolean, first: number): Case[] {
  return list.flatMap((scenario, i): Case[] => {
    if (scenario.uvm === null) return [{ scenario, mode: 'process isolation' }];
    if (bothModes) return [{ scenario, mode: 'guest connection' }, { scenario, mode: 'no guest connection' }];
    // Generated UVM scenarios alternate between the two modes; a GuestRequest fault
    // only in the mode where the guest part is a call of its own (see normalise.ts).
    const guestFault = (scenario.faults ?? []).some((f) => f.api === 'GuestRequest');
    return [{ scenario, mode: guestFault || (first + i) % 2 === 0 ? 'guest connection' : 'no guest connection' }];
  });
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const seed = process.env.ORACLE_SEED !== undefined ? Number(process.env.ORACLE_SEED) : Date.now() % 2 ** 31;
  const runs = Number(process.env.ORACLE_RUNS ?? 200);
  const only = process.env.ORACLE_ONLY;
  /** A folder for each failing case's scenario and both runs (JSON). */
  const dump = process.env.ORACLE_DUMP;
  const gen = generated(seed, runs);
  let all = [...cases(vectors, true, 0), ...cases(gen, false, 0)];
  if (only !== undefined) {
    const exact = all.filter((c) => c.scenario.name === only);
    all = exact.length > 0 ? exact : all.filter((c) => c.scenario.name.includes(only));
  }
  const { env, close } = await prepare();
  process.stdout.write(`[oracle] seed ${seed} (ORACLE_SEED=${seed} npm run test:oracle reproduces it): ${vectors.length} hand-written scenarios, ${gen.length} generated\n`);
  let passed = 0;
  let failed = 0;
  let calls = 0;
  const modes = new Map<string, number>();
  const accepted = new Map<number, number>();
  try {
    for (const [i, c] of all.entries()) {
      const label = `${c.scenario.name} [${c.mode}]`;
      try {
        const theirs = normaliseRun(await runHcsshim(env, c.scenario, c.mode !== 'no guest connection', i), c.mode === 'no guest connection');
        const ours = normaliseRun(await runOurs(c.scenario), false);
        const cmp = compareRuns(theirs, ours);
        const verdict = judge(c.scenario, theirs, ours, cmp.differences, (a, b) => compareRuns(a, b).differences);
        calls += cmp.calls;
        modes.set(c.mode, (modes.get(c.mode) ?? 0) + 1);
        if (verdict.ok) {
          passed++;
          for (const d of verdict.accepted) accepted.set(d, (accepted.get(d) ?? 0) + 1);
        } else {
          failed++;
          process.stdout.write(`FAIL ${label}${c.scenario.origin ? ` (${c.scenario.origin})` : ''}\n${verdict.problems.map((p) => `    ${p}`).join('\n')}\n`);
          if (dump !== undefined) {
            fs.mkdirSync(dump, { recursive: true });
            const file = path.join(dump, `${label.replace(/[^A-Za-z0-9#-]+/g, '_')}.json`);
            fs.writeFileSync(file, JSON.stringify({ scenario: c.scenario, hcsshim: theirs, ours }, null, 2));
          }
        }
      } catch (err) {
        failed++;
        process.stdout.write(`FAIL ${label}: ${(err as Error).stack ?? String(err)}\n`);
      }
    }
  } finally {
    await close();
  }
  process.stdout.write(`\n[oracle] ${all.length} runs of ${vectors.length + gen.length} scenarios, ${calls} hcsshim calls compared, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`[oracle] guest modes: ${[...modes].map(([m, n]) => `${m} ${n}`).join(', ')}\n`);
  process.stdout.write(`[oracle] accepted differences:${accepted.size === 0 ? ' none' : ''}\n`);
  for (const [d, n] of [...accepted].sort((a, b) => a[0] - b[0])) process.stdout.write(`  DESIGN ${d} (${DIFFERENCE_TITLES[d]}): ${n} runs\n`);
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[oracle] ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
