/**
 * The balancer-manager page (apache-semantics §6, "What it shows"): server-rendered HTML in the layout of
 * httpd's, no script, so it works in any browser and with curl. Per balancer: the settings table
 * (MaxMembers, StickySession, DisableFailover, Timeout, FailoverAttempts, Method, Path, Active)
 * and the member table (Worker URL, Route, RouteRedir, Factor, Set, Status, Elected, Busy, Load,
 * To, From, and mod_proxy_hcheck's columns plus the last check's result). Selecting a balancer or
 * a member (the links carry `b`, `w` and the nonce, as httpd's do) shows its edit form, with
 * httpd's field names so that scripts written for Apache's manager work here.
 *
 * Every value from the configuration or from a request goes through escapeHtml: a route named
 * `<script>` is shown as text.
 */
import { LB_METHODS } from '../balancer/lbmethod.js';
import { escapeHtml as h, factor, strfsize } from './format.js';
import type { BalancerView, MemberView } from './view.js';

/** The manager's path. */
export const MANAGER_PATH = '/balancer-manager';

export interface PageBalancer {
  view: BalancerView;
  /** The nonce for links and forms; null when the balancer cannot be changed (no forms then). */
  nonce: string | null;
}

export interface PageModel {
  /** The Host the page was asked for (the title, as httpd shows its server name). */
  host: string;
  balancers: PageBalancer[];
  /** The balancer (and member) whose edit form to show. */
  selected: { balancer: string; member: string | null } | null;
  /** A refused change: shown at the top, nothing was changed. */
  error: string | null;
  /** Why there are no forms at all (admin.readonly). */
  readonlyReason: string | null;
}

const STYLE = `
body { font-family: sans-serif; margin: 1em 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px dotted gray; padding: 2px 6px; text-align: center; }
th { background-color: #e4e4e4; }
td.url { text-align: left; }
.error { border: 2px solid #b00; background: #fee; color: #600; padding: 0.5em 1em; }
.notice { border: 1px solid #888; background: #f4f4f4; padding: 0.5em 1em; }
.hc-fail { color: #b00; }
form table td { text-align: left; }
`;

function managerLink(b: string, nonce: string | null, member?: string): string {
  const q = new URLSearchParams({ b });
  if (member !== undefined) q.set('w', member);
  if (nonce !== null) q.set('nonce', nonce);
  return `${MANAGER_PATH}?${q.toString()}`;
}

function settingsTable(v: BalancerView): string {
  return `<table class="balancer"><tr><th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th><th>Timeout</th><th>FailoverAttempts</th><th>Method</th><th>Path</th><th>Active</th></tr>
<tr><td>${v.maxMembers} [${v.usedMembers} Used]</td><td>${v.stickysession === null ? '(None)' : h(v.stickysession.replace('|', ' | '))}</td><td>${v.nofailover ? 'On' : 'Off'}</td><td>${v.timeout}</td><td>${v.maxattempts}</td><td>${h(v.lbmethod)}</td><td>${h(v.paths.join(' ') || '-')}</td><td>Yes</td></tr>
</table>`;
}

function hcCells(m: MemberView): string {
  const hc = m.health;
  if (hc === null) return '<td>NONE</td><td>-</td><td>-</td><td>-</td><td>-</td><td>-</td><td>-</td>';
  const last = hc.last === null ? 'not checked yet' : `${hc.last.ok ? 'passed' : 'failed'}: ${hc.last.detail}`;
  return `<td>${h(hc.method)}</td><td>${hc.interval}ms</td><td>${hc.passes} (${hc.passCount})</td><td>${hc.fails} (${hc.failCount})</td><td>${h(hc.uri)}</td><td>${h(hc.expr ?? '')}</td><td class="${hc.last !== null && !hc.last.ok ? 'hc-fail' : ''}">${h(last)}</td>`;
}

function membersTable(b: PageBalancer): string {
  const rows = b.view.members.map((m) => {
    const link = `<a href="${h(managerLink(b.view.name, b.nonce, m.url))}">${h(m.url)}</a>`;
    return `<tr data-member="${h(m.url)}"><td class="url">${link}</td><td>${h(m.route)}</td><td>${h(m.redirect)}</td><td>${factor(Math.round(m.loadfactor * 100))}</td><td>${m.lbset}</td><td class="status">${h(m.status)}</td><td>${m.elected}</td><td>${m.busy}</td><td>${m.lbstatus}</td><td>${h(strfsize(m.transferred))}</td><td>${h(strfsize(m.read))}</td>${hcCells(m)}</tr>`;
  });
  return `<table class="members"><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th><th>HC Method</th><th>HC Interval</th><th>Passes</th><th>Fails</th><th>HC uri</th><th>HC Expr</th><th>Last check</th></tr>
${rows.join('\n')}
</table>`;
}

/** httpd's create_radio: On / Off for a flag or a switch. */
function radio(name: string, on: boolean): string {
  return `<td><label><input type="radio" name="${name}" id="${name}1" value="1"${on ? ' checked' : ''}> On</label> <label><input type="radio" name="${name}" id="${name}0" value="0"${on ? '' : ' checked'}> Off</label></td>`;
}

const FLAG_COLUMNS: ReadonlyArray<[letter: string, title: string]> = [
  ['I', 'Ignore Errors'],
  ['N', 'Draining Mode'],
  ['D', 'Disabled'],
  ['H', 'Hot Standby'],
  ['R', 'Hot Spare'],
  ['C', 'HC Fail'],
  ['S', 'Stopped'],
];

function hidden(b: PageBalancer, member?: string): string {
  return `<input type="hidden" name="b" value="${h(b.view.name)}">${member === undefined ? '' : `<input type="hidden" name="w" value="${h(member)}">`}<input type="hidden" name="nonce" value="${h(b.nonce ?? '')}">`;
}

function memberForm(b: PageBalancer, m: MemberView): string {
  const flags = new Set(m.flags);
  return `<h3>Edit worker settings for ${h(m.url)}</h3>
<form method="post" action="${MANAGER_PATH}" enctype="application/x-www-form-urlencoded" id="member-form">
<table>
<tr><td><label for="w_lf">Load factor:</label></td><td><input name="w_lf" id="w_lf" type="text" value="${factor(Math.round(m.loadfactor * 100))}"></td></tr>
<tr><td><label for="w_ls">LB Set:</label></td><td><input name="w_ls" id="w_ls" type="text" value="${m.lbset}"></td></tr>
<tr><td><label for="w_wr">Route:</label></td><td><input name="w_wr" id="w_wr" type="text" value="${h(m.route)}"></td></tr>
<tr><td><label for="w_rr">Route Redirect:</label></td><td><input name="w_rr" id="w_rr" type="text" value="${h(m.redirect)}"></td></tr>
<tr><td>Status:</td><td><table><tr>${FLAG_COLUMNS.map(([, title]) => `<th>${title}</th>`).join('')}</tr>
<tr>${FLAG_COLUMNS.map(([letter]) => radio(`w_status_${letter}`, flags.has(letter))).join('')}</tr></table></td></tr>
<tr><td colspan="2"><input type="submit" id="submit-member" value="Submit"></td></tr>
</table>
${hidden(b, m.url)}
</form>`;
}

function balancerForm(b: PageBalancer): string {
  const v = b.view;
  const add = v.usedMembers < v.maxMembers
    ? `<tr><td><label for="b_nwrkr">Add New Worker:</label></td><td><input name="b_nwrkr" id="b_nwrkr" size="32" type="text"> <label>Are you sure? <input name="b_wyes" id="b_wyes" type="checkbox" value="1"></label> (it starts disabled)</td></tr>`
    : '';
  return `<h3>Edit balancer settings for ${h(v.url)}</h3>
<form method="post" action="${MANAGER_PATH}" enctype="application/x-www-form-urlencoded" id="balancer-form">
<table>
<tr><td><label for="b_lbm">LBmethod:</label></td><td><select name="b_lbm" id="b_lbm">${LB_METHODS.map((m) => `<option value="${m}"${m === v.lbmethod ? ' selected' : ''}>${m}</option>`).join('')}</select></td></tr>
<tr><td><label for="b_tmo">Timeout:</label></td><td><input name="b_tmo" id="b_tmo" type="text" value="${v.timeout}"></td></tr>
<tr><td><label for="b_max">Failover Attempts:</label></td><td><input name="b_max" id="b_max" type="text" value="${v.maxattempts}"${v.maxattemptsSet ? '' : ' disabled title="maxattempts is not set for this balancer: a value would have no effect"'}></td></tr>
<tr><td>Disable Failover:</td>${radio('b_sforce', v.nofailover)}</tr>
<tr><td><label for="b_ss">Sticky Session:</label></td><td><input name="b_ss" id="b_ss" size="64" type="text" value="${h(v.stickysession === null ? '' : v.stickysession.replace('|', ' | '))}"> (Use '-' to delete)</td></tr>
${add}
<tr><td colspan="2"><input type="submit" id="submit-balancer" value="Submit"></td></tr>
</table>
${hidden(b)}
</form>`;
}

export function renderManagerPage(p: PageModel): string {
  const sections = p.balancers.map((b) => {
    const title = b.nonce === null ? h(b.view.url) : `<a href="${h(managerLink(b.view.name, b.nonce))}">${h(b.view.url)}</a>`;
    const note = b.nonce === null && p.readonlyReason === null ? '<p class="notice">This balancer has <code>nonce: None</code>: the manager cannot change it.</p>' : '';
    return `<hr>
<section data-balancer="${h(b.view.name)}">
<h3>LoadBalancer Status for ${title}</h3>
${note}
${settingsTable(b.view)}
${membersTable(b)}
</section>`;
  });
  let form = '';
  if (p.selected !== null && p.readonlyReason === null) {
    const b = p.balancers.find((x) => x.view.name === p.selected!.balancer);
    if (b !== undefined && b.nonce !== null) {
      const m = p.selected.member === null ? undefined : b.view.members.find((x) => x.url === p.selected!.member);
      form = `<hr>\n${m !== undefined ? memberForm(b, m) : balancerForm(b)}`;
    }
  }
  const error = p.error === null ? '' : `<p class="error" id="error" role="alert"><strong>Nothing was changed:</strong> ${h(p.error)}</p>`;
  const readonly = p.readonlyReason === null ? '' : `<p class="notice" id="readonly">${h(p.readonlyReason)}</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Balancer Manager</title><style>${STYLE}</style></head>
<body><h1>Load Balancer Manager for ${h(p.host)}</h1>
<dl><dt>Server Version: stickyd</dt><dt>Balancer changes will NOT be persisted on restart; they survive a reload (SIGHUP) for members that are still configured.</dt></dl>
<p><a href="/dashboard" id="dashboard-link">Live dashboard</a>: member states in colour, request rates, response times and events, updated every second.</p>
${error}${readonly}
${sections.join('\n')}
${form}
<hr>
</body></html>
`;
}
