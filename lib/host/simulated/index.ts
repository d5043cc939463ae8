// The simulated HCS host (see README.md).
export { SimulatedHost, type SimulatedHostOptions } from './host';
export { DEFAULT_MAX_CALLS, STATE_CHANGING_APIS, type FaultHandle, type FaultSpec, type SimulatedCall } from './calls';
export type { LatencyOptions } from './core';
export type { HostSnapshot, ScsiSnapshot, UvmSnapshot } from './snapshot';
export type { HostState } from './state';
