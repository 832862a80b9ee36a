// The TCP verification probe (TcpFailureDetector, cluster-semantics §1.2) against real sockets: refused ⇒ dead;
// port accepts but nothing answers (a frozen process) ⇒ alive; our receiver answers with the probed
// id ⇒ alive, with another id (restarted process) ⇒ dead; and a stalled event loop in the prober
// must not turn a live peer into a dead one.
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { probeMember } from '../../../src/cluster/channel/failure-detector.js';
import { freePort } from '../../helpers/ports.js';
import { fakeReceiver, type FakeReceiver } from './fixtures/raw-peer.js';

const opts = { connectTimeout: 200, secret: null };
const servers: net.Server[] = [];
let fake: FakeReceiver | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A port whose kernel completes handshakes but whose owner never answers (like a SIGSTOP'd node). */
async function silentServer(): Promise<number> {
  // It reads (and ignores) what arrives, so the connection ends when the prober hangs up.
  const s = net.createServer((c) => c.on('error', () => {}).resume());
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

const id = 'a'.repeat(32);

it('a closed port is dead (refused)', async () => {
  const port = await freePort();
  expect(await probeMember({ id, host: '127.0.0.1', port }, opts)).toEqual({ alive: false, why: 'refused' });
});

it('a port that accepts but never answers is alive (a frozen process is not removed)', async () => {
  const port = await silentServer();
  expect(await probeMember({ id, host: '127.0.0.1', port }, opts)).toEqual({ alive: true, why: 'accepted' });
});

it('an answer with the probed id is alive; with another id the probed identity is dead (restarted)', async () => {
  fake = await fakeReceiver('B', null);
  const at = { host: '127.0.0.1', port: fake.member.port };
  expect(await probeMember({ id: fake.member.id, ...at }, opts)).toEqual({ alive: true, why: 'answered' });
  expect(await probeMember({ id, ...at }, opts)).toEqual({ alive: false, why: 'restarted' });
});

it('a prober whose event loop stalls past connectTimeout still finds a live peer alive', async () => {
  const port = await silentServer();
  const verdict = probeMember({ id, host: '127.0.0.1', port }, opts);
  // Block the event loop well past the connect timeout while the kernel completes the connect.
  const until = Date.now() + 3 * opts.connectTimeout;
  while (Date.now() < until) {
    /* busy: a long synchronous task, a GC pause, a big state-transfer serialisation */
  }
  expect(await verdict).toMatchObject({ alive: true });
});
