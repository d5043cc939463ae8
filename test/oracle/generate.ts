import type { Scenario } from './scenario';

export function generated(seed: number, runs: number): Scenario[] {
  void seed;
  void runs;
  return [];
}
