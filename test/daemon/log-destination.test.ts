// The daemon's stdout destination (src/log.ts stdoutDestination): lines are queued for a few
// milliseconds and written in batches, so what matters to a user is that every line arrives, whole
// and in order, however the process ends, and that a quiet daemon's line does not wait.
import { afterEach, describe, expect, it } from 'vitest';
import { accessLine } from '../../src/log.js';
import { spawnTs, stopAll } from '../helpers/spawn.js';

afterEach(stopAll);

const WRITER = 'test/daemon/fixtures/log-writer.ts';

/** The lines the writer must have produced, in order (see the fixture). */
function expected(count: number): Array<{ access: number } | { message: number }> {
  const out: Array<{ access: number } | { message: number }> = [];
  for (let i = 0; i < count; i++) {
    out.push({ access: i });
    if (i % 100 === 0) out.push({ message: i });
  }
  return out;
}

async function linesOf(mode: string, count: number): Promise<{ code: number | string; lines: string[] }> {
  const p = spawnTs(WRITER, [mode, String(count)]);
  const code = await p.exited;
  // stdout only: the crash case prints its stack on stderr.
  const lines = p.output().split('\n').filter((l) => l.startsWith('{'));
  return { code, lines };
}

function summarize(lines: string[]): Array<{ access: number } | { message: number }> {
  return lines.map((l) => {
    const r = JSON.parse(l) as { type?: string; bytes?: number; msg?: string };
    return r.type === 'access' ? { access: r.bytes! } : { message: Number(r.msg!.split(' ')[1]) };
  });
}

describe('stdout destination', () => {
  // flush: many batches, written one after the other before the process exits. exit and crash:
  // what is still queued (one batch) is written by the exit hook; a batch already in the hands of
  // the asynchronous writer when the process dies is not waited for (nothing can wait then).
  it.each([['flush', 3000], ['exit', 150], ['crash', 150]] as const)('every line arrives whole and in order when the process ends by %s (%i records)', async (mode, count) => {
    const { code, lines } = await linesOf(mode, count);
    expect(code).toBe(mode === 'crash' ? 1 : 0);
    expect(summarize(lines)).toEqual(expected(count));
    // The line larger than a batch arrives whole (its multi-byte characters may be cut by how the
    // test reads the pipe, so only its ASCII tail is compared).
    if (count > 1500) expect((JSON.parse(lines.find((l) => l.includes('"bytes":1500,'))!) as { url: string }).url.endsWith('x'.repeat(100_000))).toBe(true);
    // The access lines are exactly accessLine's bytes.
    const first = lines[0]!;
    expect(`${first}\n`).toBe(accessLine({
      time: new Date(0).toISOString(), client: '127.0.0.1', method: 'GET', url: '/r/0?q="x"&é=中', status: 200, bytes: 0,
      duration: 0.5, balancer: 'balancer://c1', member: 'http://127.0.0.1:1', memberRoute: 'r1', sessionRoute: null,
      stickyName: null, routeChanged: false, attempts: 1,
    }));
  });

  it('a line written by a process that then stays quiet is written without waiting for more', async () => {
    const p = spawnTs(WRITER, ['idle']);
    const line = await p.waitFor(/idle writer up/, 10_000);
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'idle writer up' });
    await p.stop();
  });
});
