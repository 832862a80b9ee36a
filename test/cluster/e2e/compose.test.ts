// docker-compose.yml: the demo's nodes find each other by DNS (a shared network alias, receivers on
// 0.0.0.0 with a secret), so the file fixes no subnet and no addresses. Docker cannot run here: the
// file is checked as data, and then run without Docker — each backend in a network namespace of its
// own on a bridge, stickyd in front (fixtures/compose-scenario.ts, inside `unshare -rnm`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runScenario, stopScenarios, unshareWorks } from '../../helpers/netns-scenario.js';
import { repoRoot } from '../../helpers/spawn.js';

const compose = YAML.parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, any>; networks: any };
const backends = Object.entries(compose.services).filter(([, s]) => Array.isArray(s.command) && s.command[0] === 'demo-backend');
const flag = (cmd: string[], name: string) => cmd[cmd.indexOf(name) + 1];

describe('docker-compose.yml', () => {
  it('fixes no subnet or address: the backends share a network alias and look it up (DNS membership) from 0.0.0.0 with a secret', () => {
    const text = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    expect(text).not.toMatch(/ipv4_address|ipam|subnet:/);
    expect(backends.map(([name]) => name)).toEqual(['backend-a', 'backend-b']);
    const aliases = backends.map(([, s]) => s.networks.cluster.aliases);
    expect(aliases).toEqual([['cluster-nodes'], ['cluster-nodes']]);
    for (const [, s] of backends) {
      const cmd = s.command as string[];
      expect(flag(cmd, '--dns')).toBe('cluster-nodes');
      expect(flag(cmd, '--cluster-address')).toBe('0.0.0.0');
      expect(cmd).not.toContain('--members');
      expect(s.environment.CLUSTER_SECRET).toMatch(/^\$\{CLUSTER_SECRET(:-.+)?\}$/);
      expect(flag(cmd, '--port')).toBe(s.environment.PORT);
    }
    // stickyd's mounted configuration names each backend by service name, port and route.
    const mounted = (compose.services.stickyd.volumes as string[])[0]!.split(':')[0]!;
    const config = YAML.parse(readFileSync(path.join(repoRoot, mounted), 'utf8'));
    expect(config.balancers.cluster.members.map((m: { url: string; route: string }) => [m.url, m.route])).toEqual(
      backends.map(([name, s]) => [`http://${name}:${flag(s.command, '--port')}`, flag(s.command, '--route')]),
    );
  });
});

const SETUP = 'ip link set lo up';
const canUnshare = unshareWorks(`${SETUP} && ip link add br0 type bridge && which nsenter`, '-rnm');

afterEach(stopScenarios);

it.skipIf(!canUnshare)(
  'runs as composed: the nodes find each other through the alias, a session survives kill -9 of its node (namespaces, no Docker)',
  async () => {
    // Everything the scenario starts lives in this namespace and dies with it (unshare --kill-child).
    const r = await runScenario({
      script: path.join(repoRoot, 'test/cluster/e2e/fixtures/compose-scenario.ts'),
      unshareFlags: ['-rnm', '--kill-child'],
      env: { ...process.env, CLUSTER_SECRET: '', STICKYD_ADMIN_TOKEN: '' }, // the file's defaults, as in a plain `docker compose up`
      stopWith: 'SIGTERM',
    });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.steps).toEqual(['backend-a ready', 'backend-b ready', 'stickyd listening', 'joined']);
    expect(r.dnsQueries).toBeGreaterThan(0);
    const { first, second } = r.before;
    expect(second.node).toBe(first.node);
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.hits).toBe(2);
    // After kill -9: the other node serves the same session (renamed to its route), hits go on.
    const { third } = r.after;
    expect(third.node).not.toBe(first.node);
    expect(third.hits).toBe(3);
    expect(third.sessionId.split('.')[0]).toBe(first.sessionId.split('.')[0]);
    expect(third.sessionId.split('.')[1]).toBe(third.node);
    expect(third.originalSessionId).toBe(first.sessionId);
  },
  120_000,
);
