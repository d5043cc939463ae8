// Deterministic GUIDs for the simulated host. Real HCS hands out random or
// unknown-algorithm GUIDs (volume GUIDs, vmcompute NameToGuid, CCG service ids);
// the model derives them from names so that a test can predict every value and a
// second process over the same state sees the same ones.

import { uuidV5 } from '../uuid';

/** A fixed namespace, chosen for this model, of every GUID it derives. */
const MODEL_NAMESPACE = 'a6c3f0d2-5e6b-5b8e-9a7c-1f4d2e3b4c5d';

/** A GUID as HCS and the GCS write it: lower or upper case, no braces. */
export const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Every cycle asks again for the GUIDs of the same names (layer volumes, NameToGuid
 * of each layer): hashing them each time was a visible share of the model's cost.
 * Bounded, since a runtime's fresh scratch folders are new names each time.
 */
const derived = new Map<string, string>();
const DERIVED_MAX = 4096;

/** A GUID derived from `purpose` parts, stable across processes. */
export function derivedGuid(...purpose: string[]): string {
  const name = purpose.join('\u0000');
  let guid = derived.get(name);
  if (guid === undefined) {
    if (derived.size >= DERIVED_MAX) derived.clear();
    guid = uuidV5(MODEL_NAMESPACE, name);
    derived.set(name, guid);
  }
  return guid;
}

// vmcompute NameToGuid pairs recorded in hcsshim's sample documents
// (docs/layers.md#nametoguid-pairs). The real algorithm is not known (docs/layers.md#creating-the-scratch:
// it is not a plain RFC 4122 v5 hash with any standard namespace), so every
// other name gets a stable v5 GUID in the model's own namespace.
const KNOWN_NAME_TO_GUID: Readonly<Record<string, string>> = {
  f30368666ce4457e86fe12867506e508071d89e7eae615fc389c64f2e37ce54e: '6ba9cac1-7086-5ee9-a197-c465d3f50ad7',
  '7a6ad2b849a9d29e6648d9950c1975b0f614a63b5fe2803009ce131745abcc62': '300b3ac0-b603-5367-9494-afec045dd369',
  '5d1332fe416f7932c344ce9c536402a6fc6d0bfcdf7a74f67cc67b8cfc66ab41': 'fa3057d9-0d4b-54c0-b2d5-34b7afc78f91',
  b95977ad18f8fa04e517daa2e814f73d69bfff55c3ea68d56f2b0b8ae23a235d: '23284a2c-cdda-582a-a175-a196211b03cb',
  b2a444ff0e984ef282d6a8e24fa0108e76b6807d943e111a0e878c1c53ed8246: 'e0233918-d93f-5b08-839e-0cbeda79b68b',
  de6b1a908240cca2aef34f49994e7d4e25a8e157a2cef3b6d6cf2d8e6400bfc2: '02740e08-d1d3-5715-9c08-c255eab4ca01',
  f9b22d909166dd54b870eb699d54f4cf36d99f035ffd7701aff1267230aefd1e: '7095521e-b79e-50fc-bafb-958d85400362',
};

/** The simulated vmcompute NameToGuid: the pairs of docs/layers.md#nametoguid-pairs, else a v5 GUID of the name. */
export function simulatedNameToGuid(name: string): string {
  return KNOWN_NAME_TO_GUID[name] ?? derivedGuid('NameToGuid', name);
}
