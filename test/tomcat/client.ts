/** A tiny HTTP client for the Tomcat scenario: one request, a cookie jar of one JSESSIONID. */
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The JSESSIONID value a Set-Cookie carried, if any. */
  setSessionId: string | null;
}

export function get(port: number, path: string, cookie: string | null = null, timeoutMs = 15_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: cookie ? { Cookie: `JSESSIONID=${cookie}` } : {} },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const set = (res.headers['set-cookie'] ?? []).map((c) => /^JSESSIONID=([^;]*)/.exec(c)?.[1]).find((v) => v !== undefined);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString(), setSessionId: set ?? null });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path} on :${port} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** What index.jsp prints. */
export interface SessionPage {
  id: string;
  node: string;
  created: number;
  hits: number;
  requestedId: string;
}

export function sessionPage(r: Reply): SessionPage {
  try {
    return JSON.parse(r.body) as SessionPage;
  } catch {
    throw new Error(`not the session page (status ${r.status}): ${r.body.slice(0, 300)}`);
  }
}
