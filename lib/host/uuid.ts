// RFC 4122 version-5 GUIDs (SHA-1 of namespace bytes and name), as go-winio's guid.NewV5
// computes them (hcsshim main derives the CIM volume GUID this way, internal/wclayer/cim/mount.go:27);
// the simulated host derives its own GUIDs with it too.

import { createHash } from 'node:crypto';

function bytesOf(guid: string): Buffer {
  return Buffer.from(guid.replaceAll('-', ''), 'hex');
}

function format(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** RFC 4122 version-5 GUID of `name` (UTF-8) in `namespace`; lower-case, no braces. */
export function uuidV5(namespace: string, name: string): string {
  const digest = createHash('sha1').update(bytesOf(namespace)).update(name, 'utf8').digest();
  const b = digest.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return format(b);
}
