// Go `path/filepath` semantics for Windows paths, as hcsshim computes them on the
// host (Go 1.21+). Pure string functions, independent of the OS we run on: every
// path this package sends to HCS or the guest is a Windows path, and hcsshim
// derives them with filepath.Join/Clean/Dir/Base/Split (e.g. docs/mounts.md#sandbox-mounts
// sandbox paths, docs/mounts.md#guest-path-of-a-share VSMB guest paths, docs/layers.md#devices-in-a-utility-vm device ids).
//
// Both `\` and `/` are separators; Clean/Join/Dir emit `\`. Volume prefixes follow
// Go's volumeNameLen: `C:`, UNC `\\host\share`, and device paths `\\?\X` / `\\.\X`
// / `\??\X` where X is the first component (`\\?\VMSMB`, `\\?\Volume{…}`,
// `\\.\pipe`), so `..` never climbs out of them.

const SEP = '\\';

function isSlash(c: string | undefined): boolean {
  return c === '\\' || c === '/';
}

function fromSlash(p: string): string {
  return p.replaceAll('/', SEP);
}

/** Go's pathHasPrefixFold: case-insensitive prefix, slashes match either separator, ends at a separator. */
function hasPrefixFold(s: string, prefix: string): boolean {
  if (s.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (isSlash(prefix[i])) {
      if (!isSlash(s[i])) return false;
    } else if (prefix[i]!.toUpperCase() !== s[i]!.toUpperCase()) {
      return false;
    }
  }
  return s.length === prefix.length || isSlash(s[prefix.length]);
}

/** Length of `\\host\share` (prefixLen = where the host starts). */
function uncLen(p: string, prefixLen: number): number {
  let count = 0;
  for (let i = prefixLen; i < p.length; i++) {
    if (isSlash(p[i]) && ++count === 2) return i;
  }
  return p.length;
}

function volumeNameLen(p: string): number {
  if (p.length >= 2 && p[1] === ':') return 2;
  if (p.length === 0 || !isSlash(p[0])) return 0;
  if (hasPrefixFold(p, '\\\\.\\UNC')) return uncLen(p, '\\\\.\\UNC\\'.length);
  if (hasPrefixFold(p, '\\\\.') || hasPrefixFold(p, '\\\\?') || hasPrefixFold(p, '\\??')) {
    if (p.length === 3) return 3;
    // The component after `\\?\` belongs to the volume (Go issue #64028).
    for (let i = 4; i < p.length; i++) {
      if (isSlash(p[i])) return i;
    }
    return p.length;
  }
  if (p.length >= 2 && isSlash(p[1])) return uncLen(p, 2);
  return 0;
}

/** The leading volume name: `C:`, `\\host\share`, `\\?\Volume{…}`; '' when none. */
export function volumeName(p: string): string {
  return fromSlash(p.slice(0, volumeNameLen(p)));
}

/**
 * Go's lazybuf: the output is a prefix of the input until the first difference;
 * Clean's Windows post-processing only applies once it differed.
 */
class LazyBuf {
  buf: string[] | undefined;
  w = 0;
  constructor(private readonly path: string) {}
  index(i: number): string {
    return this.buf ? this.buf[i]! : this.path[i]!;
  }
  append(c: string): void {
    if (!this.buf) {
      if (this.w < this.path.length && this.path[this.w] === c) {
        this.w++;
        return;
      }
      this.buf = this.path.slice(0, this.w).split('');
    }
    this.buf[this.w++] = c;
  }
  string(): string {
    return this.buf ? this.buf.slice(0, this.w).join('') : this.path.slice(0, this.w);
  }
}

/** Go filepath.Clean (Windows): the shortest lexically equivalent path. */
export function clean(original: string): string {
  const volLen = volumeNameLen(original);
  const vol = original.slice(0, volLen);
  const path = original.slice(volLen);
  if (path === '') {
    if (volLen > 1 && isSlash(original[0]) && isSlash(original[1])) return fromSlash(original);
    return original + '.';
  }
  const rooted = isSlash(path[0]);
  const n = path.length;
  const out = new LazyBuf(path);
  let r = 0;
  let dotdot = 0;
  if (rooted) {
    out.append(SEP);
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (isSlash(path[r])) {
      r++;
    } else if (path[r] === '.' && (r + 1 === n || isSlash(path[r + 1]))) {
      r++;
    } else if (path[r] === '.' && path[r + 1] === '.' && (r + 2 === n || isSlash(path[r + 2]))) {
      r += 2;
      if (out.w > dotdot) {
        out.w--;
        while (out.w > dotdot && !isSlash(out.index(out.w))) out.w--;
      } else if (!rooted) {
        if (out.w > 0) out.append(SEP);
        out.append('.');
        out.append('.');
        dotdot = out.w;
      }
    } else {
      if ((rooted && out.w !== 1) || (!rooted && out.w !== 0)) out.append(SEP);
      for (; r < n && !isSlash(path[r]); r++) out.append(path[r]!);
    }
  }
  if (out.w === 0) out.append('.');
  let cleaned = out.string();
  // Go's postClean: never turn a relative path into an absolute or device one
  // (`a/../c:` must not become `c:`, `\a\..\??\c:` must not become `\??\c:`).
  if (volLen === 0 && out.buf) {
    const first = cleaned.split(/[\\/]/, 1)[0]!;
    if (first.includes(':')) cleaned = '.' + SEP + cleaned;
    else if (cleaned.length >= 3 && isSlash(cleaned[0]) && cleaned[1] === '?' && cleaned[2] === '?') cleaned = SEP + '.' + cleaned;
  }
  return fromSlash(vol + cleaned);
}

/** Go filepath.Join (Windows): non-empty parts joined with `\`, then Clean; '' when all are empty. */
export function join(...parts: string[]): string {
  let b = '';
  let last = '';
  for (let e of parts) {
    if (b.length === 0) {
      // first non-empty element unchanged
    } else if (isSlash(last)) {
      // Never create a UNC path (`\\`) out of non-UNC elements.
      while (e.length > 0 && isSlash(e[0])) e = e.slice(1);
      if (b.length === 1 && hasPrefixFold(e, '??')) b += '.' + SEP;
    } else if (last === ':') {
      // `C:` + `f` stays drive-relative: `C:f`.
    } else {
      b += SEP;
      last = SEP;
    }
    if (e.length > 0) {
      b += e;
      last = e[e.length - 1]!;
    }
  }
  return b.length === 0 ? '' : clean(b);
}

/** Go filepath.Dir (Windows): all but the last element, cleaned. */
export function dir(p: string): string {
  const vol = volumeName(p);
  let i = p.length - 1;
  while (i >= vol.length && !isSlash(p[i])) i--;
  const d = clean(p.slice(vol.length, i + 1));
  if (d === '.' && vol.length > 2) return vol; // a UNC or device volume alone
  return vol + d;
}

/** Go filepath.Base (Windows): the last element; `.` for '', `\` for only separators. */
export function base(p: string): string {
  if (p === '') return '.';
  while (p.length > 0 && isSlash(p[p.length - 1])) p = p.slice(0, -1);
  p = p.slice(volumeName(p).length);
  let i = p.length - 1;
  while (i >= 0 && !isSlash(p[i])) i--;
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? SEP : p;
}

/**
 * Go filepath.Split (Windows): `[dir, file]` split after the last separator, with
 * dir + file === p. Like Go, the parts are not cleaned (separators kept as given).
 */
export function split(p: string): [string, string] {
  const vol = volumeName(p);
  let i = p.length - 1;
  while (i >= vol.length && !isSlash(p[i])) i--;
  return [p.slice(0, i + 1), p.slice(i + 1)];
}

/** Go filepath.IsAbs (Windows): a volume followed by a separator, or any UNC/device path. */
export function isAbs(p: string): boolean {
  const l = volumeNameLen(p);
  if (l === 0) return false;
  if (isSlash(p[0]) && isSlash(p[1])) return true;
  const rest = p.slice(l);
  return rest !== '' && isSlash(rest[0]);
}
