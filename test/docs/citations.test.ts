// Issue 13 point 5: every citation in the sources points at something a maintainer can open.
// Comments cite hcsshim v0.11.4 `file.go:line` or a page of docs/; the reference notes the
// project started from live outside the repository, so naming them (or their § numbers) is
// refused, and every `docs/<page>.md#<anchor>` must be a heading of that page as GitHub
// slugs it. docs/README.md says how the pages are organised.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

// dist/test/docs → the checkout.
const REPO = path.resolve(__dirname, '..', '..', '..');
const SCANNED = ['lib', 'native', 'test', 'bench', 'scripts'];
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|cc|cpp|c|h|hpp|md|sh)$/;
const SELF = 'test/docs/citations.test.ts';

/** Old citation forms, with the files allowed to keep one (a run-time path, not a citation). */
const FORBIDDEN: { what: string; re: RegExp; allowed?: string[] }[] = [
  { what: 'a § section of a note outside the repository', re: /§/ },
  { what: 'mounts.md outside docs/', re: /(?<!docs\/)\bmounts\.md\b/ },
  { what: 'layers §', re: /\blayers §/ },
  { what: 'mounts §', re: /\bmounts §/ },
  { what: 'the layers/rootfs/toolchain notes', re: /layers-scratch|rootfs-cimfs-main|native-toolchain\.md/ },
  { what: 'reference/', re: /reference\// },
  { what: '../shared/', re: /\.\.\/shared\//, allowed: ['test/oracle/env.ts'] },
  { what: 'DESIGN.md or STYLE.md', re: /DESIGN\.md|STYLE\.md|DESIGN differences?\b|\bDESIGN \d/ },
];

function* files(dir: string): Generator<string> {
  for (const e of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) yield* files(rel);
    else if (TEXT.test(e.name) && rel !== SELF) yield rel;
  }
}

/** GitHub's heading anchors: inline markup dropped, lower case, punctuation removed, each blank a hyphen, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m === null) continue;
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

const anchorsOf = new Map<string, Set<string> | null>();
function pageAnchors(page: string): Set<string> | null {
  if (!anchorsOf.has(page)) {
    const file = path.join(REPO, 'docs', page);
    anchorsOf.set(page, fs.existsSync(file) ? headingAnchors(fs.readFileSync(file, 'utf8')) : null);
  }
  return anchorsOf.get(page)!;
}

/** `where` cites docs/<page>[#anchor]: the problem, if any. */
function check(page: string, anchor: string | undefined): string | undefined {
  const anchors = pageAnchors(page);
  if (anchors === null) return `docs/${page} does not exist`;
  if (anchor !== undefined && !anchors.has(anchor)) return `docs/${page} has no heading #${anchor}`;
  return undefined;
}

describe('citations (issue 13.5)', () => {
  const sources = SCANNED.flatMap((d) => [...files(d)]);

  it('scans the sources', () => {
    assert.ok(sources.length > 100, `only ${sources.length} files found under ${REPO}`);
    assert.ok(sources.includes('lib/allocate.ts'));
  });

  it('no file cites a note outside the repository', () => {
    const problems: string[] = [];
    for (const file of sources) {
      const lines = fs.readFileSync(path.join(REPO, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const f of FORBIDDEN) {
          if (f.re.test(line) && !(f.allowed ?? []).includes(file)) problems.push(`${file}:${i + 1}: ${f.what}: ${line.trim()}`);
        }
      });
    }
    assert.deepEqual(problems, [], `cite docs/<page>.md#<anchor> or hcsshim v0.11.4 file.go:line instead:\n${problems.join('\n')}`);
  });

  it('every docs/<page>.md#<anchor> the sources cite is a heading of that page', () => {
    const problems: string[] = [];
    let cited = 0;
    for (const file of sources) {
      const lines = fs.readFileSync(path.join(REPO, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const m of line.matchAll(/\bdocs\/([\w.-]+?\.md)(?:#([\w-]+))?/g)) {
          cited++;
          const problem = check(m[1]!, m[2]);
          if (problem !== undefined) problems.push(`${file}:${i + 1}: ${problem}`);
        }
      });
    }
    assert.deepEqual(problems, []);
    assert.ok(cited > 200, `only ${cited} citations of docs/ found`);
  });

  it('the docs pages link to pages and headings that exist', () => {
    const problems: string[] = [];
    for (const page of fs.readdirSync(path.join(REPO, 'docs')).filter((p) => p.endsWith('.md'))) {
      const text = fs.readFileSync(path.join(REPO, 'docs', page), 'utf8');
      for (const m of text.matchAll(/\]\(([\w.-]*\.md)?(?:#([\w-]+))?\)/g)) {
        if (m[1] === undefined && m[2] === undefined) continue;
        const problem = check(m[1] ?? page, m[2]);
        if (problem !== undefined) problems.push(`docs/${page}: ${m[0]}: ${problem}`);
      }
      for (const m of text.matchAll(/\]\((\.\.\/[^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (!fs.existsSync(path.join(REPO, 'docs', m[1]!))) problems.push(`docs/${page}: ${m[0]}: no such file`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('slugs headings as GitHub does', () => {
    const anchors = headingAnchors('# A b\n## What sandbox.vhdx is\n### `C:\\c` Schema 1.0\n## A b\n```\n# not a heading\n```\n## Q1 empty layer folders\n');
    assert.deepEqual([...anchors], ['a-b', 'what-sandboxvhdx-is', 'cc-schema-10', 'a-b-1', 'q1-empty-layer-folders']);
  });
});
