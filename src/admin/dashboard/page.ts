/**
 * The dashboard page: a shell of HTML with its style and its script inline, both allowed by a nonce
 * made for this one response (Content-Security-Policy `script-src 'nonce-…'`, no 'unsafe-inline',
 * nothing from another origin), so the page works offline and nothing injected into it could run.
 * The script (client.js, plain JavaScript checked by tsc) opens the event stream and draws the
 * tables and charts; every value from the configuration goes into the page as text, never as
 * markup.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { escapeHtml as h } from '../format.js';
import { MANAGER_PATH } from '../page.js';

export const DASHBOARD_PATH = '/dashboard';
export const DATA_PATH = '/dashboard/data';
export const STREAM_PATH = '/dashboard/stream';

let script: string | null = null;

/** client.js, next to this module in src/, and in dist/ (`npm run build` copies it there). */
function clientScript(): string {
  script ??= readFileSync(new URL('./client.js', import.meta.url), 'utf8');
  return script;
}

/** A nonce for one response: 128 random bits. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

/** The policy of the page: its own inline style and script by nonce, its own origin for the stream, nothing else. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --fg: #1d232b; --muted: #66707c; --line: #dde1e6; --head: #eef1f4;
  --ok: #2b8a3e; --ok-bg: #e9f7ec; --bad: #d62828; --bad-bg: #fdecec; --warn: #d9480f; --warn-bg: #fff0e6;
  --drain: #1c7ed6; --drain-bg: #e7f1fc; --standby: #0c8599; --standby-bg: #e3f6f8; --off: #737b85; --off-bg: #f0f1f3;
  --grid: #e8ebef; --accent: #1c7ed6;
  --pill-ok: #2b8a3e; --pill-bad: #d62828; --pill-warn: #d9480f; --pill-drain: #1c7ed6; --pill-standby: #0c8599; --pill-off: #737b85;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171b; --panel: #1c2026; --fg: #dfe3e8; --muted: #8d96a1; --line: #2e343c; --head: #232830;
    --ok: #51cf66; --ok-bg: #16291b; --bad: #ff6b6b; --bad-bg: #3a1618; --warn: #ff922b; --warn-bg: #35220f;
    --drain: #4dabf7; --drain-bg: #122536; --standby: #3bc9db; --standby-bg: #0f2a2e; --off: #8d96a1; --off-bg: #23272d;
    --grid: #262b32; --accent: #4dabf7;
    --pill-ok: #2b8a3e; --pill-bad: #d62828; --pill-warn: #c2410c; --pill-drain: #1c7ed6; --pill-standby: #0b7285; --pill-off: #555c65;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--accent); }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 18px; padding: 8px 16px; background: var(--panel); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
header.top h1 { font-size: 16px; margin: 0; font-weight: 650; }
header.top h1 span { color: var(--muted); font-weight: 400; }
.daemon { color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 14px; }
.daemon b { color: var(--fg); font-weight: 600; }
.daemon .bad { color: var(--bad); }
header nav { margin-left: auto; display: flex; gap: 14px; }
.live { font-weight: 600; display: inline-flex; align-items: center; gap: 6px; }
.live::before { content: ""; width: 9px; height: 9px; border-radius: 50%; background: var(--off); }
.live.on { color: var(--ok); } .live.on::before { background: var(--ok); }
.live.lost { color: var(--warn); } .live.lost::before { background: var(--warn); }
main { display: grid; grid-template-columns: minmax(0, 1fr) 330px; gap: 14px; padding: 14px 16px; align-items: start; }
@media (max-width: 1499px) { main { grid-template-columns: minmax(0, 1fr); } aside.timeline { position: static; max-height: 420px; } }
@media (max-width: 1279px) { table.members .url { display: none; } }
section.balancer, aside.timeline { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
section.balancer { margin-bottom: 14px; overflow: hidden; }
.bhead { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 10px; padding: 8px 12px; border-bottom: 1px solid var(--line); }
.bhead h2 { font-size: 15px; margin: 0 6px 0 0; }
.tag { font-size: 11.5px; color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 5px; }
.usable { margin-left: auto; font-weight: 600; font-size: 12px; padding: 1px 8px; border-radius: 10px; }
.usable.all { color: var(--ok); background: var(--ok-bg); }
.usable.some { color: var(--warn); background: var(--warn-bg); }
.usable.none { color: var(--bad); background: var(--bad-bg); }
.kpis { display: flex; flex-wrap: wrap; gap: 0; border-bottom: 1px solid var(--line); }
.kpi { padding: 6px 14px; border-right: 1px solid var(--line); min-width: 86px; }
.kpi .v { font-size: 17px; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .l { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.kpi.bad .v { color: var(--bad); }
.shares { padding: 6px 14px; flex: 1 1 260px; display: grid; grid-template-columns: auto 1fr; gap: 3px 8px; align-items: center; font-size: 11.5px; color: var(--muted); }
.bar { display: flex; height: 14px; border-radius: 3px; overflow: hidden; background: var(--grid); }
.bar span { height: 100%; color: #fff; font-size: 10px; line-height: 14px; text-align: center; overflow: hidden; white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); border-bottom: 1px solid var(--line); }
figure { margin: 0; padding: 6px 12px 4px; border-right: 1px solid var(--line); min-width: 0; }
figcaption { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; display: flex; justify-content: space-between; gap: 8px; }
figcaption .legend { text-transform: none; letter-spacing: 0; display: flex; gap: 8px; flex-wrap: wrap; justify-content: flex-end; }
svg.chart { display: block; width: 100%; height: 116px; }
svg text { fill: var(--muted); font-size: 10px; font-family: inherit; }
.gridline { stroke: var(--grid); stroke-width: 1; }
.axis { stroke: var(--line); stroke-width: 1; }
.sw { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 3px; vertical-align: -1px; }
.table { overflow-x: auto; }
table.members { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.members th { background: var(--head); font-weight: 600; font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .02em; padding: 4px 6px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--line); }
table.members td { padding: 4px 6px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
table.members th.l, table.members td.l { text-align: left; }
table.members tr:last-child td { border-bottom: 0; }
table.members td.url { max-width: 170px; overflow: hidden; text-overflow: ellipsis; color: var(--muted); }
td.route { font-weight: 600; max-width: 150px; overflow: hidden; text-overflow: ellipsis; }
figcaption .legend span { max-width: 120px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
tr.m { box-shadow: inset 4px 0 0 var(--ok); }
tr.m.state-error, tr.m.state-hcfail { background: var(--bad-bg); box-shadow: inset 4px 0 0 var(--bad); }
tr.m.state-draining { box-shadow: inset 4px 0 0 var(--drain); }
tr.m.state-standby { box-shadow: inset 4px 0 0 var(--standby); }
tr.m.state-disabled, tr.m.state-stopped { box-shadow: inset 4px 0 0 var(--off); color: var(--muted); }
.pill { display: inline-block; min-width: 70px; text-align: center; font-size: 11px; font-weight: 700; letter-spacing: .03em; padding: 1px 6px; border-radius: 3px; color: #fff; background: var(--pill-ok); }
.pill.error { background: var(--pill-bad); }
.pill.hcfail { background: var(--pill-warn); }
.pill.draining { background: var(--pill-drain); }
.pill.standby { background: var(--pill-standby); }
.pill.disabled, .pill.stopped { background: var(--pill-off); }
td.err-age, td.retry { color: var(--bad); font-weight: 600; }
td.retry.due { color: var(--warn); }
.errs { color: var(--bad); }
.dim { color: var(--muted); }
.minibar { display: inline-block; width: 30px; height: 6px; background: var(--grid); border-radius: 3px; margin-left: 6px; vertical-align: 1px; overflow: hidden; }
.minibar i { display: block; height: 100%; }
svg.spark { width: 110px; height: 20px; display: block; }
aside.timeline { position: sticky; top: 58px; max-height: calc(100vh - 72px); display: flex; flex-direction: column; }
aside.timeline h2 { font-size: 14px; margin: 0; padding: 8px 12px; border-bottom: 1px solid var(--line); display: flex; justify-content: space-between; }
aside.timeline h2 span { font-weight: 400; color: var(--muted); font-size: 12px; }
ol.events { list-style: none; margin: 0; padding: 0; overflow-y: auto; }
ol.events li { display: grid; grid-template-columns: 62px 1fr; gap: 2px 8px; padding: 6px 12px 6px 10px; border-bottom: 1px solid var(--line); border-left: 3px solid var(--off); }
ol.events li.bad { border-left-color: var(--bad); }
ol.events li.good { border-left-color: var(--ok); }
ol.events li.warn { border-left-color: var(--warn); }
ol.events li.info { border-left-color: var(--drain); }
ol.events time { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; }
ol.events .who { font-weight: 600; }
ol.events .kind { font-size: 10.5px; text-transform: uppercase; letter-spacing: .03em; font-weight: 700; margin-right: 5px; }
ol.events li.bad .kind { color: var(--bad); } ol.events li.good .kind { color: var(--ok); } ol.events li.info .kind { color: var(--drain); } ol.events li.warn .kind { color: var(--warn); }
ol.events .ago { grid-column: 1; color: var(--muted); font-size: 11px; }
ol.events .text { grid-column: 2; grid-row: 1 / span 2; word-break: break-word; }
ol.events li.empty { display: block; border-left-color: transparent; }
.empty { padding: 14px 12px; color: var(--muted); }
.notice { margin: 14px 16px; padding: 8px 12px; border: 1px solid var(--line); background: var(--panel); border-radius: 6px; }
`;

export interface DashboardPageModel {
  /** The Host the page was asked for (its title). */
  host: string;
  nonce: string;
}

export function renderDashboardPage(p: DashboardPageModel): string {
  const nonce = h(p.nonce);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>stickyd dashboard — ${h(p.host)}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style></head>
<body>
<header class="top">
<h1>stickyd <span>dashboard · ${h(p.host)}</span></h1>
<div class="daemon" id="daemon"></div>
<span class="live" id="live">connecting…</span>
<nav><a href="${MANAGER_PATH}" id="manager-link">Balancer manager</a><a href="/metrics">Metrics</a><a href="${DATA_PATH}">JSON</a></nav>
</header>
<noscript><p class="notice">The dashboard draws itself with JavaScript. Without it, see the <a href="${MANAGER_PATH}">balancer-manager</a> or <a href="${DATA_PATH}">the data as JSON</a>.</p></noscript>
<main>
<div id="balancers"><p class="empty" id="loading">Loading…</p></div>
<aside class="timeline"><h2>Events <span id="events-count"></span></h2><ol class="events" id="events"></ol></aside>
</main>
<script nonce="${nonce}">${clientScript()}</script>
</body></html>
`;
}
