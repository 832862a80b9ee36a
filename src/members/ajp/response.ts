/**
 * The packets the container sends back (prefix codes from the AJPv13 reference):
 *   3 SEND_BODY_CHUNK  int length, bytes, one trailing byte (Tomcat writes a NUL; mod_proxy_ajp
 *                      requires the payload to be exactly length + 4)
 *   4 SEND_HEADERS     int status, string message, int num_headers,
 *                      num_headers × (int 0xA0xx code | string name, string value)
 *   5 END_RESPONSE     bool reuse
 *   6 GET_BODY_CHUNK   int requested length
 *   9 CPONG            (nothing)
 *
 * decodeContainerPacket() is strict: anything that is not exactly one of these, with counts that
 * add up to the packet length, is an AjpProtocolError, which the connector reports as kind
 * 'protocol' (502) after destroying the connection. The encoders are the container's side; the
 * test AJP server uses them, and round trips check both directions.
 */
import { STATUS_CODES } from 'node:http';
import { ContainerPacket, HEADER_CODE_MARK, MAGIC_FROM_CONTAINER, RESPONSE_HEADER_NAMES } from './constants.js';
import { AjpProtocolError, PacketReader, PacketWriter } from './packet.js';

export type ContainerMessage =
  | { type: 'headers'; status: number; message: string | null; headers: Array<[name: string, value: string]> }
  | { type: 'body'; data: Buffer }
  | { type: 'end'; reuse: boolean }
  | { type: 'get-body'; size: number }
  | { type: 'cpong' };

/** RFC 9110 token characters: what node:http accepts as a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What node:http accepts in a header value: TAB, visible ASCII and SP, obs-text. No CR, LF, NUL. */
// eslint-disable-next-line no-control-regex
const FIELD_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/;

/** Decodes one container packet payload. Throws AjpProtocolError. */
export function decodeContainerPacket(payload: Buffer): ContainerMessage {
  if (payload.length === 0) throw new AjpProtocolError('empty AJP packet from the container');
  const type = payload[0]!;
  switch (type) {
    case ContainerPacket.SEND_HEADERS:
      return decodeSendHeaders(payload);
    case ContainerPacket.SEND_BODY_CHUNK: {
      const r = new PacketReader(payload, 'SEND_BODY_CHUNK');
      r.byte('prefix code');
      const len = r.int('chunk length');
      if (payload.length !== len + 4) {
        throw new AjpProtocolError(
          `malformed AJP SEND_BODY_CHUNK: chunk length ${len} does not match the packet length ${payload.length} (expected ${len + 4})`,
        );
      }
      return { type: 'body', data: r.raw(len, 'chunk') };
    }
    case ContainerPacket.END_RESPONSE: {
      const r = new PacketReader(payload, 'END_RESPONSE');
      r.byte('prefix code');
      const reuse = r.bool('reuse');
      r.end();
      return { type: 'end', reuse };
    }
    case ContainerPacket.GET_BODY_CHUNK: {
      const r = new PacketReader(payload, 'GET_BODY_CHUNK');
      r.byte('prefix code');
      const size = r.int('requested length');
      r.end();
      return { type: 'get-body', size };
    }
    case ContainerPacket.CPONG: {
      if (payload.length !== 1) throw new AjpProtocolError(`malformed AJP CPONG: ${payload.length - 1} unexpected byte(s)`);
      return { type: 'cpong' };
    }
    default:
      throw new AjpProtocolError(`unknown AJP packet type ${type} from the container`);
  }
}

function decodeSendHeaders(payload: Buffer): ContainerMessage {
  const r = new PacketReader(payload, 'SEND_HEADERS');
  r.byte('prefix code');
  const status = r.int('status');
  // node:http cannot send anything outside 100..999; such a status is not an HTTP response.
  if (status < 100 || status > 999) throw new AjpProtocolError(`AJP SEND_HEADERS with invalid status ${status}`);
  const message = r.string('status message');
  const count = r.int('num_headers');
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const peek = r.peekInt(`header ${i} name`);
    let name: string | null;
    if ((peek & 0xff00) === HEADER_CODE_MARK) {
      r.int(`header ${i} code`);
      name = RESPONSE_HEADER_NAMES[(peek & 0xff) - 1] ?? null;
      if (name === null) throw new AjpProtocolError(`unknown AJP response header code 0x${peek.toString(16)}`);
    } else {
      name = r.string(`header ${i} name`);
      if (name === null || !TOKEN.test(name)) {
        throw new AjpProtocolError(`AJP SEND_HEADERS: header ${i} has an invalid name ${JSON.stringify(name)}`);
      }
    }
    const value = r.string(`header ${i} value`);
    if (value === null || !FIELD_VALUE.test(value)) {
      throw new AjpProtocolError(`AJP SEND_HEADERS: header ${name} has an invalid value`);
    }
    headers.push([name, value]);
  }
  // Bytes left over mean num_headers was smaller than the headers present: the counts lie.
  r.end();
  return { type: 'headers', status, message, headers };
}

/**
 * The reason phrase to hand on. Tomcat (since 8.5) sends the status code itself as the message,
 * a placeholder it keeps only because mod_jk once failed on an empty one (Tomcat bug 45026); its
 * HTTP connector sends no phrase at all. So "200" for 200, like null or "", means "no phrase".
 */
export function reasonPhrase(status: number, message: string | null): string {
  if (message === null || message === '' || message === String(status)) return '';
  return message;
}

/** The standard phrase for a status, for callers that want one when the container sent none. */
export function standardReasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? '';
}

// ---- The container's side (used by the test AJP server and the round-trip tests) ----

const RESPONSE_HEADER_CODES = new Map(RESPONSE_HEADER_NAMES.map((n, i) => [n.toLowerCase(), 0xa001 + i]));

export function encodeSendHeaders(status: number, message: string | null, headers: Array<[string, string]>): Buffer {
  const w = new PacketWriter('SEND_HEADERS');
  w.byte(ContainerPacket.SEND_HEADERS).int(status).string(message).int(headers.length);
  for (const [name, value] of headers) {
    const code = RESPONSE_HEADER_CODES.get(name.toLowerCase());
    if (code !== undefined) w.int(code);
    else w.string(name);
    w.string(value);
  }
  return w.finish(MAGIC_FROM_CONTAINER);
}

/** One body chunk as Tomcat writes it: length, bytes, a trailing NUL. At most 8184 bytes. */
export function encodeSendBodyChunk(data: Buffer): Buffer {
  const w = new PacketWriter('SEND_BODY_CHUNK');
  w.byte(ContainerPacket.SEND_BODY_CHUNK).int(data.length).raw(data).byte(0);
  return w.finish(MAGIC_FROM_CONTAINER);
}

export function encodeEndResponse(reuse: boolean): Buffer {
  return new PacketWriter('END_RESPONSE').byte(ContainerPacket.END_RESPONSE).bool(reuse).finish(MAGIC_FROM_CONTAINER);
}

export function encodeGetBodyChunk(size: number): Buffer {
  return new PacketWriter('GET_BODY_CHUNK').byte(ContainerPacket.GET_BODY_CHUNK).int(size).finish(MAGIC_FROM_CONTAINER);
}

export function encodeCPong(): Buffer {
  return new PacketWriter('CPONG').byte(ContainerPacket.CPONG).finish(MAGIC_FROM_CONTAINER);
}
