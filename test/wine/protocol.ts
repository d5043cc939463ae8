// The wire format between the stand-in HCS DLLs (standins/forward.c) and the
// test server, also used by the wine-side suite's control client: u32 field
// count, then per field u32 length + UTF-8 bytes, little-endian. A reply's first
// field is the HRESULT in decimal.

import * as net from 'node:net';

export function encodeFrame(fields: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeUInt32LE(fields.length);
  parts.push(head);
  for (const f of fields) {
    const body = Buffer.from(f, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length);
    parts.push(len, body);
  }
  return Buffer.concat(parts);
}

/** The first complete frame in `buf`, and how many bytes it took; undefined while incomplete. */
export function decodeFrame(buf: Buffer): { fields: string[]; size: number } | undefined {
  if (buf.length < 4) return undefined;
  const count = buf.readUInt32LE(0);
  let off = 4;
  const fields: string[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.length < off + 4) return undefined;
    const n = buf.readUInt32LE(off);
    if (buf.length < off + 4 + n) return undefined;
    fields.push(buf.subarray(off + 4, off + 4 + n).toString('utf8'));
    off += 4 + n;
  }
  return { fields, size: off };
}

/** One request, one reply, one connection (what the stand-ins do). */
export function request(port: number, fields: readonly string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    socket.on('connect', () => socket.write(encodeFrame(fields)));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const frame = decodeFrame(buf);
      if (frame !== undefined) {
        resolve(frame.fields);
        socket.end();
      }
    });
    socket.on('error', reject);
  });
}

/** JSON with bigint (ExpandSandboxSize's size) kept as `{"$bigint":"…"}`. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && typeof (v as { $bigint?: unknown }).$bigint === 'string'
      ? BigInt((v as { $bigint: string }).$bigint)
      : v,
  ) as T;
}
