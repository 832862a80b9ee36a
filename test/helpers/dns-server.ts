/**
 * A tiny authoritative DNS responder for tests, over UDP on 127.0.0.1 (a port the kernel picks):
 * A, AAAA and SRV records that a test can change at any moment, and per-name faults — NXDOMAIN,
 * SERVFAIL, no answer at all (the client times out) and a delay. Enough of RFC 1035 for node:dns
 * (c-ares): one question per query, answers with a compression pointer to the question's name,
 * EDNS and any other extra sections in the query ignored. Not a general server: no TCP, no
 * truncation, no zones, no recursion.
 *
 *   const dns = await startDnsServer();
 *   dns.set('app.test', { A: ['127.0.0.2', '127.0.0.3'] });
 *   resolver.setServers([dns.address]);   // '127.0.0.1:<port>'
 *   dns.fault('app.test', 'servfail');    // until dns.fault('app.test', null)
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface SrvRecord {
  priority?: number;
  weight?: number;
  port: number;
  /** Target host name (answered by the records of that name). */
  target: string;
}

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  SRV?: SrvRecord[];
}

/** What a name answers instead of its records: NXDOMAIN, SERVFAIL, or nothing (the client times out). */
export type DnsFault = 'nxdomain' | 'servfail' | 'timeout';

export interface DnsServer {
  /** `127.0.0.1:<port>` (or the host given), for `resolver.setServers([...])` and the membership's `servers` option. */
  address: string;
  port: number;
  /** Replaces the records of `name` (case-insensitive, no trailing dot); `null` removes the name (NXDOMAIN). */
  set(name: string, records: DnsRecords | null): void;
  /** Answers `name` with a fault instead of its records; `null` ends the fault. With `count`, only the next `count` queries. */
  fault(name: string, fault: DnsFault | null, count?: number): void;
  /** Answers `name` only after `ms` (0 = at once). */
  delay(name: string, ms: number): void;
  /** Queries received so far for `name` (any type), and in total. */
  queries(name?: string): number;
  close(): Promise<void>;
}

const TYPE = { A: 1, AAAA: 28, SRV: 33 } as const;
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
const TTL = 1;

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Reads the question's name starting at `offset`: returns it and the offset after it. */
function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  for (;;) {
    if (i >= msg.length) throw new Error('truncated name');
    const len = msg[i]!;
    if (len === 0) return { name: labels.join('.'), end: i + 1 };
    if (len & 0xc0) throw new Error('compressed question name'); // never in a question
    labels.push(msg.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
}

function encodeName(name: string): Buffer {
  const parts = canonical(name).split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
}

function rdata(type: number, value: string | SrvRecord): Buffer {
  if (type === TYPE.A) return Buffer.from((value as string).split('.').map(Number));
  if (type === TYPE.AAAA) return ipv6Bytes(value as string);
  const srv = value as SrvRecord;
  const head = Buffer.alloc(6);
  head.writeUInt16BE(srv.priority ?? 10, 0);
  head.writeUInt16BE(srv.weight ?? 10, 2);
  head.writeUInt16BE(srv.port, 4);
  return Buffer.concat([head, encodeName(srv.target)]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

/** `host`: where to listen, 127.0.0.1 unless a test inside its own network namespace says otherwise. */
export async function startDnsServer(host = '127.0.0.1'): Promise<DnsServer> {
  const records = new Map<string, DnsRecords>();
  const faults = new Map<string, DnsFault>();
  const faultsLeft = new Map<string, number>();
  const delays = new Map<string, number>();
  const counts = new Map<string, number>();
  let total = 0;
  const pending = new Set<NodeJS.Timeout>();
  const socket = dgram.createSocket('udp4');

  const answer = (query: Buffer): Buffer | null => {
    if (query.length < 12) return null;
    const qdcount = query.readUInt16BE(4);
    const flags = query.readUInt16BE(2);
    if (flags & 0x8000 || qdcount !== 1) return null; // a response, or not one question: ignore
    const { name, end } = readName(query, 12);
    if (end + 4 > query.length) return null;
    const qtype = query.readUInt16BE(end);
    const question = query.subarray(12, end + 4); // echoed byte for byte (keeps the client's case)
    const key = canonical(name);
    const fault = faults.get(key);
    const left = faultsLeft.get(key);
    if (fault !== undefined && left !== undefined) {
      if (left <= 1) {
        faults.delete(key);
        faultsLeft.delete(key);
      } else faultsLeft.set(key, left - 1);
    }
    if (fault === 'timeout') return null;
    const rec = records.get(key);
    let rcode: number = RCODE.NOERROR;
    const answers: Buffer[] = [];
    if (fault === 'nxdomain' || (fault === undefined && !rec)) rcode = RCODE.NXDOMAIN;
    else if (fault === 'servfail') rcode = RCODE.SERVFAIL;
    else {
      const list: Array<string | SrvRecord> =
        qtype === TYPE.A ? (rec!.A ?? []) : qtype === TYPE.AAAA ? (rec!.AAAA ?? []) : qtype === TYPE.SRV ? (rec!.SRV ?? []) : [];
      for (const v of list) {
        const data = rdata(qtype, v);
        const rr = Buffer.alloc(12);
        rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name at offset 12
        rr.writeUInt16BE(qtype, 2);
        rr.writeUInt16BE(1, 4); // IN
        rr.writeUInt32BE(TTL, 6);
        rr.writeUInt16BE(data.length, 10);
        answers.push(rr, data);
      }
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0); // id
    // QR, opcode 0, AA, RD copied from the query, no recursion available, rcode.
    header.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length / 2, 6);
    return Buffer.concat([header, question, ...answers]);
  };

  socket.on('message', (query, rinfo) => {
    let name = '';
    let reply: Buffer | null;
    try {
      name = canonical(readName(query, 12).name);
      reply = answer(query);
    } catch {
      return; // not a query we understand: no answer
    }
    total++;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (!reply) return;
    const send = () => socket.send(reply, rinfo.port, rinfo.address, () => undefined);
    const ms = delays.get(name) ?? 0;
    if (ms <= 0) {
      send();
      return;
    }
    const t = setTimeout(() => {
      pending.delete(t);
      send();
    }, ms);
    pending.add(t);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;

  return {
    address: `${host}:${port}`,
    port,
    set(name, value) {
      if (value === null) {
        records.delete(canonical(name));
        return;
      }
      for (const a of value.A ?? []) if (!net.isIPv4(a)) throw new Error(`not an IPv4 address: ${a}`);
      for (const a of value.AAAA ?? []) if (!net.isIPv6(a) || a.includes('.')) throw new Error(`not a plain IPv6 address: ${a}`);
      records.set(canonical(name), value);
    },
    fault(name, f, count) {
      faultsLeft.delete(canonical(name));
      if (f === null) faults.delete(canonical(name));
      else {
        faults.set(canonical(name), f);
        if (count !== undefined) faultsLeft.set(canonical(name), count);
      }
    },
    delay(name, ms) {
      delays.set(canonical(name), ms);
    },
    queries(name) {
      return name === undefined ? total : (counts.get(canonical(name)) ?? 0);
    },
    close() {
      for (const t of pending) clearTimeout(t);
      pending.clear();
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}
