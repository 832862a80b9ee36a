/**
 * AJP/1.3 wire constants: packet magic, sizes, prefix codes, method codes, header and attribute
 * codes. The values are those of the AJPv13 protocol reference, as implemented by Tomcat's AJP
 * connector (`org.apache.coyote.ajp.Constants`) and httpd's mod_proxy_ajp (`ajp.h`,
 * `ajp_header.c`).
 */

/** First two bytes of every packet the web server (stickyd) sends to the container. */
export const MAGIC_TO_CONTAINER = 0x1234;
/** First two bytes of every packet the container sends back: the ASCII letters "AB". */
export const MAGIC_FROM_CONTAINER = 0x4142;

/** Magic (2) + payload length (2). */
export const HEADER_SIZE = 4;
/**
 * The largest packet, header included. 8192 is the default of both ends (Tomcat's `packetSize`,
 * httpd's `ProxyIOBufferSize`); Tomcat never sends more unless `packetSize` was raised, and then
 * mod_proxy_ajp would fail just the same.
 */
export const MAX_PACKET_SIZE = 8192;
/** The largest payload: everything after the 4-byte header. */
export const MAX_PAYLOAD = MAX_PACKET_SIZE - HEADER_SIZE;
/**
 * The most request body bytes one data packet carries: packet size minus the header and the
 * 2-byte data length (Tomcat: `MAX_READ_SIZE = MAX_PACKET_SIZE - READ_HEAD_LEN`), i.e. 8186.
 */
export const MAX_BODY_CHUNK = MAX_PAYLOAD - 2;

/** A string length of 0xFFFF encodes a null string (no bytes, no terminator). */
export const NULL_STRING_LENGTH = 0xffff;

/** Prefix codes of packets from the web server to the container. */
export const ServerPacket = {
  FORWARD_REQUEST: 2,
  SHUTDOWN: 7,
  PING: 8,
  CPING: 10,
} as const;

/** Prefix codes of packets from the container to the web server. */
export const ContainerPacket = {
  SEND_BODY_CHUNK: 3,
  SEND_HEADERS: 4,
  END_RESPONSE: 5,
  GET_BODY_CHUNK: 6,
  CPONG: 9,
} as const;

/**
 * HTTP method codes (1-based, in the protocol document's order). A method not in this list is
 * sent as `SC_M_JK_STORED` with its name in the `stored_method` attribute (Tomcat reads it with
 * `SC_A_STORED_METHOD`).
 */
export const METHOD_CODES: ReadonlyMap<string, number> = new Map(
  [
    'OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL',
    'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'ACL', 'REPORT', 'VERSION-CONTROL', 'CHECKIN', 'CHECKOUT',
    'UNCHECKOUT', 'SEARCH', 'MKWORKSPACE', 'UPDATE', 'LABEL', 'MERGE', 'BASELINE-CONTROL', 'MKACTIVITY',
  ].map((name, i) => [name, i + 1]),
);
/** Method byte meaning "the method name is in the stored_method attribute". */
export const SC_M_JK_STORED = 0xff;

/**
 * Request header names the protocol sends as a 2-byte code 0xA0xx instead of a string. Matching is
 * case-insensitive (mod_proxy_ajp upper-cases the name before comparing).
 */
export const REQUEST_HEADER_CODES: ReadonlyMap<string, number> = new Map(
  [
    'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'authorization', 'connection',
    'content-type', 'content-length', 'cookie', 'cookie2', 'host', 'pragma', 'referer', 'user-agent',
  ].map((name, i) => [name, 0xa001 + i]),
);

/** Response header codes 0xA001..0xA00B and the names they stand for, in the container's spelling. */
export const RESPONSE_HEADER_NAMES: readonly string[] = [
  'Content-Type', 'Content-Language', 'Content-Length', 'Date', 'Last-Modified', 'Location',
  'Set-Cookie', 'Set-Cookie2', 'Servlet-Engine', 'Status', 'WWW-Authenticate',
];
/** A header name field whose high byte is 0xA0 is a code, not the length of a string. */
export const HEADER_CODE_MARK = 0xa000;

/** Attribute codes of the forward request, after the headers. */
export const Attribute = {
  CONTEXT: 0x01,
  SERVLET_PATH: 0x02,
  REMOTE_USER: 0x03,
  AUTH_TYPE: 0x04,
  QUERY_STRING: 0x05,
  /** The route the balancer picked (mod_proxy_ajp's `session-route` note; the container ignores it). */
  JVM_ROUTE: 0x06,
  SSL_CERT: 0x07,
  SSL_CIPHER: 0x08,
  SSL_SESSION: 0x09,
  /** A named attribute: two strings, name and value. */
  REQ_ATTRIBUTE: 0x0a,
  /** The one attribute whose value is a 2-byte integer, not a string. */
  SSL_KEY_SIZE: 0x0b,
  /** The connector's `secret` (Tomcat `secretRequired`). */
  SECRET: 0x0c,
  STORED_METHOD: 0x0d,
  /** Ends the attribute list, and the forward request. */
  ARE_DONE: 0xff,
} as const;

/**
 * Named request attributes Tomcat accepts without `allowedRequestAttributesPattern` (anything else
 * makes it answer 403). mod_proxy_ajp sends the client's port this way because the fixed part of
 * the forward request has no field for it; mod_jk adds the local address the same way.
 */
export const REMOTE_PORT_ATTRIBUTE = 'AJP_REMOTE_PORT';
export const LOCAL_ADDR_ATTRIBUTE = 'AJP_LOCAL_ADDR';
