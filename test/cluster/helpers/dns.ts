/**
 * For DNS membership tests: nodes on distinct loopback addresses (127.0.0.2, .3, …) that share one
 * receiver port, as the pods behind a headless Service share theirs, so one A record with one port
 * names them all.
 */
import net from 'node:net';
import { freePort } from '../../helpers/ports.js';

/** A TCP port free on every one of `hosts` (all on lo) a moment ago. */
export async function sharedPort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    const bound: net.Server[] = [];
    let ok = true;
    for (const host of hosts) {
      const s = net.createServer();
      const fine = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(port, host, () => resolve(true));
      });
      if (!fine) {
        ok = false;
        break;
      }
      bound.push(s);
    }
    await Promise.all(bound.map((s) => new Promise((r) => s.close(r))));
    if (ok) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}
