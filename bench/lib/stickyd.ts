/**
 * stickyd under test: compiled JavaScript, run as `node main.js -c FILE`, like `bin/stickyd.js`
 * after `npm run build`, because a figure from tsx's loader would not be the product's figure.
 *
 * The benchmark compiles src/ itself into node_modules/.cache/stickyd-bench/ (tsconfig.build.json
 * with another outDir) instead of using dist/: it then always measures the source as it is now,
 * and never races another `npm run build` writing dist/. That directory sits inside node_modules
 * so the compiled files find the package's dependencies; its own package.json marks them ESM.
 * `--source` runs src/ through tsx instead (no build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Member } from './nginx.js';
import type { BenchProcess, ProcessGroup } from './processes.js';

export interface StickydBuild {
  /** node arguments before `-c FILE`: the entry point (and loader flags for --source). */
  nodeArgs: string[];
  description: string;
}

export async function buildStickyd(repoRoot: string, fromSource: boolean): Promise<StickydBuild> {
  if (fromSource) {
    return {
      nodeArgs: ['--conditions=stickyd-source', '--import', 'tsx', path.join(repoRoot, 'src/main.ts')],
      description: 'src/ through tsx (--source)',
    };
  }
  const out = path.join(repoRoot, 'node_modules/.cache/stickyd-bench');
  const entry = path.join(out, 'dist/main.js');
  await rm(path.join(out, 'dist'), { recursive: true, force: true });
  const r = spawnSync(path.join(repoRoot, 'node_modules/.bin/tsc'), [
    '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', path.join(out, 'dist'), '--declaration', 'false',
  ], { cwd: repoRoot, encoding: 'utf8' });
  // tsc still emits when some file has a type error (someone else's work in progress); only a
  // missing entry point stops the benchmark.
  if (!existsSync(entry)) throw new Error(`tsc did not produce ${entry}:\n${(r.stdout + r.stderr).slice(-2000)}`);
  // node stops looking for the nearest package.json at node_modules: say these files are ESM.
  await writeFile(path.join(out, 'package.json'), '{ "type": "module", "private": true }\n');
  return {
    nodeArgs: [entry],
    description: `built by tsc -p tsconfig.build.json into ${path.relative(repoRoot, out)}/dist${r.status === 0 ? '' : ' (tsc reported type errors)'}`,
  };
}

export interface StickydSettings {
  port: number;
  members: Member[];
  accessLog: boolean;
  /** server.workers (default 1: the comparison runs every proxy on one core, one process/thread). */
  workers?: number;
}

/**
 * The balancer file: two HTTP members with routes, stickysession JSESSIONID|jsessionid (apache-semantics §2:
 * cookie first, then the URL parameter), everything else at its default except the client
 * keep-alive limit, which is lifted so that stickyd, nginx and HAProxy all keep the load
 * generator's 50 connections for the whole run (Apache's MaxKeepAliveRequests default is 100).
 */
export function stickydConfig(s: StickydSettings): string {
  return `listen:
  - address: 127.0.0.1
    port: ${s.port}
server:
  servername: localhost
  maxkeepaliverequests: 0
  workers: ${s.workers ?? 1}
log:
  level: warn
  access: ${s.accessLog}
balancers:
  cluster:
    stickysession: JSESSIONID|jsessionid
    members:
${s.members.map((m) => `      - url: http://127.0.0.1:${m.port}\n        route: ${m.route}`).join('\n')}
proxypass:
  - path: /
    url: balancer://cluster/
`;
}

export async function startStickyd(
  group: ProcessGroup,
  build: StickydBuild,
  dir: string,
  name: string,
  settings: StickydSettings,
  cpu: number | null,
  extraNodeArgs: string[] = [],
): Promise<BenchProcess> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, stickydConfig(settings));
  // stdout (the access log) goes to a file, as it would to a log collector, not back to us.
  return group.start(name, process.execPath, [...extraNodeArgs, ...build.nodeArgs, '-c', file], {
    cpu,
    logFile: path.join(dir, `${name}.log`),
    session: true, // a proxy under test: a session of its own (StartOptions.session)
  });
}
