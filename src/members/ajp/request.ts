/**
 * The packets stickyd sends to the container: the Forward Request (prefix 2), request body data
 * packets, and CPing (prefix 10). Also the Forward Request decoder, which the tests and the test
 * AJP server use to check what went over the wire (a round trip must give back what was encoded).
 *
 * Forward Request layout (AJPv13; Tomcat AjpProcessor.prepareRequest reads it in this order):
 *   byte 2, byte method, string protocol, string req_uri, string remote_addr, string remote_host,
 *   string server_name, int server_port, bool is_ssl, int num_headers,
 *   num_headers × (int 0xA0xx code | string name, string value),
 *   attributes: byte code + value(s) …, byte 0xFF.
 */
import { hostWithoutPort } from '../../proxy/headers.js';
import type { Attempt } from '../connector.js';
import {
  Attribute,
  HEADER_CODE_MARK,
  LOCAL_ADDR_ATTRIBUTE,
  MAGIC_TO_CONTAINER,
  MAX_BODY_CHUNK,
  METHOD_CODES,
  REMOTE_PORT_ATTRIBUTE,
  REQUEST_HEADER_CODES,
  SC_M_JK_STORED,
  ServerPacket,
} from './constants.js';
import { AjpProtocolError, PacketReader, PacketWriter } from './packet.js';

/** Everything a Forward Request carries, as plain data. */
export interface ForwardRequest {
  method: string;
  /** "HTTP/1.1". */
  protocol: string;
  /** The request path WITHOUT the query, still %-encoded as the client sent it. */
  uri: string;
  remoteAddr: string;
  /** null: mod_proxy_ajp sends a null string unless HostnameLookups is on (Tomcat then uses remoteAddr). */
  remoteHost: string | null;
  serverName: string;
  serverPort: number;
  isSsl: boolean;
  /** In order; names as given (known names go out as 0xA0xx codes; decoding gives them lower-case). */
  headers: Array<[name: string, value: string]>;
  /** query_string (0x05), without the "?"; null = the URL had no "?". */
  queryString: string | null;
  /** jvm_route (0x06); null = not sent. */
  route: string | null;
  /** secret (0x0C); null = not sent. */
  secret: string | null;
  /** remote_user (0x03) / auth_type (0x04); stickyd never authenticates, decoders may see them. */
  remoteUser?: string | null;
  authType?: string | null;
  /** ssl_cert (0x07), ssl_cipher (0x08), ssl_session (0x09), ssl_key_size (0x0B, an int). */
  ssl?: { cert?: string | null; cipher?: string | null; session?: string | null; keySize?: number };
  /** req_attribute (0x0A) name/value pairs, e.g. AJP_REMOTE_PORT. */
  attributes: Array<[name: string, value: string]>;
}

/**
 * Builds the Forward Request for one attempt, as mod_proxy_ajp's ajp_marshal_into_msgb does:
 * - req_uri is the path part only; the query travels in the query_string attribute;
 * - remote_host is null (HostnameLookups Off); server_port is the port the client connected to
 *   (`r->connection->local_addr->port`); server_name is the Host header's host (UseCanonicalName
 *   Off), else ServerName;
 * - the session route (httpd's session-route note) goes in jvm_route, the client's port in the AJP_REMOTE_PORT request
 *   attribute (and the local address in AJP_LOCAL_ADDR, as mod_jk does; Tomcat accepts both);
 * - the framing header Content-Length is made to agree with the body this attempt sends: Tomcat
 *   expects the first body packet unasked exactly when Content-Length > 0, so a stale value
 *   would desynchronise the connection.
 */
export function forwardRequestFor(req: Attempt, secret: string): ForwardRequest {
  const q = req.path.indexOf('?');
  const uri = q === -1 ? req.path : req.path.slice(0, q);
  const queryString = q === -1 ? null : req.path.slice(q + 1);

  const length = framedBodyLength(req);
  const headers: Array<[string, string]> = [];
  let host: string | undefined;
  let lengthSent = false;
  const raw = req.clientHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      // Keep the header's place, but with the length this attempt really sends; drop repeats.
      if (!lengthSent && length !== null) headers.push([name, String(length)]);
      lengthSent = true;
      continue;
    }
    if (lower === 'host' && host === undefined) host = value;
    headers.push([name, value]);
  }
  if (!lengthSent && length !== null) headers.push(['Content-Length', String(length)]);

  return {
    method: req.method,
    protocol: `HTTP/${req.httpVersion}`,
    uri: uri === '' ? '/' : uri,
    remoteAddr: req.info.remoteAddress,
    remoteHost: null,
    serverName: host !== undefined ? hostWithoutPort(host) : req.info.serverName,
    serverPort: req.info.localPort,
    isSsl: req.info.secure,
    headers,
    queryString,
    route: req.route === '' ? null : req.route,
    secret: secret === '' ? null : secret,
    attributes: [
      [REMOTE_PORT_ATTRIBUTE, String(req.info.remotePort)],
      [LOCAL_ADDR_ATTRIBUTE, req.info.localAddress],
    ],
  };
}

/**
 * The Content-Length the container is told: the body's length when known, 0 for a request that
 * declared a length but has no body stream, null (no header: the container asks for data until
 * the empty packet) for a chunked body or none at all.
 */
export function framedBodyLength(req: Pick<Attempt, 'body' | 'bodyLength'>): number | null {
  if (req.bodyLength === null) return null;
  return req.body === null ? 0 : req.bodyLength;
}

/**
 * Encodes a Forward Request packet. Throws AjpOverflowError when it does not fit 8192 bytes
 * (mod_proxy_ajp answers 400 then, and nothing is sent).
 */
export function encodeForwardRequest(fr: ForwardRequest): Buffer {
  const w = new PacketWriter('forward request');
  const code = METHOD_CODES.get(fr.method);
  w.byte(ServerPacket.FORWARD_REQUEST);
  w.byte(code ?? SC_M_JK_STORED);
  w.string(fr.protocol);
  w.string(fr.uri);
  w.string(fr.remoteAddr);
  w.string(fr.remoteHost);
  w.string(fr.serverName);
  w.int(fr.serverPort);
  w.bool(fr.isSsl);
  w.int(fr.headers.length);
  for (const [name, value] of fr.headers) {
    const hc = REQUEST_HEADER_CODES.get(name.toLowerCase());
    if (hc !== undefined) w.int(hc);
    else w.string(name);
    w.string(value);
  }
  if (fr.remoteUser != null) w.byte(Attribute.REMOTE_USER).string(fr.remoteUser);
  if (fr.authType != null) w.byte(Attribute.AUTH_TYPE).string(fr.authType);
  if (fr.queryString !== null) w.byte(Attribute.QUERY_STRING).string(fr.queryString);
  if (fr.route !== null) w.byte(Attribute.JVM_ROUTE).string(fr.route);
  if (fr.isSsl && fr.ssl) {
    // Only attributes with a value, as mod_proxy_ajp does ("not NULL and not empty").
    if (fr.ssl.cert) w.byte(Attribute.SSL_CERT).string(fr.ssl.cert);
    if (fr.ssl.cipher) w.byte(Attribute.SSL_CIPHER).string(fr.ssl.cipher);
    if (fr.ssl.session) w.byte(Attribute.SSL_SESSION).string(fr.ssl.session);
    if (fr.ssl.keySize !== undefined) w.byte(Attribute.SSL_KEY_SIZE).int(fr.ssl.keySize);
  }
  if (fr.secret !== null) w.byte(Attribute.SECRET).string(fr.secret);
  for (const [name, value] of fr.attributes) w.byte(Attribute.REQ_ATTRIBUTE).string(name).string(value);
  // A method without a code travels by name (Tomcat: SC_A_STORED_METHOD).
  if (code === undefined) w.byte(Attribute.STORED_METHOD).string(fr.method);
  w.byte(Attribute.ARE_DONE);
  return w.finish(MAGIC_TO_CONTAINER);
}

const METHOD_NAMES = new Map([...METHOD_CODES].map(([name, code]) => [code, name]));
const REQUEST_HEADER_NAMES = new Map([...REQUEST_HEADER_CODES].map(([name, code]) => [code, name]));

/** Decodes a Forward Request payload (the packet without its 4-byte header). Throws AjpProtocolError. */
export function decodeForwardRequest(payload: Buffer): ForwardRequest {
  const r = new PacketReader(payload, 'forward request');
  const prefix = r.byte('prefix code');
  if (prefix !== ServerPacket.FORWARD_REQUEST) throw new AjpProtocolError(`not a forward request: prefix code ${prefix}`);
  const methodCode = r.byte('method');
  let method = methodCode === SC_M_JK_STORED ? '' : METHOD_NAMES.get(methodCode);
  if (method === undefined) throw new AjpProtocolError(`unknown AJP method code ${methodCode}`);
  const need = (v: string | null, field: string): string => {
    if (v === null) throw new AjpProtocolError(`forward request: ${field} is null`);
    return v;
  };
  const protocol = need(r.string('protocol'), 'protocol');
  const uri = need(r.string('req_uri'), 'req_uri');
  const remoteAddr = need(r.string('remote_addr'), 'remote_addr');
  const remoteHost = r.string('remote_host');
  const serverName = need(r.string('server_name'), 'server_name');
  const serverPort = r.int('server_port');
  const isSsl = r.bool('is_ssl');
  const count = r.int('num_headers');
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const peek = r.peekInt(`header ${i} name`);
    let name: string;
    if ((peek & 0xff00) === HEADER_CODE_MARK) {
      r.int(`header ${i} code`);
      const known = REQUEST_HEADER_NAMES.get(peek);
      if (known === undefined) throw new AjpProtocolError(`unknown AJP request header code 0x${peek.toString(16)}`);
      name = known;
    } else {
      name = need(r.string(`header ${i} name`), `header ${i} name`);
    }
    headers.push([name, need(r.string(`header ${i} value`), `header ${i} value`)]);
  }
  const fr: ForwardRequest = {
    method, protocol, uri, remoteAddr, remoteHost, serverName, serverPort, isSsl, headers,
    queryString: null, route: null, secret: null, attributes: [],
  };
  for (;;) {
    const code = r.byte('attribute code');
    if (code === Attribute.ARE_DONE) break;
    switch (code) {
      case Attribute.REQ_ATTRIBUTE: {
        const n = need(r.string('req_attribute name'), 'req_attribute name');
        fr.attributes.push([n, need(r.string('req_attribute value'), 'req_attribute value')]);
        break;
      }
      case Attribute.QUERY_STRING: fr.queryString = r.string('query_string'); break;
      case Attribute.JVM_ROUTE: fr.route = r.string('jvm_route'); break;
      case Attribute.SECRET: fr.secret = r.string('secret'); break;
      case Attribute.REMOTE_USER: fr.remoteUser = r.string('remote_user'); break;
      case Attribute.AUTH_TYPE: fr.authType = r.string('auth_type'); break;
      case Attribute.STORED_METHOD: method = need(r.string('stored_method'), 'stored_method'); fr.method = method; break;
      case Attribute.SSL_CERT: (fr.ssl ??= {}).cert = r.string('ssl_cert'); break;
      case Attribute.SSL_CIPHER: (fr.ssl ??= {}).cipher = r.string('ssl_cipher'); break;
      case Attribute.SSL_SESSION: (fr.ssl ??= {}).session = r.string('ssl_session'); break;
      case Attribute.SSL_KEY_SIZE: (fr.ssl ??= {}).keySize = r.int('ssl_key_size'); break;
      case Attribute.CONTEXT: case Attribute.SERVLET_PATH: r.string('context/servlet_path'); break;
      default: throw new AjpProtocolError(`unknown AJP request attribute code 0x${code.toString(16)}`);
    }
  }
  r.end();
  if (fr.method === '') throw new AjpProtocolError('forward request: method code 0xFF without a stored_method attribute');
  return fr;
}

/**
 * A request body data packet: magic, length, then an int data length and the data (no NUL).
 * Carries at most MAX_BODY_CHUNK (8186) bytes.
 */
export function encodeBodyChunk(data: Buffer): Buffer {
  if (data.length === 0) return encodeEmptyBodyChunk();
  if (data.length > MAX_BODY_CHUNK) throw new RangeError(`AJP body chunk of ${data.length} bytes exceeds ${MAX_BODY_CHUNK}`);
  const out = Buffer.allocUnsafe(6 + data.length);
  out.writeUInt16BE(MAGIC_TO_CONTAINER, 0);
  out.writeUInt16BE(data.length + 2, 2);
  out.writeUInt16BE(data.length, 4);
  data.copy(out, 6);
  return out;
}

/**
 * The "empty" body packet (payload length 0) that tells the container the body has ended, the
 * answer to a GET_BODY_CHUNK past the end of the body (AJPv13: 0x12 0x34 0x00 0x00).
 */
export function encodeEmptyBodyChunk(): Buffer {
  return Buffer.from([0x12, 0x34, 0x00, 0x00]);
}

/** Body bytes of a data packet payload as the container reads it; null for the empty packet. */
export function decodeBodyChunk(payload: Buffer): Buffer | null {
  if (payload.length === 0) return null;
  const r = new PacketReader(payload, 'request body packet');
  const len = r.int('data length');
  const data = r.raw(len, 'data');
  r.end();
  return len === 0 ? null : data;
}

/** CPing: "are you alive?", answered by a CPong (prefix 9). */
export function encodeCPing(): Buffer {
  return Buffer.from([0x12, 0x34, 0x00, 0x01, ServerPacket.CPING]);
}
