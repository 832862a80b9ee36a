/**
 * Before a target is measured, check that it balances the way the comparison assumes: a request
 * with `JSESSIONID=<id>.<route>` reaches the member with that route (each member's body names its
 * route), and requests without a session reach both members. A competitor whose config did not do
 * this would be measured doing less work than stickyd, so it is skipped with the reason instead.
 */
import http from 'node:http';
import type { Member } from './nginx.js';

function get(port: number, cookie: string | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: cookie ? { Cookie: cookie } : {}, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
  });
}

/** null when the target routes like stickyd; otherwise what is wrong. */
export async function checkRouting(port: number, members: Member[], sessionId: (route: string) => string, direct: boolean): Promise<string | null> {
  try {
    if (direct) {
      const r = await get(port, null);
      return r.status === 200 ? null : `status ${r.status}`;
    }
    for (const m of members) {
      for (let i = 0; i < 3; i++) {
        const r = await get(port, `JSESSIONID=${sessionId(m.route)}`);
        if (r.status !== 200 || !r.body.includes(m.route)) {
          return `a request for route ${m.route} got status ${r.status} "${r.body.trim().slice(0, 60)}"`;
        }
      }
    }
    const seen = new Set<string>();
    for (let i = 0; i < 2 * members.length; i++) {
      const r = await get(port, null);
      const m = members.find((x) => r.body.includes(x.route));
      if (r.status !== 200 || !m) return `a request without a session got status ${r.status} "${r.body.trim().slice(0, 60)}"`;
      seen.add(m.route);
    }
    if (seen.size !== members.length) return `requests without a session reached only ${[...seen].join(', ')}`;
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
