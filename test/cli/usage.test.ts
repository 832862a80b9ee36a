// A mistake on the command line — an unknown option or command, a missing argument, a value of the
// wrong kind — prints the usage of the command meant, then one line saying what is wrong, on
// stderr, and the exit code is 1; never a stack trace. Most cases run the real command line (main)
// in this process; one runs it as a process to see the exit code and the whole output.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { spawnStickyd, stopAll } from '../helpers/spawn.js';

afterEach(stopAll);
const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `stickyd ARGS` in this process: exit code, stdout and stderr. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    await main(args);
    return { code: Number(process.exitCode ?? 0), out: out.join(''), err: err.join('') };
  } finally {
    process.exitCode = saved;
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

/** The last line of stderr: the reason. */
const reason = (err: string): string => err.trimEnd().split('\n').pop()!;
/** The first line of stderr: the usage line of the command meant. */
const usageLine = (err: string): string => err.split('\n')[0]!;

describe('a mistake shows the usage of the command meant and one line why, exit 1', () => {
  const cases: Array<[args: string[], usage: string, why: string]> = [
    [['check', '--bogus'], 'stickyd check [file]', 'stickyd check: unknown option --bogus'],
    [['check', '-c'], 'stickyd check [file]', 'stickyd check: option -c needs a value'],
    [['check', 'a.yaml', 'b.yaml'], 'stickyd check [file]', 'stickyd check: unexpected argument "b.yaml"'],
    [['check', 'a.yaml', '-c', 'b.yaml'], 'stickyd check [file]', 'stickyd check: two files given (a.yaml and -c b.yaml): check one at a time'],
    [['stauts'], 'stickyd run', 'stickyd: unknown command "stauts"'],
    [['helthcheck'], 'stickyd run', 'stickyd: unknown command "helthcheck" — did you mean "healthcheck"?'],
    [['run', 'extra'], 'stickyd run', 'stickyd run: unexpected argument "extra"'],
    [['--bogus'], 'stickyd run', 'stickyd run: unknown option --bogus'],
    [['ctl'], 'stickyd ctl', 'stickyd ctl: name an action: status, reload, drain, disable, enable, set or add'],
    [['ctl', 'stauts'], 'stickyd ctl', 'stickyd ctl: unknown action "stauts" — did you mean "status"?'],
    [['ctl', 'drain', 'cluster'], 'stickyd ctl drain <balancer> <member>', 'stickyd ctl drain: missing <member>'],
    [['ctl', 'drain'], 'stickyd ctl drain <balancer> <member>', 'stickyd ctl drain: missing <balancer> <member>'],
    [['ctl', 'set', 'cluster', 'jvm_a', 'loadfactor'], 'stickyd ctl set <balancer> <settings..>', 'stickyd ctl set: expected KEY=VALUE, got "loadfactor"'],
    [['ctl', 'set', 'cluster', 'jvm_a'], 'stickyd ctl set <balancer> <settings..>', 'stickyd ctl set: nothing to set: give KEY=VALUE'],
    [['ctl', 'status', '--jsno'], 'stickyd ctl status [balancer]', 'stickyd ctl status: unknown option --jsno'],
    [['ctl', '--admin'], 'stickyd ctl', 'stickyd ctl: option --admin needs a value'],
    [['import-apache'], 'stickyd import-apache <file>', 'stickyd import-apache: missing <file>'],
    [['import-apache', 'httpd.conf', '-D'], 'stickyd import-apache <file>', 'stickyd import-apache: option -D needs a value'],
    [['healthcheck', 'x.yaml'], 'stickyd healthcheck', 'stickyd healthcheck: unexpected argument "x.yaml"'],
    [['demo', '--port', 'eighty'], 'stickyd demo', 'stickyd demo: --port must be a port number from 1 to 65535 (got "eighty")'],
    [['demo', '--node-ports', '9081'], 'stickyd demo', 'stickyd demo: --node-ports takes 2 ports, comma-separated, e.g. 9081,9082 (got "9081")'],
    [['demo', '--cluster-base-port', '70000'], 'stickyd demo', 'stickyd demo: --cluster-base-port must be a port number from 1 to 65535 (got "70000")'],
    [['demo', '--cluster-base-port', '65534'], 'stickyd demo', 'stickyd demo: --cluster-base-port must leave room for the two nodes (base + 1, base + 2 ≤ 65535; got 65534)'],
    [['demo-backend', '--route', 'a', '--port', 'x', '--cluster-port', '4001'], 'stickyd demo-backend', 'stickyd demo-backend: --port must be a port number from 1 to 65535 (got "x")'],
    [['demo-backend', '--port', '8081', '--cluster-port', '4001'], 'stickyd demo-backend', 'stickyd demo-backend: missing option --route'],
    [['demo-backend', '--route', 'a', '--port', '1', '--port', '2', '--cluster-port', '4001'], 'stickyd demo-backend', 'stickyd demo-backend: --port is given 2 times; give it once'],
    [['version', 'x'], 'stickyd version', 'stickyd version: unexpected argument "x"'],
  ];
  it.each(cases)('stickyd %j', async (args, usage, why) => {
    const r = await run(args);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(usageLine(r.err)).toBe(usage);
    expect(reason(r.err)).toBe(why);
    expect(r.err).toContain('\nOptions:\n');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('stickyd help with an unknown command says which commands there are', async () => {
    const r = await run(['help', 'chek']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('stickyd help [command..]\n\nCommands: run, check, import-apache, ctl, healthcheck, demo, demo-backend, version, help\n\nstickyd help: unknown command "chek" — did you mean "check"?\n');
  });

  it('as a process: the same on stderr, nothing on stdout, exit code 1', async () => {
    const p = spawnStickyd(['ctl', 'drain', 'cluster']);
    let stdout = '';
    p.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    expect(await p.exited).toBe(1);
    expect(stdout).toBe('');
    expect(p.output()).toMatch(/^stickyd ctl drain <balancer> <member>\n\nDrain a member \(N\): only its existing sticky sessions\n/);
    expect(p.output()).toMatch(/\n\nstickyd ctl drain: missing <member>\n$/);
  }, 30_000);
});

describe('stickyd check FILE', () => {
  const file = path.join(dir, 'shadowed.yaml');
  writeFileSync(file, `listen: [{ address: 127.0.0.1, port: 8051 }]
balancers:
  b:
    members: [{ url: "http://127.0.0.1:8081" }]
proxypass:
  - { path: /, url: balancer://b/ }
  - { path: /static, url: "!" }
`);

  it('takes the file as its argument, as with -c; the warning of a shadowed rule leaves exit code 0', async () => {
    const warning = `${file}:7:13: proxypass[1].path: warning: this exclusion never applies: proxypass[0] (path / at line 6) comes first and matches every path it matches, and the first matching rule wins (put the exclusion first)\n`;
    const summary = `${file}: OK (1 balancer, 1 member, 2 proxypass rules)\n`;
    expect(await run(['check', file])).toEqual({ code: 0, out: summary, err: warning });
    expect(await run(['check', '-c', file])).toEqual({ code: 0, out: summary, err: warning });
    expect(await run(['check', file, '-c', file])).toEqual({ code: 0, out: summary, err: warning });
  });
});
