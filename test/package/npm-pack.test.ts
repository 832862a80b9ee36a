// The npm package as a user gets it: `npm pack` (which builds dist/ through the prepare script),
// the tarball's file list, and the tarball installed into a fresh project where plain Node.js —
// no tsx, no source condition — imports `stickyd` and `stickyd/cluster` and TypeScript finds their
// types. Offline: the tarball is extracted into the project's node_modules and the package's
// runtime dependencies are linked from this checkout's node_modules.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/ports.js';
import { repoRoot } from '../helpers/spawn.js';

const run = promisify(execFile);

/** npm as the test runner was started with it (npm test / npx), else the one on the PATH. */
function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const cli = process.env.npm_execpath;
  return cli && /npm-cli\.js$/.test(cli)
    ? run(process.execPath, [cli, ...args], { cwd, maxBuffer: 64 << 20 })
    : run('npm', args, { cwd, maxBuffer: 64 << 20 });
}

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
let dir: string;
let project: string;
let files: string[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-pack-'));
  const { stdout } = await npm(['pack', '--json', '--pack-destination', dir], repoRoot);
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed!.files.map((f) => f.path).sort();

  project = path.join(dir, 'project');
  const installed = path.join(project, 'node_modules', pkg.name);
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', path.join(dir, packed!.filename), '-C', installed, '--strip-components=1']);
  for (const dep of Object.keys(pkg.dependencies)) {
    const link = path.join(project, 'node_modules', dep);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules', dep), link, 'dir');
  }
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the built entry points, bin, config, docs/ and examples/', () => {
    for (const f of ['README.md', 'package.json', 'bin/stickyd.js', 'dist/main.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cluster/index.js', 'dist/cluster/index.d.ts', 'config/stickyd.yaml', 'config/stickyd.schema.json']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThan(0);
    expect(files.filter((f) => f.startsWith('examples/')).length).toBeGreaterThan(0);
  });

  it('ships every file the README and docs/ link to, and every docs/ and examples/ file of the checkout', () => {
    const linked = new Set<string>();
    for (const doc of files.filter((f) => f === 'README.md' || (f.startsWith('docs/') && f.endsWith('.md')))) {
      const text = readFileSync(path.join(repoRoot, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        linked.add(path.posix.normalize(path.posix.join(path.posix.dirname(doc), target)));
      }
      for (const m of text.matchAll(/`((?:docs|examples)\/[\w./-]+\.\w+)`/g)) linked.add(m[1]!);
    }
    expect(linked.size).toBeGreaterThan(2);
    expect([...linked].filter((f) => !files.includes(f))).toEqual([]);
    const checkout = ['docs', 'examples'].flatMap((d) => readdirSync(path.join(repoRoot, d), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)).split(path.sep).join('/')));
    expect(checkout.filter((f) => !files.includes(f))).toEqual([]);
  });

  it('ships no tests, no sources, no development files and nothing that looks like a secret', () => {
    const unwanted = files.filter((f) =>
      /^(test|src|bench|scripts|\.ci|node_modules)\//.test(f) ||
      /(^|\/)\.(env|npmrc|git)/.test(f) ||
      /\.(pem|key|p12|pfx|crt|tgz)$/.test(f) ||
      /(^|\/)(id_rsa|id_ed25519)/.test(f) ||
      /\.tsbuildinfo$/.test(f),
    );
    expect(unwanted).toEqual([]);
  });
});

describe('the installed package, from plain Node.js', () => {
  it("import('stickyd') and import('stickyd/cluster') work and the daemon API runs", async () => {
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    const script = `
      const stickyd = await import('stickyd');
      const cluster = await import('stickyd/cluster');
      const config = stickyd.parseConfig(${JSON.stringify(`listen: [{ address: 127.0.0.1, port: ${port} }]\nadmin: { address: 127.0.0.1, port: ${adminPort} }\nlog: { level: silent }\n`)}, 'inline.yaml', {});
      let refused = '';
      try { stickyd.parseConfig('listen: nope\\n', 'bad.yaml', {}); } catch (e) { refused = e instanceof stickyd.ConfigError ? e.message : 'wrong error'; }
      const daemon = await stickyd.startDaemon(config, { logger: stickyd.createLogger(config.log), accessLogger: null });
      const health = await fetch('http://127.0.0.1:${adminPort}/healthz').then((r) => r.status);
      await daemon.stop();
      const id = cluster.generateSessionId('jvm_a');
      console.log(JSON.stringify({
        stickyd: Object.keys(stickyd).sort(),
        cluster: typeof cluster.createClusterNode,
        resolved: import.meta.resolve('stickyd'),
        health, refused, id, split: cluster.splitSessionId(id),
      }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, env: { ...process.env, NODE_OPTIONS: '' } });
    const out = JSON.parse(stdout) as Record<string, any>;
    expect(out.stickyd).toEqual(expect.arrayContaining(['ConfigError', 'createLogger', 'loadConfig', 'parseConfig', 'startDaemon']));
    expect(out.cluster).toBe('function');
    expect(out.resolved).toBe(`file://${path.join(project, 'node_modules', 'stickyd', 'dist', 'index.js')}`);
    expect(out.health).toBe(200);
    expect(out.refused).toMatch(/^bad\.yaml:1:9: listen: /);
    expect(out.id).toMatch(/^[0-9A-F]{32}\.jvm_a$/);
    expect(out.split).toMatchObject({ route: 'jvm_a' });
  }, 60_000);

  it('TypeScript finds the types of both entry points', async () => {
    writeFileSync(path.join(project, 'consumer.ts'), `import { loadConfig, startDaemon, type Config, type Daemon } from 'stickyd';
import { createClusterNode, type ClusterNodeOptions } from 'stickyd/cluster';
export async function start(file: string): Promise<Daemon> {
  const config: Config = await loadConfig(file);
  const { createLogger } = await import('stickyd');
  return startDaemon(config, { logger: createLogger(config.log) });
}
export const options: ClusterNodeOptions = { jvmRoute: 'a', membership: { type: 'static', members: [] }, receiver: { address: '127.0.0.1', port: 4000 } };
export const make: typeof createClusterNode = createClusterNode;
`);
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules', '@types')] }, files: ['consumer.ts'] }));
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    expect(existsSync(tsc)).toBe(true);
    const result = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(
      () => '',
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(result).toBe('');
  }, 60_000);
});
