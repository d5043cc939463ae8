// The other processes of the kill tests (kill.test.ts), against a persistent SimulatedHost:
//   allocate <root> <stateDir> <journal> <scenario>  allocate and release the scenario's container
//                                                    in a loop until killed; "started" once going
//   hold <root> <stateDir> <journal>                  allocate the live containers, "ready", then idle
//   recover <root> <stateDir> <journal>               recover(), the report's outline as JSON
import { SimulatedHost } from '../../lib/host/simulated';
import { recover } from '../../lib/recover';
import { LIVE, allocate, finish, SCENARIOS, type Stage } from './scenarios';

async function main(): Promise<void> {
  const [mode, root, stateDir, journal, which] = process.argv.slice(2) as [string, string, string, string, string | undefined];
  const latency = { hostCallMs: 1, guestRequestMs: 1 };
  const host = new SimulatedHost({ root, stateDir, latency });
  if (mode === 'recover') {
    const report = await recover({ dir: journal, host });
    const outline = {
      journals: report.journals.map((j) => j.status),
      undone: report.undone.length,
      keptForLive: report.keptForLive.length,
      errors: report.errors.map((e) => e.message),
    };
    process.stdout.write(JSON.stringify(outline) + '\n');
    return;
  }
  if (mode === 'hold') {
    for (const s of LIVE) {
      const uvm = s.uvm === undefined ? undefined : await host.openUtilityVm(s.uvm.id);
      await allocate(host, uvm, s.container, { journal });
    }
    process.stdout.write('ready\n');
    setInterval(() => undefined, 1 << 30);
    return;
  }
  const s = SCENARIOS[Number(which)]!;
  const st: Stage = { uvm: s.uvm === undefined ? undefined : await host.openUtilityVm(s.uvm.id), kept: [] };
  process.stdout.write('started\n');
  for (;;) await finish(host, s, st, await allocate(host, st.uvm, s.container, { journal }), journal);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
