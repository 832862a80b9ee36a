/**
 * Invalid figures in the bench report (bench/lib/report.ts): a window the window check rejected
 * even after a restart is shown as invalid with its reason, and left out of every median and
 * ratio, in the throughput rounds, the paired windows and the fixed-rate run. Fabricated rows.
 */
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../bench/lib/load.js';
import { find, invalidFigures, medianRows, pairedSummaries, renderReport, type LatencyRow, type PairedWindow, type TargetKind, type ThroughputRow, type Traffic } from '../../bench/lib/report.js';
import { benchReport } from './report-fixture.js';

function load(rps: number): LoadResult {
  return { requests: rps * 5, seconds: 5, rps, p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1, errors: 0, non2xx: 0 };
}

function row(kind: TargetKind, traffic: Traffic, rps: number, round: number, invalid?: string): ThroughputRow {
  const r: ThroughputRow = { kind, label: kind, traffic, load: load(rps), rss: 50 << 20, round, processCpu: invalid ? 0.002 : 1, proxyCore: 1, loadCore: 0.8, otherProxyCore: 0, otherLoadCore: 0 };
  if (invalid !== undefined) r.invalid = invalid;
  return r;
}

const STUCK = 'node-proxy collapsed to 10 req/s (under 200)';

/** The floor: 12,000 req/s in round 1, stuck in rounds 2 and 3 (on sticky traffic); stickyd 10,000. */
const rounds: ThroughputRow[][] = [0, 1, 2].map((r) => [
  row('stickyd', 'sticky', 10_000, r),
  row('node-proxy', 'sticky', r === 0 ? 12_000 : 10, r, r === 0 ? undefined : STUCK),
  row('stickyd', 'cookieless', 10_000, r),
  row('node-proxy', 'cookieless', 10, r, STUCK),
]);

describe('bench report: invalid figures', () => {
  it('a row is the median of its valid rounds only; a row with none stays, invalid', () => {
    const rows = medianRows(rounds);
    const sticky = rows.find((x) => x.kind === 'node-proxy' && x.traffic === 'sticky')!;
    expect(sticky.load.rps).toBe(12_000);
    expect(sticky.invalid).toBeUndefined();
    expect(sticky.roundsRps).toEqual([12_000, null, null]);
    const cookieless = rows.find((x) => x.kind === 'node-proxy' && x.traffic === 'cookieless')!;
    expect(cookieless.invalid).toBe(STUCK);
    // An invalid row is no figure for anything that looks one up.
    expect(find(rows, 'node-proxy', 'cookieless')).toBeUndefined();
  });

  it('the report says which windows were invalid and why, and takes no ratio from them', () => {
    const report = benchReport({ env: { rounds: 3 }, throughput: medianRows(rounds), throughputRounds: rounds });
    expect(invalidFigures(report)).toEqual([
      `node-proxy cookieless, round 1: ${STUCK}`,
      `node-proxy sticky, round 2: ${STUCK}`,
      `node-proxy cookieless, round 2: ${STUCK}`,
      `node-proxy sticky, round 3: ${STUCK}`,
      `node-proxy cookieless, round 3: ${STUCK}`,
    ]);
    const text = renderReport(report);
    expect(text).toContain('> **Invalid figures:** 5 measured windows were stuck or failing');
    expect(text).toContain(`| node-proxy | cookieless | invalid: ${STUCK} | invalid / invalid / invalid |`);
    expect(text).toContain('| 12,000 | 12,000 / invalid / invalid |');
    // The stuck rounds' 10 req/s would make the floor 0.001× stickyd; only round 1 is a ratio.
    expect(text).toContain('vs node-proxy 83.3 µs/req: **0.83×** by CPU per request (rounds: 0.83× / – / –)');
    expect(text).not.toMatch(/node-proxy[^\n]*cookieless[^\n]*µs\/req: \*\*/);
    // The summary: the cookieless cell says invalid, not '–' and not 10.
    expect(text).toMatch(/\| node-proxy \| invalid \| 12,000 \|/);
  });

  it('an invalid paired window is left out of its pair\'s medians and counted', () => {
    const side = (kind: TargetKind, requests: number, cpuSeconds: number) => ({ kind, label: kind, load: { ...load(requests / 5), requests }, cpuSeconds });
    const w = (round: number, otherRequests: number, invalid?: string): PairedWindow => {
      const x: PairedWindow = { traffic: 'sticky', round, stickyd: side('stickyd', 25_000, 2.5), other: side('node-proxy', otherRequests, invalid ? 0.01 : 2.5), proxyCore: 1, loadCore: 0.8, otherProxyCore: 0, otherLoadCore: 0 };
      if (invalid !== undefined) x.invalid = invalid;
      return x;
    };
    // Valid windows: stickyd 100 µs against 80 and 100 µs → ratios 0.8 and 1.0, median 0.9. The
    // stuck window (50 requests on 0.01 s of CPU: 200 µs, 2.0×) would have made the median 1.0.
    const paired = [w(0, 31_250), w(1, 50, STUCK), w(2, 25_000)];
    const [s] = pairedSummaries(paired);
    expect(s!.ratios.median!.toFixed(2)).toBe('0.90');
    expect(s!.ratios.each[1]).toBeNull();
    expect(s!.otherUs!.toFixed(1)).toBe('90.0');
    expect(s!.invalid).toBe(1);
    const text = renderReport(benchReport({ env: { pairedRounds: 3 }, paired }));
    expect(text).toContain('**0.90×** (0.80× / – / 1.00×), 1 window invalid');
    expect(text).toContain(`paired stickyd with node-proxy, sticky, window 2: ${STUCK}`);
  });

  it('an invalid fixed-rate run shows no p99, and is no baseline for the added latency', () => {
    const lat = (kind: TargetKind, p99: number, invalid?: string): LatencyRow => {
      const x: LatencyRow = { kind, label: kind, rate: 7000, load: { ...load(6900), p99 }, processCpu: 0.5, proxyCore: 0.5, loadCore: 0.5, otherProxyCore: 0, otherLoadCore: 0 };
      if (invalid !== undefined) x.invalid = invalid;
      return x;
    };
    const report = benchReport({ latency: [lat('direct', 1), lat('stickyd', 3), lat('node-proxy', 4900, '10 req/s achieved of 7,000 offered')] });
    const text = renderReport(report);
    expect(text).toContain('| node-proxy | invalid: 10 req/s achieved of 7,000 offered |');
    expect(text).not.toContain('4900.00');
    expect(text).toContain('- p99 at 70% of one stickyd worker\'s capacity: stickyd **3.00 ms** (direct 1.00 ms)');
  });
});
