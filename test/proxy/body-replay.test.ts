// BodyReplay without sockets: what each attempt's stream delivers.
import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyReplay, BodyReplayError } from '../../src/proxy/body-replay.js';

async function readAll(r: Readable): Promise<string> {
  let s = '';
  for await (const c of r) s += (c as Buffer).toString();
  return s;
}

/** Read `n` chunks from a stream, then stop reading. */
function readSome(r: Readable, n: number): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    let seen = 0;
    const onData = (c: Buffer): void => {
      s += c.toString();
      if (++seen === n) {
        r.off('data', onData);
        r.pause();
        resolve(s);
      }
    };
    r.on('data', onData);
  });
}

describe('BodyReplay', () => {
  it('an attempt that consumed part of the body: the next attempt gets all of it', async () => {
    const client = new PassThrough();
    const replay = new BodyReplay(client);
    const first = replay.attempt();
    client.write('one,');
    client.write('two,');
    expect(await readSome(first, 2)).toBe('one,two,');
    const second = replay.attempt();
    const all = readAll(second);
    client.end('three');
    expect(await all).toBe('one,two,three');
    expect(second.bytes).toBe(13);
  });

  it('an attempt that consumed nothing: the next reads the client stream from the start', async () => {
    const client = new PassThrough();
    const replay = new BodyReplay(client);
    replay.attempt();
    const second = replay.attempt();
    client.end('whole body');
    expect(await readAll(second)).toBe('whole body');
  });

  it('past the keep limit the body cannot be sent again', async () => {
    const client = new PassThrough();
    const replay = new BodyReplay(client, 8);
    const first = replay.attempt();
    client.write('0123456789');
    await readSome(first, 1);
    expect(replay.replayable).toBe(false);
    expect(() => replay.attempt()).toThrow(BodyReplayError);
  });

  it('release() stops keeping: a long upload is not held in memory', async () => {
    const client = new PassThrough();
    const replay = new BodyReplay(client);
    const only = replay.attempt();
    replay.release();
    const all = readAll(only);
    client.end('streamed');
    expect(await all).toBe('streamed');
  });

  it('a client that goes away fails the attempt stream', async () => {
    const client = new PassThrough();
    const replay = new BodyReplay(client);
    const body = replay.attempt();
    const result = readAll(body).then(() => 'ended', (e: Error) => `failed: ${e.message}`);
    client.write('part');
    client.destroy(new Error('client reset'));
    expect(await result).toBe('failed: client reset');
  });
});
