// The journal's view of the calls: a Host and a UtilityVm whose state-changing calls are
// recorded in the journal of the current scope (journal.ts) — before the call when it may
// create something (and after it only when it failed), after it, without waiting, when it
// removed something. Without a journal in scope a call costs one lookup. lib/uvm wraps each
// UVM once; allocate wraps the host.

import type { Host, UtilityVm } from '../../host/types';
import { Journal, currentJournal } from './journal';
import { guestEffect, isCounted, keyOf, modifyEffect, serviceEffect, type Effect, type Undo } from './undo';

async function record<T>(effect: Effect | undefined, call: () => Promise<T>): Promise<T> {
  const journal = currentJournal();
  if (effect === undefined || (journal === undefined && effect.kind !== 'remove')) return call();
  // After the call, its outcome is what happened whatever the disk says: a record that
  // cannot be written is reported (Journal.noteFailure), never turned into a failed call.
  const note = (j: Journal, p: Promise<void>): Promise<void> => p.catch((err: unknown) => j.noteFailure(err));
  if (effect.kind === 'remove') {
    const value = await call();
    const undo = effect.undo;
    // A counted resource (an activation) is one less for this container only; anything else is gone for every journal naming it.
    const others = isCounted(undo) ? [] : Journal.othersNaming(keyOf(undo), journal);
    // Nobody waits for these records (README.md rule 1); a journal removed meanwhile does.
    for (const j of journal === undefined ? others : [journal, ...others]) void note(j, j.removed(undo));
    return value;
  }
  if (journal === undefined) return call();
  const n = await journal.acquire(effect.undo);
  try {
    return await call();
  } catch (err) {
    await note(journal, journal.failed(n, effect.undo));
    throw err;
  }
}

/** Per method: the effect of a call with these arguments (same parameters as the method). */
type Effects<T> = {
  [K in keyof T]?: T[K] extends (...args: infer A) => Promise<unknown> ? (...args: A) => Effect | undefined : never;
};

function intercept<T extends object>(target: T, effects: Effects<T>): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      const effectOf = effects[prop as keyof T] as ((...args: unknown[]) => Effect | undefined) | undefined;
      if (effectOf === undefined || typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => record(effectOf(...args), () => method.apply(obj, args));
    },
  });
}

/** A UtilityVm whose HcsModifyComputeSystem and guest requests are journaled. */
export function journalUtilityVm(uvm: UtilityVm): UtilityVm {
  return intercept<UtilityVm>(uvm, {
    modify: (req) => modifyEffect(uvm.id, req),
    guestRequest: (req) => guestEffect(uvm.id, req),
  });
}

/** A Host whose layer activation/preparation, CIM mount, overlay filter and CCG instance calls are journaled. */
export function journalHost(host: Host): Host {
  return intercept<Host>(host, {
    activateLayer: (path) => ({ kind: 'acquire', undo: { op: 'layer.deactivate', path } }),
    deactivateLayer: (path) => ({ kind: 'remove', undo: { op: 'layer.deactivate', path } }),
    prepareLayer: (path) => ({ kind: 'acquire', undo: { op: 'layer.unprepare', path } }),
    unprepareLayer: (path) => ({ kind: 'remove', undo: { op: 'layer.unprepare', path } }),
    modifyServiceSettings: (req) => serviceEffect(req),
    cimMountImage: (_image, _name, _flags, volumeGuid) => ({ kind: 'acquire', undo: { op: 'cim.dismount', volumeGuid } }),
    cimDismountImage: (volumeGuid) => ({ kind: 'remove', undo: { op: 'cim.dismount', volumeGuid } }),
    attachOverlayFilter: (volumePath) => ({ kind: 'acquire', undo: { op: 'overlay.detach', volumePath } }),
    detachOverlayFilter: (volumePath) => ({ kind: 'remove', undo: { op: 'overlay.detach', volumePath } }),
  });
}

// A reference taken or dropped without an HCS call (lib/uvm's refcounted entries). Container
// B reusing a share A's call created must be able to undo it after A released its reference.

/**
 * Record that the current container holds one more reference to `undos` (undo.ts
 * handleUndos). Every write is queued before this returns its promise, so a journal removed
 * meanwhile (after the creator's release) waits for them (Journal.remove).
 */
export async function holdReference(undos: readonly Undo[]): Promise<void> {
  const journal = currentJournal();
  if (journal === undefined) return;
  await Promise.all(undos.map((u) => journal.acquire(u)));
}

/**
 * Record that the current container gave up one reference to `undos` (the entry stays for
 * its other holders). Resolves at once: nobody waits for the record (README.md rule 1).
 */
export async function dropReference(undos: readonly Undo[]): Promise<void> {
  const journal = currentJournal();
  if (journal === undefined) return;
  for (const u of undos) void journal.dropped(u).catch((err: unknown) => journal.noteFailure(err));
}
