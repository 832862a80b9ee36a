/**
 * The throughput phase's rounds (bench/lib/report.ts): each row is its median round, and each
 * ratio against the targets is the median of the ratios taken within a round. Fabricated
 * rows, no processes: the machine's speed changes from round to round, as it does on a shared VM.
 */
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../bench/lib/load.js';
import { median, medianRows, renderReport, roundRatios, find, type TargetKind, type ThroughputRow, type Traffic } from '../../bench/lib/report.js';
import { benchReport } from './report-fixture.js';

function load(rps: number): LoadResult {
  return { requests: rps * 5, seconds: 5, rps, p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1, errors: 0, non2xx: 0 };
}

/** A CPU-bound proxy run: one core, so CPU µs per request is 1e6 / req/s. */
function row(kind: TargetKind, traffic: Traffic, rps: number, round: number, rss = 50 << 20): ThroughputRow {
  return { kind, label: kind, traffic, load: load(rps), rss, round, processCpu: 1, proxyCore: 1, loadCore: 0.8, otherProxyCore: 0, otherLoadCore: 0 };
}

/**
 * Three rounds on a machine whose speed is 1.0, 0.5 and 0.8: stickyd is 0.91× Apache in the first
 * two rounds and 0.8× in the third. The median rows (8,000 and 10,000 req/s) come from different
 * speeds' rounds and make 0.8×; the median of the rounds' own ratios is 0.91×.
 */
const speeds = [1, 0.5, 0.8];
const stickydBase = [10_000, 10_000, 10_000];
const apacheBase = [11_000, 11_000, 12_500];
const rounds: ThroughputRow[][] = speeds.map((speed, r) => {
  const rows: ThroughputRow[] = [];
  for (const traffic of ['cookieless', 'sticky'] as const) {
    rows.push(row('stickyd', traffic, stickydBase[r]! * speed, r, (50 + r) << 20));
    rows.push(row('apache', traffic, apacheBase[r]! * speed, r));
  }
  return rows;
});

describe('bench report: throughput rounds', () => {
  it('median: the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('each row is its median round by req/s, with every round\'s req/s and the RSS peak over all rounds', () => {
    const rows = medianRows(rounds);
    expect(rows.map((x) => `${x.kind} ${x.traffic}`)).toEqual(['stickyd cookieless', 'apache cookieless', 'stickyd sticky', 'apache sticky']);
    const s = find(rows, 'stickyd', 'sticky')!;
    expect(s.load.rps).toBe(8000);
    expect(s.round).toBe(2);
    expect(s.roundsRps).toEqual([10_000, 5000, 8000]);
    expect(s.rss).toBe(52 << 20);
    const a = find(rows, 'apache', 'sticky')!;
    expect(a.load.rps).toBe(10_000);
    expect(a.round).toBe(2);
    // Two rounds: the slower of the two, one real run rather than an average of two.
    expect(find(medianRows(rounds.slice(0, 2)), 'stickyd', 'sticky')!.load.rps).toBe(5000);
  });

  it('a ratio is taken within each round, and the median of those is the figure', () => {
    const x = roundRatios(rounds, (rs) => find(rs, 'stickyd', 'sticky')!.load.rps / find(rs, 'apache', 'sticky')!.load.rps);
    expect(x.each.map((v) => v!.toFixed(3))).toEqual(['0.909', '0.909', '0.800']);
    expect(x.median!.toFixed(3)).toBe('0.909');
    // A round without the figure is left out of the median, not counted as zero.
    const gap = roundRatios(rounds, (rs) => (rs[0]!.round === 1 ? null : find(rs, 'stickyd', 'sticky')!.load.rps / find(rs, 'apache', 'sticky')!.load.rps));
    expect(gap.each[1]).toBeNull();
    expect(gap.median!.toFixed(4)).toBe(((10 / 11 + 0.8) / 2).toFixed(4));
  });

  it('the report judges the median of the per-round ratios and prints each round\'s', () => {
    const report = benchReport({ env: { rounds: 3 }, throughput: medianRows(rounds), throughputRounds: rounds });
    const text = renderReport(report);
    // By CPU per request, Apache's µs ÷ stickyd's: 0.91× in two rounds, 0.80× in one. The median
    // rows alone (100 µs against 125 µs) would give 0.80×.
    expect(text).toContain('vs apache 100.0 µs/req: **0.91×** by CPU per request (rounds: 0.91× / 0.91× / 0.80×) (target ≥ 1.0: MISSED); 0.91× by req/s (rounds: 0.91× / 0.91× / 0.80×)');
    expect(text).toContain('| 0.91× / 0.91× **MISSED** |');
    expect(text).toMatch(/Each ratio is the median of the 3 ratios taken within one round each/);
    expect(text).toMatch(/throughput in 3 rounds, each measuring every target on both traffics in turn, 5 s per run after 2 s warm-up, the order of the targets rotated by one each round/);
    expect(text).toContain('| 8,000 | 10,000 / 5,000 / 8,000 |');
  });
});
