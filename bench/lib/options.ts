/**
 * Command-line options of `npm run bench` (bench/run.ts):
 *
 *   --quick            short durations and 100k requests in the RSS phase: a smoke run (~3 min)
 *   --only a,b         proxies to measure: stickyd, apache, nginx, haproxy (the backend is always measured
 *                      directly: it is the baseline of the added latency)
 *   --json FILE        also write every figure as JSON
 *   --source           run stickyd from src/ through tsx instead of compiling it
 *   --profile          afterwards, profile stickyd under sticky load (--cpu-prof) and print hot spots
 *   --rss-requests N   requests in the RSS phase (default 1000000)
 *   --wait-quiet N     first wait up to N seconds for other processes to leave both cores idle
 *   --retry-disturbed N  measure a run again (at most N times) when other processes took more
 *                      than 10% of a core during it, and keep the least disturbed one
 *   --jit-warmup N     seconds of load (cookieless and sticky in turns) each node-based proxy
 *                      (stickyd, the minimal proxy) gets before its first measured run, so that V8
 *                      has stopped compiling (default 30; 6 with --quick; 0 turns it off)
 *   --rounds N         throughput rounds: each measures every target on both traffics in turn,
 *                      the order rotated by one target per round; a row is its median round and a
 *                      ratio the median of the ratios within each round (default 3; 1 with --quick)
 *   --seconds N        measured window of each throughput run, after its warm-up (default 5; 3 with
 *                      --quick): 3 rounds × 15 runs × (2 s warm-up + 5 s) is about 5 minutes
 *   --paired-rounds N  windows of --seconds per pair and traffic in the paired phase: stickyd
 *                      workers=1 and a reference (or stickyd with its access log on) loaded at the
 *                      same time on the proxy core, so that both meet the same machine speed
 *                      (default 3; 1 with --quick; 0 turns the phase off)
 */
export const PROXIES = ['stickyd', 'apache', 'nginx', 'haproxy'] as const;
export type ProxyName = (typeof PROXIES)[number];

export interface BenchOptions {
  quick: boolean;
  only: ReadonlySet<ProxyName>;
  json: string | null;
  source: boolean;
  profile: boolean;
  rssRequests: number;
  /** Seconds to wait for a quiet machine before starting (0: start at once). */
  waitQuiet: number;
  /** Extra attempts for a run other processes disturbed. */
  retryDisturbed: number;
  /**
   * Throughput rounds. The machine's speed drifts over minutes (other tenants of the VM): two
   * targets measured minutes apart compare two speeds. Each round measures every target, and
   * ratios are taken within a round, where both were measured a minute or two apart at most.
   */
  rounds: number;
  /**
   * Windows per pair and traffic in the paired phase: stickyd and a reference loaded at the same
   * time on one core, each window's ratio free of the machine's drift (0: no paired phase).
   */
  pairedRounds: number;
  /** Seconds of each throughput run, after warmup seconds of the same load. */
  seconds: number;
  warmup: number;
  /**
   * Seconds of load a node-based proxy gets once before its first throughput run. V8 keeps
   * optimising (and deoptimising and optimising again) stickyd's request path for about 30 s of
   * full load (~170k requests); measured before that, a run counts the compiler too.
   */
  jitWarmup: number;
  /** Seconds of each fixed-rate latency run. */
  latencySeconds: number;
  /** The RSS phase stops after this many seconds even if rssRequests were not reached. */
  rssMaxSeconds: number;
  connections: number;
}

export class UsageError extends Error {
  /** --help: the message is the usage text and asking for it is not an error. */
  constructor(message: string, readonly help = false) {
    super(message);
  }
}

export function parseOptions(argv: string[]): BenchOptions {
  let quick = false;
  let only: Set<ProxyName> = new Set(PROXIES);
  let json: string | null = null;
  let source = false;
  let profile = false;
  let jitWarmup: number | null = null;
  let rssRequests: number | null = null;
  let waitQuiet = 0;
  let retryDisturbed = 0;
  let rounds: number | null = null;
  let seconds: number | null = null;
  let pairedRounds: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    /** The value as a whole number from `min` to `max`, else a UsageError saying `what` it takes. */
    const whole = (min: number, max: number, what: string): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} takes ${what}`);
      return n;
    };
    switch (flag) {
      case '--quick': quick = true; break;
      case '--source': source = true; break;
      case '--profile': profile = true; break;
      case '--json': json = value(); break;
      case '--only': {
        const names = value().split(',').map((s) => s.trim()).filter(Boolean);
        const bad = names.filter((n) => !(PROXIES as readonly string[]).includes(n));
        if (bad.length > 0 || names.length === 0) {
          throw new UsageError(`--only takes a comma-separated list of ${PROXIES.join(', ')}; got "${bad.join(',') || '(nothing)'}"`);
        }
        only = new Set(names as ProxyName[]);
        break;
      }
      case '--rss-requests': rssRequests = whole(1000, Infinity, 'a whole number ≥ 1000'); break;
      case '--wait-quiet': {
        const n = Number(value());
        if (!Number.isFinite(n) || n < 0 || n > 3600) throw new UsageError('--wait-quiet takes seconds between 0 and 3600');
        waitQuiet = n;
        break;
      }
      case '--retry-disturbed': retryDisturbed = whole(0, 5, 'a whole number from 0 to 5'); break;
      case '--jit-warmup': jitWarmup = whole(0, 600, 'whole seconds from 0 to 600'); break;
      case '--rounds': rounds = whole(1, 15, 'a whole number from 1 to 15'); break;
      case '--seconds': seconds = whole(1, 120, 'whole seconds from 1 to 120 (the measured window of each throughput run)'); break;
      case '--paired-rounds': pairedRounds = whole(0, 15, 'a whole number from 0 to 15 (0 turns the paired phase off)'); break;
      case '--help': case '-h':
        throw new UsageError('usage: npm run bench -- [--quick] [--only stickyd,nginx,haproxy] [--json FILE] [--source] [--profile] [--rss-requests N] [--wait-quiet N] [--retry-disturbed N] [--jit-warmup N] [--rounds N] [--seconds N] [--paired-rounds N]\n  --rounds N   throughput rounds, every target measured in each, the order rotated (default 3; --quick 1)\n  --seconds N  measured window of each throughput run, after its warm-up (default 5; --quick 3)\n  --paired-rounds N  windows per pair and traffic with stickyd and a reference loaded at the same time on one core (default 3; --quick 1; 0: off)', true);
      default:
        throw new UsageError(`unknown option ${a} (try --help)`);
    }
  }
  return {
    quick,
    only,
    json,
    source,
    profile,
    rssRequests: rssRequests ?? (quick ? 100_000 : 1_000_000),
    waitQuiet,
    retryDisturbed,
    rounds: rounds ?? (quick ? 1 : 3),
    pairedRounds: pairedRounds ?? (quick ? 1 : 3),
    seconds: seconds ?? (quick ? 3 : 5),
    warmup: quick ? 1 : 2,
    jitWarmup: jitWarmup ?? (quick ? 6 : 30),
    latencySeconds: quick ? 3 : 6,
    rssMaxSeconds: quick ? 20 : 90,
    connections: 50,
  };
}
