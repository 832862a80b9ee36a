// Every section a comment, test or doc cites must exist in the repository (docs/README.md, "How
// code comments cite these files"): `apache-semantics §n`, `cluster-semantics §n`, a bare `§n`
// (the file of the code around it), `docs/design.md [§n]`, and httpd source lines whose prefix
// apache-semantics §0 explains. Citations of files outside the repository (the shared spec it
// was written from) are refused, so the references cannot rot again.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';

const SECTION = '\u00a7';
type Doc = 'apache' | 'cluster' | 'design';
const DOC_FILES: Record<Doc, string> = { apache: 'docs/apache-semantics.md', cluster: 'docs/cluster-semantics.md', design: 'docs/design.md' };

/**
 * The citable numbers of a markdown file: numbered headings (`## 2. …`, `### 2.4 …`) and the items
 * of numbered lists directly under a numbered heading (`§9.6` = item 6 of section 9).
 */
export function sectionsOf(markdown: string): Set<string> {
  const found = new Set<string>();
  let current: string | null = null;
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{2,6}\s+(.*)$/.exec(line);
    if (heading) {
      const number = /^(\d+(?:\.\d+)*)\.?\s/.exec(heading[1]!);
      current = number ? number[1]! : null;
      if (current) found.add(current);
      continue;
    }
    const item = /^(\d+)\.\s/.exec(line);
    if (item && current) found.add(`${current}.${item[1]}`);
  }
  return found;
}

/** Files whose bare citations mean cluster-semantics. */
function defaultDoc(file: string): Doc {
  return /^(src|test)\/cluster\/|^docs\/cluster(-semantics)?\.md$/.test(file) ? 'cluster' : 'apache';
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...walk(rel));
    } else if (/\.(ts|md)$/.test(e.name)) {
      out.push(rel);
    }
  }
  return out;
}

const FILES = [...walk('src'), ...walk('test'), ...walk('bench'), ...walk('docs'), 'README.md'].filter((f) => f !== 'test/docs/citations.test.ts');

export interface Citation {
  file: string;
  line: number;
  text: string;
  doc: Doc | null;
  /** The section numbers it needs (both ends of a range). */
  numbers: string[];
  /** A problem with the citation itself (an old or outside reference). */
  problem?: string;
}

const OLD_FORMS: Array<[RegExp, string]> = [
  [/\b[Ss]pec \u00a7/, '"spec \u00a7n": write apache-semantics \u00a7n or cluster-semantics \u00a7n'],
  [/tomcat-cluster(\.md)?( spec)?/, 'the shared tomcat-cluster spec is not in the repository: cite cluster-semantics §n'],
  [/apache-balancer\.md/, 'the shared apache-balancer spec is not in the repository: cite apache-semantics §n'],
  [/shared\/(spec|design)/, 'a file outside the repository'],
];

/** Every citation in one file's text. */
export function citationsIn(file: string, text: string): Citation[] {
  const out: Citation[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const [re, problem] of OLD_FORMS) {
      if (re.test(line)) out.push({ file, line: i + 1, text: line.trim(), doc: null, numbers: [], problem });
    }
    // Outside docs/, the design notes are cited with their path.
    if (!file.startsWith('docs/') && /(?<![\w/-])design\.md\b/.test(line)) {
      out.push({ file, line: i + 1, text: line.trim(), doc: null, numbers: [], problem: 'cite docs/design.md: the design notes live in docs/' });
    }
    let lineDoc: Doc | null = null;
    const cite = /(apache-semantics|cluster-semantics|docs\/design\.md|design\.md)?(?:\.md)?[\s,]*\u00a7\s?(\d+(?:\.\d+)*)(?:\s?[-–]\s?\u00a7?(\d+(?:\.\d+)*))?/g;
    for (const m of line.matchAll(cite)) {
      const before = `${lines.slice(Math.max(0, i - 1), i).join('\n')}\n${line.slice(0, m.index)}`;
      if (/RFC\s*\d+[\s,]*$/.test(before)) continue; // an RFC's own section
      const named = m[1];
      if (named === 'apache-semantics') lineDoc = 'apache';
      else if (named === 'cluster-semantics') lineDoc = 'cluster';
      else if (named) lineDoc = 'design';
      const doc = named ? lineDoc! : (lineDoc ?? defaultDoc(file));
      out.push({ file, line: i + 1, text: m[0], doc, numbers: [m[2]!, ...(m[3] ? [m[3]] : [])] });
    }
  });
  return out;
}

describe('citations resolve inside the repository', () => {
  const sections = Object.fromEntries(
    (Object.keys(DOC_FILES) as Doc[]).map((d) => [d, sectionsOf(readFileSync(path.join(repoRoot, DOC_FILES[d]), 'utf8'))]),
  ) as Record<Doc, Set<string>>;

  it('the semantics documents keep the section numbers the code cites', () => {
    for (const n of ['0', '1', '2.2', '2.7', '3.1', '4.5', '6', '7.2', '8', '9.6', '9.13', '10.7']) expect(sections.apache.has(n), `apache-semantics §${n}`).toBe(true);
    for (const n of ['1.1', '1.2', '1.5', '2.1', '2.8', '3.3', '4.3', '4.7', '5.3', '5.3.10', '6.1', '6.2']) expect(sections.cluster.has(n), `cluster-semantics §${n}`).toBe(true);
  });

  it('every section cited in src/, test/, bench/, docs/ and the README exists, and nothing cites a file outside the repository', () => {
    const broken: string[] = [];
    let count = 0;
    for (const file of FILES) {
      for (const c of citationsIn(file, readFileSync(path.join(repoRoot, file), 'utf8'))) {
        count++;
        if (c.problem) broken.push(`${c.file}:${c.line}: ${c.problem}: ${c.text}`);
        for (const n of c.numbers) {
          if (c.doc && !sections[c.doc].has(n)) broken.push(`${c.file}:${c.line}: ${DOC_FILES[c.doc]} has no ${SECTION}${n}: ${c.text}`);
        }
      }
    }
    expect(count).toBeGreaterThan(300);
    expect(broken).toEqual([]);
  });

  it('httpd source line references use a prefix apache-semantics §0 explains', () => {
    const legend = new Set([...readFileSync(path.join(repoRoot, DOC_FILES.apache), 'utf8').matchAll(/^\s*\| `([A-Z]{1,3}):` \|/gm)].map((m) => m[1]!));
    expect([...legend].sort()).toEqual(['B', 'BB', 'BT', 'H', 'HC', 'MH', 'P', 'R', 'U']);
    const unknown: string[] = [];
    let count = 0;
    for (const file of FILES.filter((f) => f.startsWith('src/'))) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      for (const m of text.matchAll(/(?<![\w/.:@-])([A-Z]{1,3}):(\d{2,5})(?:-\d+)?\b/g)) {
        count++;
        if (!legend.has(m[1]!)) unknown.push(`${file}: ${m[0]}`);
      }
    }
    expect(count).toBeGreaterThan(50);
    expect(unknown).toEqual([]);
  });

  it('the checks catch what they are for', () => {
    const s = sectionsOf('## 2. Two\n\n### 2.4 Four\n\n## 9. List\n\n1. one\n2. two\n\n### Named\n\n1. not citable\n');
    expect([...s].sort()).toEqual(['2', '2.4', '9', '9.1', '9.2']);
    // (Written with escapes, so that the citation rewrite of docs/README.md leaves this file alone.)
    const c = citationsIn('src/x.ts', '// spec \u00a72.4\n// apache-semantics \u00a72.2–\u00a72.6, \u00a79.1\n// see RFC 9110 \u00a77.6.1\n// design\u002emd\n// cluster-semantics \u00a75.3, \u00a72.1\n');
    expect(c.map((x) => [x.line, x.doc, x.numbers, x.problem !== undefined])).toEqual([
      [1, null, [], true],
      [1, 'apache', ['2.4'], false],
      [2, 'apache', ['2.2', '2.6'], false],
      [2, 'apache', ['9.1'], false],
      [4, null, [], true],
      [5, 'cluster', ['5.3'], false],
      [5, 'cluster', ['2.1'], false],
    ]);
    expect(citationsIn('src/cluster/x.ts', '// \u00a72.8')[0]?.doc).toBe('cluster');
  });
});
