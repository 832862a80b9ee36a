// examples/kubernetes/stickyd-cluster.yaml cannot be applied here: it is checked as data — the
// headless Service the nodes look up, node arguments that demo-backend accepts (strict parse) and
// that make a valid DNS-membership channel, and a balancer file stickyd accepts whose members are
// the StatefulSet's pods with their names as routes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import YAML from 'yaml';
import yargs from 'yargs';
import { resolveChannelOptions } from '../../../src/cluster/channel/options.js';
import { command as demoBackend } from '../../../src/commands/demo-backend.js';
import { parseConfig } from '../../../src/config/index.js';
import { repoRoot } from '../../helpers/spawn.js';

const file = path.join(repoRoot, 'examples/kubernetes/stickyd-cluster.yaml');
const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);

it('the Kubernetes example: headless Service, node arguments demo-backend accepts, a balancer file stickyd accepts', async () => {
  const headless = find('Service', 'app-headless');
  expect(headless.spec.clusterIP).toBe('None');
  const set = find('StatefulSet', 'app');
  expect(set.spec.serviceName).toBe('app-headless');
  const container = set.spec.template.spec.containers[0];
  // Kubernetes expands $(VAR) from the container's env: here for pod app-1 in namespace default.
  const args = (container.args as string[]).map((a) => a.replace('$(POD_NAME)', 'app-1').replace('$(POD_NAMESPACE)', 'default'));
  expect(args[0]).toBe('demo-backend');
  const y = yargs(args.slice(1)).strict().exitProcess(false).fail((msg) => {
    throw new Error(msg);
  });
  (demoBackend.builder as (y: unknown) => unknown)(y);
  const argv = (await y.parse()) as Record<string, unknown>;
  expect(argv.dns).toBe('app-headless.default.svc.cluster.local');
  expect(argv['cluster-port']).toBe(headless.spec.ports.find((p: { name: string }) => p.name === 'cluster').port);
  expect(container.env.map((e: { name: string }) => e.name)).toContain('CLUSTER_SECRET');
  // The channel those arguments configure (src/demo/backend.ts) is valid: DNS needs the secret.
  const channel = {
    jvmRoute: String(argv.route),
    receiver: { address: String(argv['cluster-address']), port: Number(argv['cluster-port']) },
    membership: { type: 'dns' as const, name: String(argv.dns), port: Number(argv['cluster-port']) },
  };
  expect(() => resolveChannelOptions(channel)).toThrow(/secret is required/);
  expect(resolveChannelOptions({ ...channel, secret: 'from the Secret' }).membership).toMatchObject({ type: 'dns', port: 4000, interval: 5000 });

  const config = parseConfig(find('ConfigMap', 'stickyd').data['stickyd.yaml'], 'stickyd.yaml', {});
  const members = config.balancers[0]!.members.map((m) => [m.url, m.route]);
  const pods = Array.from({ length: set.spec.replicas }, (_, i) => `app-${i}`);
  expect(members.map(([, route]) => route)).toEqual(pods);
  for (const [i, [url]] of members.entries()) expect(url).toContain(`${pods[i]}.app-headless:${argv.port}`);
});
