// The linter (`npm run lint`, part of `npm test`) is there to catch the bugs the hardening pass
// found: a promise started and left alone (issue 8 item 4: a rejection nobody handled took a
// surviving cluster node down). This checks that the configured rules still catch each of them,
// on code written the way the bug was, so a rule switched off or a config that stops applying
// shows up here rather than in production.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
// Inside test/ (not in a dot-directory, which tsconfig's include skips) so that the type-aware
// rules apply; removed afterwards, and ignored by git.
const dir = mkdtempSync(path.join(root, 'test/lint/fixture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function lint(name: string, code: string): Promise<{ code: number; out: string }> {
  const file = path.join(dir, name);
  writeFileSync(file, code);
  try {
    const r = await run(path.join(root, 'node_modules/.bin/oxlint'), ['--type-aware', '-f', 'unix', file], { cwd: root });
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

describe('npm run lint', () => {
  it('refuses a promise started with void and never handled (the BackupManager crash)', async () => {
    const r = await lint('void-promise.ts', 'async function publish(): Promise<void> { throw new Error("gone"); }\nexport function memberRemoved(): void {\n  void publish();\n}\n');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('no-floating-promises');
  });

  it('refuses an async function handed to an event emitter (its rejection is nobody\'s)', async () => {
    const r = await lint('misused.ts', 'import net from "node:net";\nexport function watch(s: net.Socket): void {\n  s.on("data", async (d: Buffer) => { if (d.length === 0) throw new Error("x"); });\n}\n');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('no-misused-promises');
  });

  it('accepts the same code once the rejection is handled', async () => {
    const r = await lint('handled.ts', 'async function publish(): Promise<void> { throw new Error("gone"); }\nexport function memberRemoved(log: (e: unknown) => void): void {\n  publish().catch(log);\n}\n');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });
});
