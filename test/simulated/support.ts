// Shared set-up of the simulated-host tests: a fresh root with the files a
// scenario needs (Windows paths, created as real files under <root>/<drive>/…).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SCSI_CONTROLLER_GUIDS, VSMB_SHARE_PREFIX } from '../../lib/hcs/constants';
import { SimulatedHost, type SimulatedHostOptions } from '../../lib/host/simulated';

export const CONTROLLER = SCSI_CONTROLLER_GUIDS[0];
export const SHARES = 'VirtualMachine/Devices/VirtualSmb/Shares';

export function scsiPath(lun: number, controller: string = CONTROLLER): string {
  return `VirtualMachine/Devices/Scsi/${controller}/Attachments/${lun}`;
}

export function shareGuestPath(name: string): string {
  return VSMB_SHARE_PREFIX + name;
}

export function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-sim-'));
}

/** The real path of a `C:\…` path under `root`. */
export function real(root: string, winPath: string): string {
  return path.join(root, winPath[0]!.toUpperCase(), ...winPath.slice(3).split('\\'));
}

export function makeDir(root: string, winPath: string): void {
  fs.mkdirSync(real(root, winPath), { recursive: true });
}

export function makeFile(root: string, winPath: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(real(root, winPath)), { recursive: true });
  fs.writeFileSync(real(root, winPath), content);
}

export function newHost(options: Partial<SimulatedHostOptions> = {}): SimulatedHost {
  return new SimulatedHost({ root: tempRoot(), stateDir: false, ...options });
}

/** Expect `promise` to reject; returns the error. */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}
