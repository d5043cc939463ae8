// The killed process of cimfs-kill.test.ts: against a persistent SimulatedHost, allocate
// the P7 CimFS container with a journal and release it, in a loop until killed;
// "started" once the first cycle is done.
//   node cimfs-child.js <root> <stateDir> <journal>
import { allocateWindowsResources } from '../../lib/allocate';
import { SimulatedHost } from '../../lib/host/simulated';
import { P7 } from './cimfs-fixtures';

async function main(): Promise<void> {
  const [root, stateDir, journal] = process.argv.slice(2) as [string, string, string];
  const host = new SimulatedHost({ root, stateDir, latency: { hostCallMs: 5 } });
  // "started" after the first cycle: the kills land in the steady loop, not in module loading.
  for (let cycle = 0; ; cycle++) {
    const a = await allocateWindowsResources({ id: 'c1', spec: {}, rootfs: [P7], host, journal });
    await a.resources.release({ all: true });
    if (cycle === 0) process.stdout.write('started\n');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
