/**
 * `stickyd ctl`: the runtime JSON API from scripts (the admin listener, src/admin/api.ts).
 *
 *   stickyd ctl status [BALANCER]                    table of balancers and members (--json: the API's document)
 *   stickyd ctl drain BALANCER MEMBER                +N: only existing sticky sessions
 *   stickyd ctl disable BALANCER MEMBER              +D
 *   stickyd ctl enable BALANCER MEMBER               -D -N -S
 *   stickyd ctl set BALANCER [MEMBER] KEY=VALUE...   member: loadfactor lbset route redirect status
 *                                                    balancer: lbmethod timeout maxattempts nofailover stickysession
 *   stickyd ctl add BALANCER URL [KEY=VALUE...]      add a member (growth slots; starts disabled)
 *   stickyd ctl reload                               re-read the balancer file (as SIGHUP); exit 1 when refused
 *
 * MEMBER is a route, or a member URL. Which daemon: `-c FILE` (or STICKYD_CONFIG) reads the admin
 * listener's address and token from the balancer file's `admin:` section (https:// with
 * `admin.tls`); `--admin` (STICKYD_ADMIN) and `--token` (STICKYD_ADMIN_TOKEN) override them;
 * without any of these, http://127.0.0.1:8052 without a token. An https:// admin listener is
 * verified against node's public CAs, or the CA file given with `--cacert` (STICKYD_ADMIN_CACERT,
 * curl's name for it). On an error the API's message is printed and the exit code is 1.
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Argv, CommandModule } from 'yargs';
import { strfsize } from '../admin/format.js';
import type { BalancerView, MemberView } from '../admin/view.js';
import { formatProblem } from '../config/errors.js';
import { loadAdminSection } from '../config/load.js';
import { reachable } from './healthcheck.js';

const DEFAULT_ADMIN = 'http://127.0.0.1:8052';
/** A ctl call that takes longer than this has a problem worth reporting. */
const TIMEOUT_MS = 10_000;

class CtlError extends Error {
  /** The API's whole answer when a reload was refused (422). */
  refused?: unknown;
}

interface Target {
  admin: string;
  token: string | undefined;
  /** PEM CA certificates for an https:// admin listener (--cacert); null: node's public CAs. */
  ca: string | null;
}

/** Why a TLS connection to the admin listener failed, with what to do about it. */
function tlsHint(code: string | undefined): string {
  if (code === undefined) return '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|EXPIRED/.test(code)) return ' (is its certificate issued by the CA given with --cacert, and does it name the host in --admin?)';
  return '';
}

async function call(t: Target, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (t.token) headers.Authorization = `Bearer ${t.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const url = `${t.admin.replace(/\/+$/, '')}${path}`;
  let res: Response;
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) };
  try {
    res = t.ca === null ? await fetch(url, init) : ((await undiciFetch(url, { ...init, dispatcher: new Agent({ connect: { ca: t.ca } }) })) as unknown as Response);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CtlError(`cannot reach the admin listener at ${t.admin}: ${cause?.code ?? cause?.message ?? (err as Error).message}${tlsHint(cause?.code)}`);
  }
  const text = await res.text();
  let doc: unknown;
  try {
    doc = text === '' ? null : JSON.parse(text);
  } catch {
    throw new CtlError(`${method} ${url}: ${res.status} ${res.statusText}: not a JSON answer (is ${t.admin} a stickyd admin listener?)`);
  }
  if (!res.ok) {
    const e = doc as { error?: string; field?: string } | null;
    const err = new CtlError(`${e?.error ?? `${res.status} ${res.statusText}`}${e?.field ? ` (field: ${e.field})` : ''}`);
    if (res.status === 422) err.refused = doc;
    throw err;
  }
  return doc;
}

function memberPath(balancer: string, member: string): string {
  return `/api/balancers/${encodeURIComponent(balancer)}/members/${encodeURIComponent(member)}`;
}

const MEMBER_KEYS = ['loadfactor', 'lbset', 'route', 'redirect', 'status'];
const NUMBER_KEYS = new Set(['loadfactor', 'lbset', 'timeout', 'maxattempts']);

/** KEY=VALUE words → a JSON body; numbers and on/off become JSON numbers and booleans. */
export function assignments(words: readonly string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new CtlError(`expected KEY=VALUE, got "${word}"`);
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (NUMBER_KEYS.has(key) && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) body[key] = Number(value);
    else if (key === 'nofailover' && /^(on|off|true|false|1|0)$/i.test(value)) body[key] = /^(on|true|1)$/i.test(value);
    else if (key === 'stickysession' && value === '-') body[key] = null;
    else body[key] = value;
  }
  return body;
}

/** Left-aligned columns, two spaces apart. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function health(m: MemberView): string {
  const hc = m.health;
  if (hc === null) return '-';
  if (hc.last === null) return `${hc.method} (not checked yet)`;
  return `${hc.method} ${hc.last.ok ? 'pass' : 'FAIL'}`;
}

/** The `status` table of one balancer. */
export function renderBalancer(b: BalancerView): string {
  const head = `${b.url}  lbmethod ${b.lbmethod}  stickysession ${b.stickysession ?? '(none)'}  nofailover ${b.nofailover ? 'On' : 'Off'}  timeout ${b.timeout}s  maxattempts ${b.maxattempts}  maxmembers ${b.maxMembers} (${b.usedMembers} used)${b.readonly ? '  (read-only)' : ''}`;
  const rows = [['MEMBER', 'ROUTE', 'STATUS', 'FACTOR', 'SET', 'ELECTED', 'BUSY', 'LOAD', 'TO', 'FROM', 'HEALTH']];
  for (const m of b.members) {
    rows.push([m.url, m.route || '-', m.status.trim(), m.loadfactor.toFixed(2), String(m.lbset), String(m.elected), String(m.busy), String(m.lbstatus), strfsize(m.transferred).trim(), strfsize(m.read).trim(), health(m)]);
  }
  return `${head}\n${table(rows).replace(/^/gm, '  ')}`;
}

/** What /api/status says about the daemon (status header of `ctl status`). */
interface DaemonStatus {
  version: string;
  commit: string;
  node: string;
  pid: number;
  started: string;
  config: string;
  reload: { time: string; trigger: string; successful: boolean; errors: string[]; lastSuccess: string } | null;
}

/** The lines above the balancer tables: what runs, and how its last reload went. */
export function renderDaemon(d: DaemonStatus): string {
  const lines = [`stickyd ${d.version} (commit ${d.commit}) on Node.js ${d.node}, pid ${d.pid}, up since ${d.started}`, `config ${d.config}`];
  const r = d.reload;
  if (r !== null) {
    const what = r.trigger === 'start' ? 'loaded at start' : `last reload (${r.trigger === 'api' ? 'admin API' : r.trigger})`;
    lines.push(r.successful ? `${what} ${r.time}: successful` : `${what} ${r.time}: FAILED, running the configuration loaded ${r.lastSuccess}`);
    for (const e of r.errors) lines.push(`  ${e}`);
  }
  return lines.join('\n');
}

/** /api/status, or null when the admin listener is an older stickyd without it. */
async function daemonStatus(t: Target): Promise<DaemonStatus | null> {
  try {
    return (await call(t, 'GET', '/api/status')) as DaemonStatus;
  } catch (err) {
    if (err instanceof CtlError && /not found|not a JSON answer/.test(err.message)) return null;
    throw err;
  }
}

/** `--cacert` (or STICKYD_ADMIN_CACERT): PEM CA certificates, or null for node's public CAs. */
function caOf(argv: Record<string, unknown>): string | null {
  const file = argv.cacert === undefined ? process.env.STICKYD_ADMIN_CACERT || undefined : String(argv.cacert);
  if (file === undefined || file === '') return null;
  let ca: string;
  try {
    ca = readFileSync(file, 'latin1');
  } catch (err) {
    throw new CtlError(`cannot read the CA file ${file} (--cacert): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new CtlError(`${file} (--cacert) holds no PEM certificate`);
  return ca;
}

/**
 * The daemon to talk to: --admin/STICKYD_ADMIN and --token/STICKYD_ADMIN_TOKEN when given; what
 * they leave open from the `admin:` section of -c FILE (or STICKYD_CONFIG); else the default
 * address without a token.
 */
async function target(argv: Record<string, unknown>): Promise<Target> {
  const admin = argv.admin === undefined ? process.env.STICKYD_ADMIN || undefined : String(argv.admin);
  const token = argv.token === undefined ? process.env.STICKYD_ADMIN_TOKEN : String(argv.token);
  const ca = caOf(argv);
  const file = argv.config === undefined ? process.env.STICKYD_CONFIG || undefined : String(argv.config);
  if (file === undefined || (admin !== undefined && token !== undefined)) return { admin: admin ?? DEFAULT_ADMIN, token, ca };
  const section = await loadAdminSection(file);
  // A problem with a value that an option replaces does not matter.
  const problems = section.problems.filter((p) => !(token !== undefined && p.path === 'admin.token') && !(admin !== undefined && /^admin\.(address|port|tls)\b/.test(p.path)));
  if (problems.length > 0) {
    const tokenHint = problems.some((p) => p.path === 'admin.token') ? '\n(give the token with --token or STICKYD_ADMIN_TOKEN)' : '';
    throw new CtlError(`cannot take the admin listener from ${file}:\n${problems.map(formatProblem).join('\n')}${tokenHint}`);
  }
  if (section.admin === null && admin === undefined) {
    throw new CtlError(`${file} has no admin: section, so its daemon runs no admin listener (add admin: { address: 127.0.0.1, port: 8052 }, or give --admin URL)`);
  }
  const fromFile = section.admin;
  const host = fromFile === null ? '' : reachable(fromFile.address);
  return {
    admin: admin ?? `${fromFile!.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${fromFile!.port}`,
    token: token ?? (fromFile?.token || undefined),
    ca,
  };
}

type Args = Record<string, unknown>;

/** Runs an action, printing the API's error and setting exit code 1 on failure. */
function action(run: (t: Target, argv: Args) => Promise<void>) {
  return async (argv: Args): Promise<void> => {
    try {
      await run(await target(argv), argv);
    } catch (err) {
      if (!(err instanceof CtlError)) throw err;
      console.error(`stickyd ctl: ${err.message}`);
      process.exitCode = 1;
    }
  };
}

function printChanges(what: string, doc: unknown): void {
  const changes = (doc as { changes?: string[] }).changes ?? [];
  console.log(changes.length === 0 ? `${what}: no change` : `${what}: ${changes.join(', ')}`);
}

function memberAction(verb: string, describe: string, status: string): CommandModule {
  return {
    command: `${verb} <balancer> <member>`,
    describe,
    builder: (y) => y.positional('balancer', { type: 'string', describe: 'balancer name' }).positional('member', { type: 'string', describe: 'route or member URL' }),
    handler: action(async (t, argv) => {
      const doc = await call(t, 'PATCH', memberPath(String(argv.balancer), String(argv.member)), { status });
      const m = (doc as { member: MemberView }).member;
      printChanges(`${m.url} (${m.status.trim()})`, doc);
    }),
  };
}

export const command: CommandModule = {
  command: 'ctl',
  describe: 'Show and change balancers at runtime through the admin listener',
  builder: (y: Argv) =>
    y
      .option('config', { alias: 'c', type: 'string', requiresArg: true, describe: "balancer file: the admin listener's address and token from its admin: section (env STICKYD_CONFIG)" })
      .option('admin', { type: 'string', requiresArg: true, describe: `admin listener URL (env STICKYD_ADMIN; default: from -c FILE, else ${DEFAULT_ADMIN})` })
      .option('token', { type: 'string', requiresArg: true, describe: 'admin token (env STICKYD_ADMIN_TOKEN; default: from -c FILE)' })
      .option('cacert', { type: 'string', requiresArg: true, describe: "PEM CA certificates for an https:// admin listener (env STICKYD_ADMIN_CACERT; default: node's public CAs)" })
      .command({
        command: 'status [balancer]',
        describe: 'Balancers and members as a table',
        builder: (s: Argv) => s.positional('balancer', { type: 'string' }).option('json', { type: 'boolean', describe: "print the API's JSON" }),
        handler: action(async (t, argv) => {
          const doc = argv.balancer === undefined
            ? ((await call(t, 'GET', '/api/balancers')) as { balancers: BalancerView[] })
            : { balancers: [(await call(t, 'GET', `/api/balancers/${encodeURIComponent(String(argv.balancer))}`)) as BalancerView] };
          if (argv.balancer !== undefined) {
            if (argv.json) console.log(JSON.stringify(doc.balancers[0], null, 2));
            else console.log(renderBalancer(doc.balancers[0]!));
            return;
          }
          const daemon = await daemonStatus(t);
          if (argv.json) {
            console.log(JSON.stringify({ daemon, ...doc }, null, 2));
            return;
          }
          const tables = doc.balancers.length === 0 ? 'no balancers' : doc.balancers.map(renderBalancer).join('\n\n');
          console.log(daemon === null ? tables : `${renderDaemon(daemon)}\n\n${tables}`);
          if (daemon?.reload?.successful === false) process.exitCode = 1;
        }),
      })
      .command({
        command: 'reload',
        describe: 'Re-read the balancer file, as SIGHUP does; prints the problems and exits 1 when the file is refused',
        handler: action(async (t) => {
          let record: { time: string; successful: boolean; errors: string[]; file: string };
          try {
            record = (await call(t, 'POST', '/api/reload')) as typeof record;
          } catch (err) {
            // 422: the file was refused; the answer carries its problems.
            const refused = err instanceof CtlError ? err.refused : undefined;
            if (refused === undefined) throw err;
            record = refused as typeof record;
          }
          if (record.successful) {
            console.log(`reloaded ${record.file} at ${record.time}`);
            return;
          }
          console.error(`stickyd ctl: ${record.file} was not loaded; the running configuration stays:`);
          for (const e of record.errors) console.error(`  ${e}`);
          process.exitCode = 1;
        }),
      })
      .command(memberAction('drain', 'Drain a member (N): only its existing sticky sessions', '+N'))
      .command(memberAction('disable', 'Disable a member (D)', '+D'))
      .command(memberAction('enable', 'Enable a member: clear D, N and S', '-DNS'))
      .command({
        command: 'set <balancer> <settings..>',
        describe: 'Change settings: BALANCER KEY=VALUE... or BALANCER MEMBER KEY=VALUE...',
        builder: (s: Argv) =>
          s
            .positional('balancer', { type: 'string' })
            .positional('settings', { type: 'string', array: true, describe: '[MEMBER] KEY=VALUE...' })
            .check((argv) => {
              const words = (argv.settings as unknown[]).map(String);
              if (!words[0]?.includes('=')) words.shift();
              if (words.length === 0) throw new Error('nothing to set: give KEY=VALUE');
              assignments(words);
              return true;
            }),
        handler: action(async (t, argv) => {
          const balancer = String(argv.balancer);
          const words = (argv.settings as unknown[]).map(String);
          const member = words[0] !== undefined && !words[0].includes('=') ? words.shift()! : null;
          if (words.length === 0) throw new CtlError('nothing to set: give KEY=VALUE');
          const body = assignments(words);
          if (member === null) {
            const doc = await call(t, 'PATCH', `/api/balancers/${encodeURIComponent(balancer)}`, body);
            printChanges(`balancer://${balancer}`, doc);
          } else {
            const doc = await call(t, 'PATCH', memberPath(balancer, member), body);
            printChanges((doc as { member: MemberView }).member.url, doc);
          }
        }),
      })
      .command({
        command: 'add <balancer> <url> [settings..]',
        describe: `Add a member (it starts disabled; ${MEMBER_KEYS.join(', ')} may follow as KEY=VALUE)`,
        builder: (s: Argv) =>
          s
            .positional('balancer', { type: 'string' })
            .positional('url', { type: 'string' })
            .positional('settings', { type: 'string', array: true })
            .check((argv) => (assignments(((argv.settings as unknown[] | undefined) ?? []).map(String)), true)),
        handler: action(async (t, argv) => {
          const balancer = String(argv.balancer);
          const body = { url: String(argv.url), ...assignments(((argv.settings as unknown[] | undefined) ?? []).map(String)) };
          const doc = await call(t, 'POST', `/api/balancers/${encodeURIComponent(balancer)}/members`, body);
          printChanges(`balancer://${balancer}`, doc);
        }),
      })
      .demandCommand(1, 'name an action: status, reload, drain, disable, enable, set or add'),
  handler: () => {},
};
