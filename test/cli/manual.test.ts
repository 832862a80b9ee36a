// docs/stickyd.1 (the manual page), README.md and the command line agree: every command, ctl
// action, option and STICKYD_* environment variable the code defines is in the manual page, the
// manual page lists no command that does not exist, and the README names every command. The
// commands and options are read from the yargs modules themselves (their builders run against a
// recorder), so a new option without documentation fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { CommandModule } from 'yargs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';

interface Recorded {
  name: string;
  options: string[];
  subcommands: Recorded[];
}

/** Run a builder against an object that records options, aliases and subcommands. */
function record(module: CommandModule): Recorded {
  const words = ([] as string[]).concat(module.command ?? []).filter((w) => w !== '$0');
  const out: Recorded = { name: (words[0] ?? '').split(' ')[0]!, options: [], subcommands: [] };
  const recorder: Record<string, unknown> = new Proxy({}, {
    get(_t, prop) {
      if (prop === 'option' || prop === 'options') {
        return (name: string, def?: { alias?: string | string[] }) => {
          out.options.push(name);
          for (const a of ([] as string[]).concat(def?.alias ?? [])) out.options.push(a);
          return recorder;
        };
      }
      if (prop === 'command') {
        return (m: CommandModule) => {
          out.subcommands.push(record(m));
          return recorder;
        };
      }
      return () => recorder;
    },
  });
  if (typeof module.builder === 'function') (module.builder as (y: unknown) => unknown)(recorder);
  return out;
}

async function commands(): Promise<Recorded[]> {
  const files = ['run', 'check', 'import-apache', 'ctl', 'healthcheck', 'demo', 'demo-backend', 'version', 'help'];
  const cli = readFileSync(path.join(repoRoot, 'src/cli.ts'), 'utf8');
  // The list above is the CLI's: a command added there must be added here too.
  expect([...cli.matchAll(/import\('\.\/commands\/([\w-]+)\.js'\)/g)].map((m) => m[1])).toEqual(files);
  return Promise.all(files.map(async (f) => record(((await import(`../../src/commands/${f}.ts`)) as { command: CommandModule }).command)));
}

const manual = readFileSync(path.join(repoRoot, 'docs/stickyd.1'), 'utf8');
const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** roff → plain text for searching: escapes and font changes dropped. */
function plain(roff: string): string {
  return roff.replace(/\\f[BIRP]/g, '').replace(/\\-/g, '-').replace(/\\e/g, '\\');
}

/** The entries of the COMMANDS section: the first line after each .TP, as plain text. */
function manualCommands(): string[] {
  const section = manual.split(/^\.SH COMMANDS$/m)[1]!.split(/^\.SH /m)[0]!;
  return [...section.matchAll(/^\.TP\n(.*)$/gm)].map((m) => plain(m[1]!));
}

describe('the manual page docs/stickyd.1', () => {
  it('lists every command and ctl action, and nothing else', async () => {
    const cmds = await commands();
    const wanted = cmds.flatMap((c) => [c.name, ...c.subcommands.map((s) => `${c.name} ${s.name}`)]);
    const listed = manualCommands().map((entry) => {
      const words = entry.split(' ');
      return words[0] === 'ctl' && words[1] !== undefined && /^[a-z]+$/.test(words[1]) ? `ctl ${words[1]}` : words[0]!;
    });
    expect(listed.sort()).toEqual(wanted.sort());
  });

  it('names every option of every command', async () => {
    const text = plain(manual);
    for (const c of await commands()) {
      for (const o of [...c.options, ...c.subcommands.flatMap((s) => s.options)]) {
        expect(text, `${c.name}: option ${o}`).toContain(o.length === 1 ? `-${o}` : `--${o}`);
      }
    }
  });

  it('names every STICKYD_* environment variable the code reads, and the README does too', () => {
    const src = execFileSync('grep', ['-rhoE', 'STICKYD_[A-Z_]+', path.join(repoRoot, 'src')], { encoding: 'utf8' });
    const names = [...new Set(src.split('\n').filter(Boolean))].sort();
    expect(names.length).toBeGreaterThan(3);
    const section = manual.split(/^\.SH ENVIRONMENT$/m)[1]!.split(/^\.SH /m)[0]!;
    expect([...section.matchAll(/^\.B (STICKYD_\w+)$/gm)].map((m) => m[1]!).sort()).toEqual(names);
    for (const n of names) expect(readme, n).toContain(n);
  });

  it('is valid roff (groff reports no warnings)', () => {
    let out: string;
    try {
      out = execFileSync('groff', ['-man', '-ww', '-z', path.join(repoRoot, 'docs/stickyd.1')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { code?: string; stderr?: string };
      if (e.code === 'ENOENT') return console.warn('groff is not installed: the manual page was not checked');
      throw new Error(`groff: ${e.stderr}`);
    }
    expect(out).toBe('');
  });
});

describe('README.md', () => {
  it('names every command and ctl action', async () => {
    for (const c of await commands()) {
      expect(readme, `stickyd ${c.name}`).toMatch(new RegExp(`stickyd ${c.name}\\b`));
      const actions = [...readme.matchAll(/stickyd ctl ([a-z|]+)/g)].flatMap((m) => m[1]!.split('|'));
      for (const s of c.subcommands) expect(actions, `ctl ${s.name}`).toContain(s.name);
    }
    expect(readme).toContain('docs/stickyd.1');
  });
});
