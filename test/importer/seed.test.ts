// The seed deployment's Apache configuration (test/fixtures/apache/seed.conf) converts to what
// the hand-written config/stickyd.yaml says: the same typed Config once both are loaded.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/index.js';
import { importApache } from '../../src/importer/index.js';
import { repoRoot } from '../helpers/spawn.js';

/** config/stickyd.yaml takes its listen address and port from the environment; unset = 0.0.0.0:8051. */
const env = {};

describe('the seed deployment', () => {
  const imported = importApache(path.join(repoRoot, 'test/fixtures/apache/seed.conf'));
  const generated: Config = parseConfig(imported.yaml, 'generated.yaml', env);
  const handFile = path.join(repoRoot, 'config/stickyd.yaml');
  const hand: Config = parseConfig(fs.readFileSync(handFile, 'utf8'), handFile, env);

  it('converts without a warning', () => {
    expect(imported.diagnostics).toEqual([]);
  });

  it('has the hand-written file\'s listener, mount table and reverse rules', () => {
    expect(generated.listen).toEqual(hand.listen);
    expect(generated.listen).toEqual([{ address: '0.0.0.0', port: 8051 }]);
    expect(generated.proxypass).toEqual(hand.proxypass);
    expect(generated.proxypassreverse).toEqual(hand.proxypassreverse);
  });

  it('has the hand-written file\'s balancer settings, members and routes', () => {
    expect(generated.balancers).toEqual(hand.balancers);
    const [cluster] = generated.balancers;
    expect(cluster).toMatchObject({ name: 'cluster', stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' }, lbmethod: 'byrequests', timeout: 5000, maxattempts: 3 });
    expect(cluster?.members.map((m) => [m.url, m.route])).toEqual([['ajp://192.168.55.229', 'jvm_a'], ['ajp://192.168.55.231', 'jvm_b']]);
  });

  it('equals the hand-written Config in every other field too', () => {
    expect({ ...generated, file: '' }).toEqual({ ...hand, file: '' });
  });
});
