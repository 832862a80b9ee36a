/**
 * The paired phase (bench/lib/report.ts): stickyd and a reference loaded at the same time on one
 * core, each side's CPU µs per request from its own CPU seconds and its own wrk's requests, the
 * median of the windows' ratios judged against issue 9 §4. Fabricated windows, no processes: the
 * machine's speed changes from window to window, as it does on a shared VM, and both sides of a
 * window share it.
 */
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../bench/lib/load.js';
import { pairedCost, pairedRatio, pairedSummaries, renderReport, type BenchReport, type PairedWindow, type TargetKind, type Traffic } from '../../bench/lib/report.js';
import { benchReport } from './report-fixture.js';

function load(requests: number, seconds = 5): LoadResult {
  return { requests, seconds, rps: requests / seconds, p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1, errors: 0, non2xx: 0 };
}

/**
 * One window at machine speed `speed`: stickyd costs `s` µs per request and the other side `o` at
 * full speed; a slower machine makes both dearer by the same factor. Each side gets half a core
 * for 5 s, so its requests are what that CPU time buys.
 */
function win(kind: TargetKind, traffic: Traffic, round: number, speed: number, s: number, o: number, loadCore = 0.8, others = 0): PairedWindow {
  const cpuSeconds = 2.5;
  const side = (k: TargetKind, us: number) => ({ kind: k, label: k, load: load(Math.round((cpuSeconds * 1e6) / (us / speed))), cpuSeconds });
  return { traffic, round, stickyd: side('stickyd', s), other: side(kind, o), proxyCore: 1, loadCore, otherProxyCore: others, otherLoadCore: 0 };
}

/** Windows at speeds 1.0, 0.5, 0.8: stickyd 100 µs; Apache 110, 105 and 95 µs at full speed. */
const speeds = [1, 0.5, 0.8];
const apache = [110, 105, 95];
const windows: PairedWindow[] = [
  ...speeds.map((v, i) => win('apache', 'cookieless', i, v, 100, apache[i]!)),
  ...speeds.map((v, i) => win('apache', 'sticky', i, v, 100, apache[i]! + 10, 0.95)),
  // The floor: 80 µs against stickyd's 100 → 0.8× (target ≥ 0.9 missed).
  ...speeds.map((v, i) => win('node-proxy', 'cookieless', i, v, 100, 80)),
  ...speeds.map((v, i) => win('node-proxy', 'sticky', i, v, 100, 92)),
  // The access log: +4%, +6%, +12% → median +6% (met); sticky +12%, +15%, +9% → +12% (missed).
  ...speeds.map((v, i) => win('stickyd-log', 'cookieless', i, v, 100, [104, 106, 112][i]!)),
  ...speeds.map((v, i) => win('stickyd-log', 'sticky', i, v, 100, [112, 115, 109][i]!, 0.8, i === 1 ? 0.3 : 0)),
  // nginx: shown, not judged.
  ...speeds.map((v, i) => win('nginx', 'sticky', i, v, 100, 40, 1)),
];

function report(paired: PairedWindow[]): BenchReport {
  return benchReport({ env: { pairedRounds: 3 }, paired });
}

describe('bench report: paired on one core', () => {
  it('each side costs its CPU seconds ÷ its own requests, and a window\'s ratio is the other\'s ÷ stickyd\'s', () => {
    const w = windows[1]!; // speed 0.5: stickyd 200 µs, Apache 210 µs
    expect(pairedCost(w.stickyd)!.toFixed(1)).toBe('200.0');
    expect(pairedCost(w.other)!.toFixed(1)).toBe('210.0');
    expect(pairedRatio(w)!.toFixed(3)).toBe('1.050');
    // No request completed: no cost, no ratio (not a division by zero).
    const dead = { ...w, other: { ...w.other, load: load(0) } };
    expect(pairedCost(dead.other)).toBeNull();
    expect(pairedRatio(dead)).toBeNull();
  });

  it('one summary per pair and traffic: the median of the windows\' ratios, whatever each window\'s speed', () => {
    const all = pairedSummaries(windows);
    expect(all.map((p) => `${p.kind} ${p.traffic}`)).toEqual([
      'apache cookieless', 'apache sticky', 'node-proxy cookieless', 'node-proxy sticky', 'stickyd-log cookieless', 'stickyd-log sticky', 'nginx sticky',
    ]);
    const a = all[0]!;
    expect(a.ratios.each.map((x) => x!.toFixed(2))).toEqual(['1.10', '1.05', '0.95']);
    expect(a.ratios.median!.toFixed(2)).toBe('1.05');
    // Each side's median µs/req is over windows at different speeds: 100, 200 and 125 µs.
    expect(a.stickydUs!.toFixed(1)).toBe('125.0');
    expect(a.met).toBe(true);
    expect(all[1]!.loadCore).toEqual([0.95, 0.95, 0.95]);
    // 2.5 CPU seconds over a 5 s window: half of the core each.
    expect(a.stickydShare).toBe(0.5);
    expect(a.otherShare).toBe(0.5);
    expect(all[2]!.ratios.median!.toFixed(2)).toBe('0.80');
    expect(all[2]!.met).toBe(false);
    expect(all[3]!.met).toBe(true); // 0.92× ≥ 0.9
    expect(all[4]!.ratios.median!.toFixed(2)).toBe('1.06');
    expect(all[4]!.met).toBe(true); // +6% ≤ +10%
    expect(all[5]!.ratios.median!.toFixed(2)).toBe('1.12');
    expect(all[5]!.met).toBe(false); // +12% > +10%
    expect(all[5]!.disturbed).toBe(true);
    expect(all[6]!.met).toBeNull(); // nginx: no target
  });

  it('the report has a paired section with each window\'s ratio and load core, and the summary shows the paired verdicts', () => {
    const text = renderReport(report(windows));
    expect(text).toContain('### Paired on one core (drift-free)');
    expect(text).toContain('| stickyd workers=1 vs apache | cookieless | 125.0 | 118.7 | **1.05×** (1.10× / 1.05× / 0.95×) | 50% / 50% | 80% / 80% / 80% | ≥ 1.0×: met |');
    expect(text).toContain('| stickyd workers=1 vs node-proxy | cookieless | 125.0 | 100.0 | **0.80×** (0.80× / 0.80× / 0.80×) | 50% / 50% | 80% / 80% / 80% | ≥ 0.9×: **MISSED** |');
    expect(text).toContain('| stickyd workers=1 vs stickyd-log † | sticky | 125.0 | 136.2 | **+12.0%** (+12.0% / +15.0% / +9.0%) | 50% / 50% | 80% / 80% / 80% | log ≤ +10%: **MISSED** |');
    expect(text).toContain('| stickyd workers=1 vs nginx | sticky | 125.0 | 50.0 | **0.40×** (0.40× / 0.40× / 0.40×) | 50% / 50% | 100% / 100% / 100% | – |');
    expect(text).toMatch(/each in a session of its own/);
    // The summary: no throughput rows here, so check the column via its own rendering with rows.
    const withRows = report(windows);
    withRows.throughput = [
      { kind: 'apache', label: 'apache', traffic: 'sticky', load: load(50_000), rss: 0, round: 0, processCpu: 1, proxyCore: 1, loadCore: 0.8, otherProxyCore: 0, otherLoadCore: 0 },
      { kind: 'node-proxy', label: 'node-proxy', traffic: 'sticky', load: load(50_000), rss: 0, round: 0, processCpu: 1, proxyCore: 1, loadCore: 0.8, otherProxyCore: 0, otherLoadCore: 0 },
      { kind: 'stickyd-log', label: 'stickyd-log', traffic: 'sticky', load: load(50_000), rss: 0, round: 0, processCpu: 1, proxyCore: 1, loadCore: 0.8, otherProxyCore: 0, otherLoadCore: 0 },
    ];
    const summary = renderReport(withRows);
    expect(summary).toContain('| paired on one core (cookieless / sticky) |');
    expect(summary).toMatch(/\| apache \|.*\| 1\.05× \/ 1\.15× met \|/);
    expect(summary).toMatch(/\| node-proxy \|.*\| 0\.80× \/ 0\.92× \*\*MISSED\*\* \|/);
    expect(summary).toMatch(/\| stickyd-log \|.*\| \+6\.0% \/ \+12\.0% \*\*MISSED\*\* \|/);
  });

  it('no paired windows: no paired section and no paired column', () => {
    const text = renderReport(report([]));
    expect(text).not.toContain('Paired on one core');
    expect(text).not.toContain('paired on one core (cookieless / sticky)');
  });
});
