// Response compression end to end over real sockets: real clients (node's http with exact byte
// checks, curl --compressed), every coding, the rules of what is not compressed, conditional
// requests through the weak ETag, a multi-MB body with a reader that does not read (the member
// is paused, nothing is buffered whole), and server-sent events arriving event by event.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/patience.js';
import { cleanup, deadPort, request, sleep, startBackend, startProxy, type Backend, type BackendHandler } from './helpers.js';

afterEach(cleanup);

/** A realistic page: repeated markup with varying text, about 60 KB. */
const PAGE = Buffer.from(
  `<!doctype html><html><head><title>stickyd</title></head><body>${Array.from({ length: 600 }, (_, i) => `<div class="row" id="r${i}"><a href="/item/${i}">Item ${i}</a> <span>${(i * 7919) % 10007}</span></div>`).join('\n')}</body></html>`,
);

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** One request; the body as the bytes that came over the wire (nothing decoded). */
function get(url: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const zstdDecompressSync = (zlib as unknown as { zstdDecompressSync: (b: Buffer) => Buffer }).zstdDecompressSync;

function decode(coding: string | undefined, body: Buffer): Buffer {
  switch (coding) {
    case 'gzip':
      return zlib.gunzipSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    case 'zstd':
      return zstdDecompressSync(body);
    default:
      return body;
  }
}

/** A backend answering by path; ETags compared weakly for If-None-Match, as RFC 9110 §13.1.2 says (and Tomcat, express do). */
const routes: BackendHandler = (req, res) => {
  const url = req.url ?? '/';
  const weakMatch = (etag: string): boolean => (req.headers['if-none-match'] ?? '').split(',').some((t) => t.trim().replace(/^W\//, '') === etag.replace(/^W\//, ''));
  if (url.startsWith('/page')) {
    if (weakMatch('"v1"')) {
      res.writeHead(304, { ETag: '"v1"' });
      return void res.end();
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': PAGE.length, ETag: '"v1"', 'Accept-Ranges': 'bytes' });
    return void res.end(PAGE);
  }
  if (url === '/chunked-small') {
    res.setHeader('Content-Type', 'text/plain');
    res.write('tiny');
    return void res.end();
  }
  if (url === '/small') {
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': 10 });
    return void res.end('0123456789');
  }
  if (url === '/png') {
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': PAGE.length });
    return void res.end(PAGE);
  }
  if (url === '/encoded') {
    const gz = zlib.gzipSync(PAGE);
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip', 'Content-Length': gz.length });
    return void res.end(gz);
  }
  if (url === '/no-transform') {
    res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'max-age=60, no-transform', 'Content-Length': PAGE.length });
    return void res.end(PAGE);
  }
  if (url === '/vary') {
    res.writeHead(200, { 'Content-Type': 'application/json', Vary: 'Cookie' });
    return void res.end(JSON.stringify({ rows: Array.from({ length: 200 }, (_, i) => ({ i, name: `row ${i}` })) }));
  }
  if (url === '/range') {
    if (req.headers.range) {
      res.writeHead(206, { 'Content-Type': 'text/html', 'Content-Range': `bytes 0-9/${PAGE.length}`, 'Content-Length': 10 });
      return void res.end(PAGE.subarray(0, 10));
    }
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': PAGE.length });
    return void res.end(PAGE);
  }
  res.writeHead(404);
  res.end();
};

async function setup(compression = 'compression: { minlength: 100 }\n', rules = '  - { path: /, url: balancer://c1/ }\n'): Promise<{ url: string; backend: Backend; proxy: Awaited<ReturnType<typeof startProxy>> }> {
  const backend = await startBackend('b', routes);
  const proxy = await startProxy(`${compression}balancers:\n  c1:\n    members: [{ url: "${backend.url}" }]\nproxypass:\n${rules}`);
  return { url: proxy.url, backend, proxy };
}

describe('response compression', () => {
  it.each(['gzip', 'br', 'zstd'])('%s: the exact bytes, Vary, a weak ETag, chunked without Content-Length', async (coding) => {
    const { url } = await setup(`compression: { algorithms: [${coding}], minlength: 100 }\n`);
    const r = await get(`${url}/page`, { 'Accept-Encoding': coding });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe(coding);
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers.etag).toBe('W/"v1"');
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers['accept-ranges']).toBeUndefined();
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.body.length).toBeLessThan(PAGE.length / 3);
    expect(decode(coding, r.body).equals(PAGE)).toBe(true);
  });

  it('negotiates with q-values; equal weights go by the configured order', async () => {
    const { url } = await setup('compression: { algorithms: [br, gzip], minlength: 100 }\n');
    const coding = async (ae: string) => (await get(`${url}/page`, { 'Accept-Encoding': ae })).headers['content-encoding'] ?? null;
    expect(await coding('gzip, deflate, br')).toBe('br');
    expect(await coding('gzip;q=1, br;q=0.9')).toBe('gzip');
    expect(await coding('br;q=0, gzip')).toBe('gzip');
    expect(await coding('*')).toBe('br');
    expect(await coding('identity;q=1, gzip;q=0.5')).toBeNull();
    expect(await coding('deflate')).toBeNull();
  });

  it('without Accept-Encoding, for HEAD and for a Range request the body is sent as it is, with Vary', async () => {
    const { url, backend } = await setup();
    for (const r of [
      await get(`${url}/page`),
      await get(`${url}/page`, { 'Accept-Encoding': 'gzip' }, 'HEAD'),
      await get(`${url}/range`, { 'Accept-Encoding': 'gzip', Range: 'bytes=0-9' }),
    ]) {
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.headers['content-length']).toBeDefined();
    }
    const plain = await get(`${url}/page`);
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.headers.etag).toBe('"v1"');
    expect(plain.body.equals(PAGE)).toBe(true);
    // The member saw the Range request as sent, and its 206 came back untouched.
    const ranged = await get(`${url}/range`, { 'Accept-Encoding': 'gzip', Range: 'bytes=0-9' });
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(PAGE.subarray(0, 10))).toBe(true);
    expect(backend.received.filter((r) => r.url === '/range').every((r) => r.headers.range === 'bytes=0-9')).toBe(true);
    // The client's Accept-Encoding reaches the member unchanged.
    expect(backend.received.at(-1)!.headers['accept-encoding']).toBe('gzip');
  });

  it('leaves alone what is encoded already, no-transform, unlisted types and short bodies (no Vary)', async () => {
    const { url } = await setup();
    const encoded = await get(`${url}/encoded`, { 'Accept-Encoding': 'gzip, br' });
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(encoded.body).equals(PAGE)).toBe(true);
    for (const path of ['/no-transform', '/png', '/small']) {
      const r = await get(`${url}${path}`, { 'Accept-Encoding': 'gzip, br' });
      expect(r.headers['content-encoding'], path).toBeUndefined();
      expect(r.headers.vary, path).toBeUndefined();
      expect(r.headers['content-length'], path).toBeDefined();
    }
  });

  it('a short body without Content-Length is compressed (its length is not known in advance)', async () => {
    const { url } = await setup();
    const r = await get(`${url}/chunked-small`, { 'Accept-Encoding': 'gzip' });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(r.body).toString()).toBe('tiny');
  });

  it('merges Accept-Encoding into the member\'s Vary', async () => {
    const { url } = await setup();
    const r = await get(`${url}/vary`, { 'Accept-Encoding': 'br' });
    expect(r.headers.vary).toBe('Cookie, Accept-Encoding');
    expect(JSON.parse(zlib.brotliDecompressSync(r.body).toString()).rows).toHaveLength(200);
  });

  it('conditional requests keep working: If-None-Match with the weak ETag gets the member\'s 304, with that ETag', async () => {
    const { url, backend } = await setup();
    const first = await get(`${url}/page`, { 'Accept-Encoding': 'gzip' });
    expect(first.headers.etag).toBe('W/"v1"');
    const again = await get(`${url}/page`, { 'Accept-Encoding': 'gzip', 'If-None-Match': first.headers.etag! });
    expect(again.status).toBe(304);
    expect(again.headers.etag).toBe('W/"v1"');
    expect(again.body.length).toBe(0);
    expect(backend.received.at(-1)!.headers['if-none-match']).toBe('W/"v1"');
  });

  it('is off by default, can be turned off per rule, and on per rule with the defaults', async () => {
    const off = await setup('');
    expect((await get(`${off.url}/page`, { 'Accept-Encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
    expect((await get(`${off.url}/page`, { 'Accept-Encoding': 'gzip' })).headers.vary).toBeUndefined();

    const rules = '  - { path: /page/raw, url: balancer://c1/page/raw, compression: off }\n  - { path: /, url: balancer://c1/ }\n';
    const perRule = await setup('compression: on\n', rules);
    expect((await get(`${perRule.url}/page/raw`, { 'Accept-Encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
    expect((await get(`${perRule.url}/page`, { 'Accept-Encoding': 'gzip' })).headers['content-encoding']).toBe('gzip');

    const onlyOne = await setup('', '  - { path: /page, url: balancer://c1/page, compression: on }\n  - { path: /, url: balancer://c1/ }\n');
    expect((await get(`${onlyOne.url}/page`, { 'Accept-Encoding': 'br, gzip' })).headers['content-encoding']).toBe('br');
    expect((await get(`${onlyOne.url}/vary`, { 'Accept-Encoding': 'br, gzip' })).headers['content-encoding']).toBeUndefined();
  });

  it('the access log counts the compressed bytes sent; bytraffic counts what the member sent', async () => {
    const { url, proxy } = await setup();
    const r = await get(`${url}/page`, { 'Accept-Encoding': 'gzip' });
    await sleep(20);
    const record = proxy.records.at(-1)!;
    expect(record.bytes).toBe(r.body.length);
    const member = proxy.daemon.balancers.get('c1')!.members[0]!;
    expect(member.read).toBeGreaterThan(PAGE.length);
  });

  it('curl --compressed gets the exact page with each coding', async () => {
    const { url } = await setup('compression: { algorithms: [zstd, br, gzip], minlength: 100 }\n');
    const run = promisify(execFile);
    for (const ae of ['gzip', 'br', 'zstd']) {
      const { stdout } = await run('curl', ['-sS', '--compressed', '-H', `Accept-Encoding: ${ae}`, '-D', '-', '-o', '/dev/null', `${url}/page`]);
      expect(stdout.toLowerCase(), ae).toContain(`content-encoding: ${ae}`);
      const body = await run('curl', ['-sS', '--compressed', '-H', `Accept-Encoding: ${ae}`, `${url}/page`], { encoding: 'buffer', maxBuffer: 1 << 24 } as never);
      expect(createHash('sha256').update(body.stdout as unknown as Buffer).digest('hex'), ae).toBe(createHash('sha256').update(PAGE).digest('hex'));
    }
  });
});

describe('streaming through the compressor', () => {
  it('a multi-MB body to a reader that stops reading: the member is paused, then everything arrives exactly', async () => {
    // Little-compressible text (base64 of random bytes), so the compressed stream is large too.
    const body = Buffer.from(randomBytes(24 * 1024 * 1024).toString('base64'));
    const chunk = 64 * 1024;
    let written = 0;
    let finished = false;
    const backend = await startBackend('big', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
      const pump = (): void => {
        while (written < body.length) {
          const part = body.subarray(written, written + chunk);
          written += part.length;
          if (!res.write(part)) return void res.once('drain', pump);
        }
        res.end(() => (finished = true));
      };
      pump();
    });
    const proxy = await startProxy(`compression: { algorithms: [gzip], gziplevel: 1 }\nbalancers:\n  c1:\n    members: [{ url: "${backend.url}" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);

    const result = await new Promise<{ stalledAt: number; decoded: Buffer }>((resolve, reject) => {
      const req = http.request(`${proxy.url}/big`, { headers: { 'Accept-Encoding': 'gzip' }, agent: false }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        res.pause();
        // The client reads nothing for a while: the member must be held back far before its end.
        setTimeout(() => {
          const stalledAt = written;
          const gunzip = zlib.createGunzip();
          const out: Buffer[] = [];
          gunzip.on('data', (d: Buffer) => out.push(d));
          gunzip.on('end', () => resolve({ stalledAt, decoded: Buffer.concat(out) }));
          gunzip.on('error', reject);
          // Then a slow reader: small reads with pauses.
          res.on('data', (d: Buffer) => {
            gunzip.write(d);
            res.pause();
            setImmediate(() => res.resume());
          });
          res.on('end', () => gunzip.end());
          res.resume();
        }, 1500);
      });
      req.on('error', reject);
      req.end();
    });
    expect(finished).toBe(true);
    expect(result.stalledAt).toBeLessThan(body.length / 2);
    expect(result.decoded.length).toBe(body.length);
    expect(result.decoded.equals(body)).toBe(true);
  }, 60_000);

  it.each(['gzip', 'br', 'zstd'])('%s: server-sent events arrive one by one, each flushed through the compressor', async (coding) => {
    const events = ['data: one\n\n', 'data: two\n\n', `data: ${'x'.repeat(2000)}\n\n`, 'data: four\n\n'];
    let release: (() => void) | null = null;
    const backend = await startBackend('sse', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      let i = 0;
      const next = (): void => {
        if (i === events.length) return void res.end();
        res.write(events[i++]);
        // The next event only once the client has decoded this one: without a flush this hangs.
        release = next;
      };
      next();
    });
    const proxy = await startProxy(`compression: { algorithms: [${coding}], types: [text/event-stream] }\nbalancers:\n  c1:\n    members: [{ url: "${backend.url}" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const decoded: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${proxy.url}/events`, { headers: { 'Accept-Encoding': coding }, agent: false }, (res) => {
        expect(res.headers['content-encoding']).toBe(coding);
        const decoder = coding === 'gzip' ? zlib.createGunzip() : coding === 'br' ? zlib.createBrotliDecompress() : (zlib as unknown as { createZstdDecompress(): zlib.Gunzip }).createZstdDecompress();
        let text = '';
        decoder.on('data', (d: Buffer) => {
          text += d.toString();
          while (text.includes('\n\n')) {
            const end = text.indexOf('\n\n') + 2;
            decoded.push(text.slice(0, end));
            text = text.slice(end);
            const go = release;
            release = null;
            go?.();
          }
        });
        decoder.on('end', resolve);
        decoder.on('error', reject);
        res.pipe(decoder);
      });
      req.on('error', reject);
      req.end();
    });
    expect(decoded).toEqual(events);
  }, 20_000);

  it('a client that goes away mid-body stops the member request', async () => {
    let closed = false;
    const backend = await startBackend('endless', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      const timer = setInterval(() => res.write(`${'line '.repeat(200)}\n`), 5);
      res.on('close', () => {
        clearInterval(timer);
        closed = true;
      });
    });
    const proxy = await startProxy(`compression: on\nbalancers:\n  c1:\n    members: [{ url: "${backend.url}" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    await new Promise<void>((resolve) => {
      const req = http.request(`${proxy.url}/`, { headers: { 'Accept-Encoding': 'gzip' }, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end();
    });
    await eventually('the member to see its response closed', () => closed);
    expect(closed).toBe(true);
  });
});

describe('error pages and untouched paths', () => {
  it('stickyd\'s own error pages are not compressed', async () => {
    const port = await deadPort();
    const proxy = await startProxy(`compression: { minlength: 0 }\nbalancers:\n  c1:\n    members: [{ url: "http://127.0.0.1:${port}" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const r = await request(`${proxy.url}/`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(r.status).toBe(503);
    expect(r.headers['content-encoding']).toBeUndefined();
  });
});
