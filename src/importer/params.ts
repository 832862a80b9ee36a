/**
 * Balancer and member parameters (apache-semantics §7.1, §7.2) from Apache's `key=value` text to the value of
 * the stickyd key of the same name, with Apache's own checks (mod_proxy.c set_balancer_param,
 * set_worker_param; mod_proxy_hcheck.c set_worker_hc_param): a value Apache refuses would stop
 * httpd from starting, so it is reported rather than guessed at.
 *
 * Each reader returns what to set (`set`: key → value, usually one key), or why nothing is set.
 */
import { applyStatus, Flag, StatusSyntaxError } from '../balancer/flags.js';
import { didYouMean } from '../config/suggest.js';
import { ApacheValueError, atof, atoi, atoiSeconds, onOff, timeoutParameter } from './values.js';

/** A value as it goes into the YAML file: durations are milliseconds here (tagged), formatted by emit. */
export type ParamValue = string | number | boolean | null | number[] | string[] | Duration;

/** A duration in milliseconds, written as `500ms` / `5s` in the YAML file. */
export class Duration {
  constructor(readonly ms: number) {}
}

export type ParamResult =
  | { kind: 'set'; set: Record<string, ParamValue>; note?: string }
  /** Apache itself refuses the value (httpd would not start). */
  | { kind: 'invalid'; message: string }
  /** Apache accepts it, but stickyd has no equivalent. */
  | { kind: 'unsupported'; message: string };

const set = (key: string, value: ParamValue, note?: string | null): ParamResult =>
  note ? { kind: 'set', set: { [key]: value }, note } : { kind: 'set', set: { [key]: value } };

/** Read with Apache's checks; an ApacheValueError becomes `invalid`. */
function guarded(read: () => ParamResult): ParamResult {
  try {
    return read();
  } catch (err) {
    if (err instanceof ApacheValueError) return { kind: 'invalid', message: err.message };
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Balancer parameters (apache-semantics §7.1)

const LBMETHODS = ['byrequests', 'bybusyness', 'bytraffic'];

/** The balancer parameters httpd knows (set_balancer_param). */
const BALANCER_KEYS = ['stickysession', 'stickysessionsep', 'scolonpathdelim', 'nofailover', 'failontimeout', 'forcerecovery', 'timeout', 'maxattempts', 'lbmethod', 'failonstatus', 'nonce', 'growth'];

/**
 * Names people bring from elsewhere, for the did-you-mean of an unknown parameter: mod_jk's
 * workers.properties (lbfactor, sticky_session, method, activation), HAProxy and nginx (weight),
 * and httpd's own internal name of loadfactor (worker->s->lbfactor).
 */
const FOREIGN_NAMES: Record<string, string> = {
  lbfactor: 'loadfactor',
  weight: 'loadfactor',
  activation: 'status',
  jvmroute: 'route',
  sticky: 'stickysession',
  sticky_session: 'stickysession',
  method: 'lbmethod',
  balance: 'lbmethod',
};

/**
 * Why httpd refuses an unknown parameter, with what was probably meant: a known name a typo away
 * or a known foreign one, or the other kind of parameter (a BalancerMember one on a balancer).
 */
function unknownParameter(kind: 'Balancer' | 'Worker', key: string): string {
  const lower = key.toLowerCase();
  const [own, other, otherKind, otherWhere] = kind === 'Balancer'
    ? [BALANCER_KEYS, isMemberParam(lower), 'BalancerMember', 'on the BalancerMember line']
    : [[...MEMBER_KEYS], BALANCER_KEYS.includes(lower), 'Balancer', 'in ProxySet, or after the balancer:// URL of ProxyPass'];
  const where = `a ${otherKind} parameter: write it ${otherWhere}`;
  if (other) return `unknown ${kind} parameter (${key} is ${where})`;
  const foreign = Object.hasOwn(FOREIGN_NAMES, lower) ? FOREIGN_NAMES[lower] : undefined;
  if (foreign !== undefined && !own.includes(foreign)) return `unknown ${kind} parameter — did you mean ${foreign}=? (${where})`;
  const guess = foreign ?? didYouMean(lower, own);
  return `unknown ${kind} parameter${guess ? ` — did you mean ${guess}=?` : ''}`;
}

export function readBalancerParam(key: string, value: string): ParamResult {
  return guarded(() => {
    switch (key.toLowerCase()) {
      case 'stickysession':
        // Apache truncates to 63 characters without a word (apache-semantics §7.1); we keep what it keeps.
        return set('stickysession', value.slice(0, 63), value.length > 63 ? `Apache silently truncates it to 63 characters: "${value.slice(0, 63)}"` : null);
      case 'stickysessionsep':
        if (/^off$/i.test(value)) return set('stickysessionsep', 'Off');
        if (value.length !== 1) throw new ApacheValueError('stickysessionsep must be a single character or Off');
        return set('stickysessionsep', value);
      case 'scolonpathdelim':
        return set('scolonpathdelim', onOff(value, 'scolonpathdelim must be On|Off'));
      case 'nofailover':
        return set('nofailover', onOff(value, 'failover must be On|Off'));
      case 'failontimeout':
        return set('failontimeout', onOff(value, 'failontimeout must be On|Off'));
      case 'forcerecovery':
        return set('forcerecovery', onOff(value, 'forcerecovery must be On|Off'));
      case 'timeout': {
        const t = atoiSeconds(value);
        if (t.ms < 1000) throw new ApacheValueError('timeout must be at least one second');
        return set('timeout', new Duration(t.ms), t.note);
      }
      case 'maxattempts': {
        const n = atoi(value);
        if (n < 0) throw new ApacheValueError('maximum number of attempts must be a positive number');
        return set('maxattempts', n);
      }
      case 'lbmethod':
        // Providers are looked up by their exact (lower-case) name.
        if (LBMETHODS.includes(value)) return set('lbmethod', value);
        if (value === 'heartbeat') return { kind: 'unsupported', message: 'lbmethod heartbeat (mod_lbmethod_heartbeat) is not supported; the balancer keeps byrequests' };
        throw new ApacheValueError('unknown lbmethod');
      case 'failonstatus': {
        const codes: number[] = [];
        for (const word of value.split(/[, ]+/).filter(Boolean)) {
          const code = atoi(word);
          if (code < 100 || code > 599) throw new ApacheValueError('failonstatus must be one or more HTTP response codes');
          codes.push(code);
        }
        return set('failonstatus', codes);
      }
      case 'nonce':
        if (/^none$/i.test(value)) return set('nonce', 'None');
        if (value.length > 36) throw new ApacheValueError('Provided nonce is too large');
        return set('nonce', value);
      case 'growth': {
        const n = atoi(value);
        if (n < 1 || n > 100) throw new ApacheValueError('growth must be between 1 and 100');
        return set('growth', n);
      }
      default:
        throw new ApacheValueError(unknownParameter('Balancer', key));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Member (worker) parameters (apache-semantics §7.2)

/** Worker parameters httpd knows that stickyd has no equivalent for, with the reason. */
const UNSUPPORTED_MEMBER: Record<string, string> = {
  min: 'stickyd keeps no minimum of pooled connections',
  smax: 'stickyd has no soft pool limit; idle connections are closed after ttl',
  flushpackets: 'stickyd streams responses as they arrive',
  flushwait: 'stickyd streams responses as they arrive',
  iobuffersize: 'stickyd sizes its buffers itself',
  receivebuffersize: 'stickyd uses the system socket buffer size',
  responsefieldsize: 'not supported',
  addressttl: 'stickyd resolves host names through the system resolver on each new connection',
  flusher: 'not supported',
  mapping: 'not supported',
};

const MEMBER_KEYS = new Set([
  'loadfactor', 'lbset', 'route', 'redirect', 'status', 'retry', 'timeout', 'connectiontimeout', 'ttl', 'max',
  'acquire', 'keepalive', 'disablereuse', 'enablereuse', 'ping', 'secret', 'upgrade',
  'hcmethod', 'hcuri', 'hcinterval', 'hcpasses', 'hcfails', 'hcexpr', 'hctemplate',
  ...Object.keys(UNSUPPORTED_MEMBER),
]);

export function isMemberParam(key: string): boolean {
  return MEMBER_KEYS.has(key.toLowerCase());
}

/** `ProxyHCExpr name {expr}` and `ProxyHCTemplate name k=v...`, as defined so far (httpd looks them up while reading). */
export interface HealthCheckDefinitions {
  expressions: Map<string, string>;
  /** Template name (compared case-insensitively: stored lower-cased) → its hc* keys, already read. */
  templates: Map<string, Record<string, ParamValue>>;
}

const HC_METHODS: Record<string, string> = {
  none: 'None', tcp: 'TCP', options: 'OPTIONS', head: 'HEAD', get: 'GET',
  // The …11 variants send HTTP/1.1 (the plain ones HTTP/1.0); stickyd's checks choose the version
  // themselves, so both map to the method.
  options11: 'OPTIONS', head11: 'HEAD', get11: 'GET',
};

/** A time read by ap_timeout_parameter_parse with `unit` as default, at least `minMs`. */
function timeoutParam(key: string, value: string, unit: 'ms' | 's', minMs: number, tooSmall: string, wrongFormat: string): ParamResult {
  const ms = timeoutParameter(value, unit);
  if (ms === null) throw new ApacheValueError(wrongFormat);
  // httpd stores microseconds and compares with its minimum there; a millisecond is the smallest step we keep.
  if (ms < minMs) throw new ApacheValueError(tooSmall);
  return set(key, new Duration(ms));
}

export function readMemberParam(key: string, value: string, hc: HealthCheckDefinitions): ParamResult {
  return guarded(() => {
    const lower = key.toLowerCase();
    switch (lower) {
      case 'loadfactor': {
        const v = atof(value);
        const lbfactor = Math.trunc(v * 100);
        if (lbfactor < 100 || lbfactor > 10000) throw new ApacheValueError('LoadFactor must be a number between 1..100');
        return set('loadfactor', v);
      }
      case 'lbset': {
        const n = atoi(value);
        if (n < 0 || n > 99) throw new ApacheValueError('lbset must be between 0 and 99');
        return set('lbset', n);
      }
      case 'route':
      case 'redirect':
        if (value.length >= 64) throw new ApacheValueError(`${lower === 'route' ? 'Route' : 'Redirect'} length must be < 64 characters`);
        return set(lower, value);
      case 'status':
        try {
          applyStatus(value, Flag.INITIALIZED);
        } catch (err) {
          if (err instanceof StatusSyntaxError) throw new ApacheValueError(`Unknown status parameter option (${err.message})`);
          throw err;
        }
        return set('status', value);
      case 'retry': {
        const t = atoiSeconds(value);
        if (t.ms < 0) throw new ApacheValueError('Retry must be a positive value');
        return set('retry', new Duration(t.ms), t.note);
      }
      case 'timeout': {
        const t = atoiSeconds(value);
        if (t.ms < 1000) throw new ApacheValueError('Timeout must be at least one second');
        return set('timeout', new Duration(t.ms), t.note);
      }
      case 'ttl': {
        const t = atoiSeconds(value);
        if (t.ms < 1000) throw new ApacheValueError('TTL must be at least one second');
        return set('ttl', new Duration(t.ms), t.note);
      }
      case 'connectiontimeout':
        return timeoutParam('connectiontimeout', value, 's', 1, 'Connectiontimeout must be at least one millisecond.', 'Connectiontimeout has wrong format');
      case 'ping':
        return timeoutParam('ping', value, 's', 1, 'Ping/Pong timeout must be at least one millisecond', 'Ping/Pong timeout has wrong format');
      case 'acquire':
        return timeoutParam('acquire', value, 'ms', 1, 'Acquire must be at least one millisecond', 'Acquire timeout has wrong format');
      case 'max': {
        const n = atoi(value);
        if (n < 0) throw new ApacheValueError('Max must be a positive number');
        // max=0 is httpd's "use the default"; stickyd's default (128) stands in for it.
        return n === 0 ? { kind: 'set', set: {} } : set('max', n);
      }
      case 'keepalive':
        return set('keepalive', onOff(value, 'KeepAlive must be On|Off'));
      case 'disablereuse':
        return set('disablereuse', onOff(value, 'DisableReuse must be On|Off'));
      case 'enablereuse':
        return set('disablereuse', !onOff(value, 'EnableReuse must be On|Off'));
      case 'secret':
        return set('secret', value);
      case 'upgrade':
        // stickyd tunnels every Upgrade request to an http:// or https:// member (README,
        // differences): what this parameter turns on in httpd is always on. Accepted, with a word
        // on the difference, since httpd tunnels only the protocols it names.
        return {
          kind: 'set',
          set: {},
          note: value === '*' || /^any$/i.test(value)
            ? 'accepted, nothing to carry over: stickyd tunnels every Upgrade request to an http:// or https:// member, as this does in httpd'
            : `accepted, nothing to carry over: stickyd tunnels every Upgrade request to an http:// or https:// member whatever its protocol (httpd: only ${value}); an ajp:// member answers one with 502`,
        };
      case 'hcmethod': {
        const method = HC_METHODS[value.toLowerCase()];
        if (method) return set('hcmethod', method);
        if (/^(cping|provider)$/i.test(value)) throw new ApacheValueError(`Health check method ${value} not (yet) implemented`);
        throw new ApacheValueError('Unknown method');
      }
      case 'hcinterval':
        // AP_WD_TM_SLICE: the watchdog runs every 100 ms.
        return timeoutParam('hcinterval', value, 's', 100, 'Interval must be a positive value greater than 100ms', 'Unparse-able hcinterval setting');
      case 'hcpasses':
      case 'hcfails': {
        const n = atoi(value);
        if (n < 0) throw new ApacheValueError(`${lower === 'hcpasses' ? 'Passes' : 'Fails'} must be a positive value`);
        // httpd counts a check and then compares (count >= limit), so 0 acts like 1.
        return set(lower, Math.max(n, 1));
      }
      case 'hcuri':
        return set('hcuri', value);
      case 'hcexpr': {
        const expr = hc.expressions.get(value);
        if (expr === undefined) throw new ApacheValueError(`Unknown health check condition expr: ${value}`);
        return set('hcexpr', expr);
      }
      case 'hctemplate': {
        const template = hc.templates.get(value.toLowerCase());
        if (!template) throw new ApacheValueError(`Unknown ProxyHCTemplate name: ${value}`);
        return { kind: 'set', set: { ...template } };
      }
      default: {
        const why = UNSUPPORTED_MEMBER[lower];
        if (why) return { kind: 'unsupported', message: why };
        throw new ApacheValueError(unknownParameter('Worker', key));
      }
    }
  });
}

/**
 * `ProxyHCTemplate name k=v...`: a template sets all six health-check fields of a member that
 * uses it; what the template does not give keeps httpd's template defaults (method TCP —
 * enum value 1 —, interval 30 s, passes 1, fails 1, no uri, no expression).
 */
export function templateDefaults(): Record<string, ParamValue> {
  return { hcmethod: 'TCP', hcinterval: new Duration(30_000), hcpasses: 1, hcfails: 1, hcuri: '', hcexpr: null };
}
