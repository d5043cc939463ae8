// VSMB shares of a WCOW UVM — v0.11.4 internal/uvm/vsmb.go (docs/mounts.md#vsmb-shares). A share maps a host
// directory into the UVM; a single file is mapped as its directory restricted to an
// AllowedFiles list. Shares are refcounted per (directory or file map, clean directory,
// readOnly) and named `s<hex counter>`; the counter is shared with the image layers' shares.

import { InvalidArgumentError, NotFoundError, WritableShareDeniedError, wrap } from '../errors';
import { VSMB_SHARE_PREFIX } from '../hcs/constants';
import { vsmbShareAdd, vsmbShareRemove } from '../hcs/documents';
import type { ModifySettingRequest, VirtualSmbShare, VirtualSmbShareOptions } from '../hcs/schema';
import type { HostStat } from '../host/types';
import * as winpath from '../host/winpath';
import type { ResourceRecord } from '../resources/closer';
import { dropReference } from '../resources/journal/decorate';
import type { UvmBackend } from './backend';
import { Hold, RefHandle } from './handle';
import { Lanes } from './lanes';

/** One share in the UVM, shared by every add with the same key (internal to lib/uvm). */
export interface VsmbEntry {
  readonly name: string;
  /** `\\?\VMSMB\VSMB-{dcc079ae-…}\s3` */
  readonly guestPath: string;
  /** The clean host directory. */
  readonly hostPath: string;
  /** Which map the share lives in — what v0.11.4 forgot at release (docs/mounts.md#removing-a-share). */
  readonly isDirShare: boolean;
  readonly key: string;
  allowedFiles: string[];
  refCount: number;
  /** The last adder's options (vsmb.go:226-229). */
  options: VirtualSmbShareOptions;
}

export interface VsmbRefcount {
  name: string;
  hostPath: string;
  readOnly: boolean;
  isDirShare: boolean;
  allowedFiles: string[];
  refCount: number;
}

/**
 * Go's os.Stat of a missing path (docs/mounts.md#adding-a-share step 4, V19; the wording is hcsshim's Go
 * PathError). Host.stat reports absence as undefined, so the text is made here.
 */
export async function statHostPath(vm: UvmBackend, hostPath: string, op: string): Promise<HostStat> {
  const st = await vm.host.stat(hostPath);
  if (st === undefined) throw hostPathNotFound(hostPath, op);
  return st;
}

/** The error statHostPath throws for a missing path (also raised early by lib/preflight). */
export function hostPathNotFound(hostPath: string, op: string): NotFoundError {
  return new NotFoundError(`GetFileAttributesEx ${hostPath}: The system cannot find the file specified.`, { op, resource: hostPath });
}

/** getVSMBShareKey (vsmb.go:310-312): `C:\data\ro-true`. */
function shareKey(dir: string, readOnly: boolean): string {
  return `${dir}-${readOnly}`;
}

/**
 * `%+v` of the *hcsschema.ModifySettingRequest hcsshim puts into its remove error
 * (vsmb.go:268-270): `&{ResourcePath:… RequestType:Remove Settings:{Name:s3 Path: AllowedFiles:[] Options:<nil>} GuestRequest:<nil>}`.
 */
function goFormatRemove(doc: ModifySettingRequest<VirtualSmbShare>): string {
  const s = doc.Settings ?? {};
  const settings = `{Name:${s.Name ?? ''} Path:${s.Path ?? ''} AllowedFiles:[${(s.AllowedFiles ?? []).join(' ')}] Options:<nil>}`;
  return `&{ResourcePath:${doc.ResourcePath ?? ''} RequestType:${doc.RequestType ?? ''} Settings:${settings} GuestRequest:<nil>}`;
}

export class VsmbManager {
  readonly #vm: UvmBackend;
  readonly #noWritableFileShares: () => boolean;
  /** vsmbDirShares / vsmbFileShares (types.go:78-80). */
  readonly #dirShares = new Map<string, VsmbEntry>();
  readonly #fileShares = new Map<string, VsmbEntry>();
  readonly #lanes = new Lanes();
  /** vsmbCounter: advanced for every new key, also when its Add then fails; never reused. */
  #counter = 0;

  constructor(vm: UvmBackend, noWritableFileShares: () => boolean) {
    this.#vm = vm;
    this.#noWritableFileShares = noWritableFileShares;
  }

  get uvmId(): string {
    return this.#vm.id;
  }

  /** AddVSMB (vsmb.go:141-232), step for step. `options` is not mutated (hcsshim mutates it). */
  async add(hostPath: string, options: VirtualSmbShareOptions): Promise<VsmbShare> {
    // Before anything else: no stat, no counter (docs/mounts.md#adding-a-share step 2, V16).
    if (options.ReadOnly !== true && this.#noWritableFileShares()) {
      throw new WritableShareDeniedError(undefined, { op: 'vsmb.add', resource: hostPath });
    }
    const st = await statHostPath(this.#vm, hostPath, 'vsmb.add');
    const isDirShare = st.isDirectory;
    // A file maps its directory, restricted to the files added so far (step 5).
    const file = isDirShare ? '' : hostPath;
    const dir = winpath.clean(isDirShare ? hostPath : winpath.dir(hostPath));
    const flags: VirtualSmbShareOptions = isDirShare ? { ...options } : { ...options, RestrictFileAccess: true, SingleFileMapping: true };
    // forceNoDirectMap (step 7, builds 18362-19042 only) needs a FileIdInfo query the Host
    // interface does not offer; on those builds pass NoDirectmap in the options instead.
    const key = shareKey(dir, flags.ReadOnly === true);
    const map = this.#map(isDirShare);
    const hold = new Hold();
    const share = await this.#lanes.run(this.#laneKey(isDirShare, key), async () => {
      let entry = map.get(key);
      let requestType: 'Add' | 'Update' = 'Update';
      if (entry === undefined) {
        requestType = 'Add';
        const name = 's' + (++this.#counter).toString(16);
        entry = { name, guestPath: VSMB_SHARE_PREFIX + name, hostPath: dir, isDirShare, key, allowedFiles: [], refCount: 0, options: flags };
      }
      // Cumulative, full host paths, no de-duplication (step 9).
      const allowedFiles = flags.RestrictFileAccess === true ? [...entry.allowedFiles, file] : entry.allowedFiles;
      // Re-adding a directory share sends nothing; a file share grows through Update (step 10).
      if (requestType === 'Add' || flags.RestrictFileAccess === true) {
        // Errors unwrapped, as hcsshim returns them; a failed Add stores nothing (the
        // counter stays advanced), a failed Update keeps the old list.
        await this.#vm.modify(vsmbShareAdd({ name: entry.name, path: dir, allowedFiles, options: flags }, requestType));
      }
      entry.allowedFiles = allowedFiles;
      entry.refCount++;
      entry.options = flags;
      map.set(key, entry);
      const added = new VsmbShare(this, entry);
      if (requestType === 'Update') await hold.record(added);
      return added;
    });
    await hold.settle(share);
    return share;
  }

  /** GetVSMBUvmPath (vsmb.go:279-304; docs/mounts.md#guest-path-of-a-share). */
  async uvmPath(hostPath: string, readOnly: boolean): Promise<string> {
    if (hostPath === '') throw new InvalidArgumentError('no hostPath passed to GetVSMBUvmPath', { op: 'vsmb.uvmPath' });
    const st = await statHostPath(this.#vm, hostPath, 'vsmb.uvmPath');
    const [dir, file] = st.isDirectory ? [hostPath, ''] : winpath.split(hostPath);
    const entry = this.#map(st.isDirectory).get(shareKey(winpath.clean(dir), readOnly));
    if (entry === undefined) throw new NotFoundError('not attached', { op: 'vsmb.uvmPath', resource: hostPath });
    return winpath.join(entry.guestPath, file);
  }

  /**
   * RemoveVSMB (vsmb.go:236-276) for one share handle: re-stat the host path (a deleted
   * directory fails the release and removes nothing), count down, Remove at 0. A failed
   * Remove keeps the share (refcount 0): a later add of its key reuses it without an Add,
   * and the handle's next release retries the Remove.
   */
  remove(entry: VsmbEntry, countDown: () => boolean): Promise<void> {
    return this.#lanes.run(this.#laneKey(entry.isDirShare, entry.key), async () => {
      await statHostPath(this.#vm, entry.hostPath, 'vsmb.remove');
      const counted = countDown();
      if (counted) entry.refCount--;
      const map = this.#map(entry.isDirShare);
      if (entry.refCount > 0 || map.get(entry.key) !== entry) {
        if (counted) await dropReference([{ op: 'vsmb.remove', uvmId: this.#vm.id, name: entry.name }]);
        return;
      }
      const doc = vsmbShareRemove(entry.name);
      try {
        await this.#vm.modify(doc);
      } catch (err) {
        throw wrap(err, `failed to remove vsmb share ${entry.hostPath} from ${this.#vm.id}: ${goFormatRemove(doc)}`, {
          op: 'vsmb.remove',
          resource: entry.name,
        });
      }
      map.delete(entry.key);
    });
  }

  /** `from`'s shares and name counter, for a rehearsal of its UVM (lib/plan). */
  copyFrom(from: VsmbManager): void {
    for (const [map, own] of [
      [from.#dirShares, this.#dirShares],
      [from.#fileShares, this.#fileShares],
    ] as const) {
      for (const [key, e] of map) own.set(key, { ...e, allowedFiles: [...e.allowedFiles], options: { ...e.options } });
    }
    this.#counter = from.#counter;
  }

  refcounts(): VsmbRefcount[] {
    return [...this.#dirShares.values(), ...this.#fileShares.values()].map((e) => ({
      name: e.name,
      hostPath: e.hostPath,
      readOnly: e.options.ReadOnly === true,
      isDirShare: e.isDirShare,
      allowedFiles: [...e.allowedFiles],
      refCount: e.refCount,
    }));
  }

  #map(isDirShare: boolean): Map<string, VsmbEntry> {
    return isDirShare ? this.#dirShares : this.#fileShares;
  }

  #laneKey(isDirShare: boolean, key: string): string {
    return (isDirShare ? 'dir:' : 'file:') + key;
  }
}

/** What one AddVSMB returned (hcsshim's *VSMBShare; one per caller here so release is once-only). */
export class VsmbShare extends RefHandle<VsmbEntry> {
  readonly kind = 'vsmb';
  readonly #manager: VsmbManager;

  constructor(manager: VsmbManager, entry: VsmbEntry) {
    super(entry);
    this.#manager = manager;
  }

  get name(): string {
    return this.entry.name;
  }
  /** The share's host directory (the parent directory for a single-file share). */
  get hostPath(): string {
    return this.entry.hostPath;
  }
  get guestPath(): string {
    return this.entry.guestPath;
  }
  get isDirShare(): boolean {
    return this.entry.isDirShare;
  }
  get readOnly(): boolean {
    return this.entry.options.ReadOnly === true;
  }

  describe(): ResourceRecord {
    const e = this.entry;
    return {
      kind: this.kind,
      uvmId: this.#manager.uvmId,
      name: e.name,
      hostPath: e.hostPath,
      readOnly: e.options.ReadOnly === true,
      isDirShare: e.isDirShare,
    };
  }

  /**
   * VSMBShare.Release: `failed to remove VSMB share: <e>`.
   *
   * docs/differences.md#difference-3 (docs/mounts.md#removing-a-share): v0.11.4 releases a single-file share by its parent
   * directory, finds it in the directory map instead of the file map, and fails with
   * `<dir> is not present as a VSMB share in <uvm>, cannot remove` — or decrements an
   * unrelated directory share of the same directory. The handle here keeps its own entry
   * (map and key, hcsshim v0.12's isDirShare fix), so file shares are removed.
   */
  protected async releaseReference(countDown: () => boolean): Promise<void> {
    try {
      await this.#manager.remove(this.entry, countDown);
    } catch (err) {
      throw wrap(err, 'failed to remove VSMB share', { op: 'vsmb.release' });
    }
  }
}
