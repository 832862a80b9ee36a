/**
 * Reads a V8 CPU profile (`node --cpu-prof`) of stickyd and names its hot spots as file:line in
 * src/, through the source maps tsc wrote next to the compiled files, so that the proxy's owner
 * can act on them: self time (where the CPU was) and total time of stickyd's own functions
 * (what each costs with everything it calls), plus a split by where the code comes from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface HotSpot {
  name: string;
  /** file:line, in src/ when a source map says so. */
  where: string;
  /** Percent of all samples. */
  percent: number;
}

export interface ProfileSummary {
  /** Samples while the process was busy (idle samples are left out of every percentage). */
  samples: number;
  selfTop: HotSpot[];
  totalTop: HotSpot[];
  /**
   * Every busy sample charged to the innermost stickyd function on its stack: what each of
   * stickyd's functions costs through the node, undici and pino work it asks for itself.
   */
  bySrcFrame: HotSpot[];
  /** Percent of busy samples by origin: stickyd src/, undici, pino, node internals, GC... */
  byOrigin: Record<string, number>;
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(file: string): SourceMap | null {
  if (!maps.has(file)) {
    const mapFile = `${file}.map`;
    maps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null);
  }
  return maps.get(file)!;
}

/** A call frame as repository-relative file:line (1-based), mapped back to .ts where possible. */
export function locate(frame: CallFrame, repoRoot: string): string {
  if (!frame.url) return '';
  // ES modules are named by file:// URL, CommonJS ones (in node_modules) by plain path.
  const isPath = frame.url.startsWith('/');
  if (!isPath && !frame.url.startsWith('file://')) return `${frame.url}:${frame.lineNumber + 1}`;
  const file = isPath ? frame.url : fileURLToPath(frame.url);
  const map = sourceMapFor(file);
  if (map) {
    const e = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (e.originalSource !== undefined && e.originalLine !== undefined) {
      const src = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : path.resolve(path.dirname(file), e.originalSource);
      return `${path.relative(repoRoot, src)}:${e.originalLine + 1}`;
    }
  }
  return `${path.relative(repoRoot, file)}:${frame.lineNumber + 1}`;
}

export function origin(frame: CallFrame, where: string): string {
  const n = frame.functionName;
  if (n === '(garbage collector)') return 'GC';
  if (n === '(program)') return 'V8/native (program)';
  if (where.startsWith('src/')) return 'stickyd src/';
  if (where.includes('node_modules/undici/')) return 'undici';
  if (where.includes('node_modules/pino') || where.includes('node_modules/sonic-boom') || where.includes('node_modules/thread-stream')) return 'pino (logging)';
  if (where.startsWith('node:')) return 'node internals (JS)';
  if (frame.url === '') return 'native (syscalls, V8 builtins)';
  return 'other';
}

export function summarizeProfile(file: string, repoRoot: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Percentages are of the time the process was busy: idle samples only say the load left gaps.
  const total = profile.nodes.reduce((a, n) => a + (n.callFrame.functionName === '(idle)' ? 0 : n.hitCount ?? 0), 0) || 1;

  const info = new Map<number, { key: string; name: string; where: string; origin: string }>();
  for (const n of profile.nodes) {
    const where = locate(n.callFrame, repoRoot);
    const name = n.callFrame.functionName || '(anonymous)';
    info.set(n.id, { key: `${name}\u0000${where}`, name, where: where || '(native)', origin: origin(n.callFrame, where) });
  }

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const bySrc = new Map<string, number>();
  const byOrigin: Record<string, number> = {};
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0 || n.callFrame.functionName === '(idle)') continue;
    const me = info.get(n.id)!;
    self.set(me.key, (self.get(me.key) ?? 0) + hits);
    byOrigin[me.origin] = (byOrigin[me.origin] ?? 0) + hits;
    // Every distinct stickyd function on the path from the root gets these samples once
    // (recursion must not count twice).
    const onPath = new Set<string>();
    let innermost: string | null = null;
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const f = info.get(id)!;
      if (f.origin === 'stickyd src/') {
        onPath.add(f.key);
        innermost ??= f.key;
      }
      if (!byId.has(id)) break;
    }
    for (const k of onPath) inclusive.set(k, (inclusive.get(k) ?? 0) + hits);
    // Without a stickyd frame: charge the event-loop entry (the frame just below the root), which
    // says what kind of work it was (socket reads, the HTTP parser, timers, microtasks).
    let entry = n.id;
    while (parent.has(entry) && parent.has(parent.get(entry)!)) entry = parent.get(entry)!;
    const e = info.get(entry)!;
    const charged = innermost ?? (e.name.startsWith('(') ? `${e.name}\u0000` : `${e.name} (no stickyd frame)\u0000${e.where}`);
    bySrc.set(charged, (bySrc.get(charged) ?? 0) + hits);
  }

  const rank = (m: Map<string, number>): HotSpot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, hits]) => {
        const [name, where] = key.split('\u0000') as [string, string];
        return { name, where: where || (name.startsWith('(') ? '–' : '(native)'), percent: (100 * hits) / total };
      });
  for (const k of Object.keys(byOrigin)) byOrigin[k] = (100 * byOrigin[k]!) / total;
  return { samples: total, selfTop: rank(self), totalTop: rank(inclusive), bySrcFrame: rank(bySrc), byOrigin };
}
