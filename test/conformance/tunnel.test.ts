// Upgrade tunnels, httpd vs stickyd: an idle tunnel is closed after the larger of the server's
// Timeout and the member's timeout, and traffic in either direction keeps it open.
//
// httpd's timeouts are whole seconds, so this suite waits about 3.5 s (both fronts at once).
import net from 'node:net';
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeConformance, startPair, type Pair } from './harness/pair.js';

/** A member that switches to an echo tunnel for every Upgrade request. */
async function startEchoTunnelBackend(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.end('not upgraded\n'));
  server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Tunnel {
  /** The first bytes of the answer (the status line). */
  answer: Promise<string>;
  /** Milliseconds from the 101 (or the last echo) to the close, or null if still open after 6 s. */
  closedAfter: Promise<number | null>;
  echo(text: string): Promise<string>;
}

function openTunnel(port: number, path: string): Tunnel {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: front.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  let lastActivity = Date.now();
  let pending: ((text: string) => void) | null = null;
  let head = '';
  let headDone = false;
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => {
      lastActivity = Date.now();
      if (!headDone) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        headDone = true;
        resolve(head.slice(0, head.indexOf('\r\n')));
        const rest = head.slice(end + 4);
        if (rest && pending) pending(rest);
        return;
      }
      pending?.(d.toString());
    });
  });
  const closedAfter = new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, 6000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - lastActivity);
    });
  });
  return {
    answer,
    closedAfter,
    echo: (text) =>
      new Promise<string>((resolve) => {
        pending = (got) => {
          pending = null;
          resolve(got);
        };
        socket.write(text);
      }),
  };
}

let pair: Pair;
let backend: Awaited<ReturnType<typeof startEchoTunnelBackend>>;

describeConformance('conformance: idle Upgrade tunnels', () => {
  beforeAll(async () => {
    backend = await startEchoTunnelBackend();
    pair = await startPair(
      `
ServerName front.test
Timeout 2
<Proxy balancer://short>
  BalancerMember ${backend.url} timeout=1 upgrade=websocket
</Proxy>
<Proxy balancer://long>
  BalancerMember ${backend.url} timeout=3 upgrade=websocket
</Proxy>
ProxyPass /short balancer://short
ProxyPass /long balancer://long
`,
      [],
    );
  }, 30_000);

  afterAll(async () => {
    await pair?.stop();
    await backend?.close();
  });

  it('closes after max(Timeout, member timeout) of silence, counted from the last byte either way', async () => {
    const fronts = [pair.apache.port, pair.stickyd.port];
    const tunnels = fronts.map((port) => ({ short: openTunnel(port, '/short/ws'), long: openTunnel(port, '/long/ws') }));
    for (const t of tunnels) {
      expect(await t.short.answer).toBe('HTTP/1.1 101 Switching Protocols');
      expect(await t.long.answer).toBe('HTTP/1.1 101 Switching Protocols');
    }
    // Traffic for 1.5 s on the short tunnels: longer than the member's timeout=1, so only the
    // server's Timeout 2, restarted by each echo, can apply.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 500));
      for (const t of tunnels) expect(await t.short.echo(`m${i}`)).toBe(`m${i}`);
    }
    // Whole seconds of silence before the close, per front: httpd closes on its poll timeout. A
    // close is seen a little after its timer on a loaded machine, never before it (less a timer's
    // millisecond): counted down to the second, from 100 ms early to 900 ms late.
    const seconds = await Promise.all(
      tunnels.map(async (t) => {
        const [short, long] = await Promise.all([t.short.closedAfter, t.long.closedAfter]);
        const whole = (ms: number | null) => (ms === null ? null : Math.floor((ms + 100) / 1000));
        return { short: whole(short), long: whole(long) };
      }),
    );
    expect(seconds[0], 'httpd').toEqual({ short: 2, long: 3 });
    expect(seconds[1], 'stickyd').toEqual(seconds[0]);
  }, 20_000);
});
