/**
 * What a client connection sends, seen before the HTTP/1.x parser sees it (http1/connection.ts):
 * httpd's request-line checks (request-line.ts) and RequestReadTimeout's header stage
 * (request-read-timeout.ts), which need the bytes of the request line and header block as they
 * arrive; the parser reports nothing until a header block is complete, and it accepts request
 * lines httpd refuses (no version, runs of spaces).
 *
 * It reads the socket's 'data' events and hands every chunk on to the parser, after checking it.
 * To know where each request line starts it follows the framing of the requests: request line,
 * header block, then a body of Content-Length bytes or chunked (chunk sizes, data, trailers).
 * Whatever it cannot follow (framing the strict parser refuses anyway, a header block over
 * maxheadersize, which is answered 431) it passes on unchecked, and it steps aside when the
 * connection hands the socket to an Upgrade or CONNECT.
 *
 * A request line that fails the checks is answered 400 and the connection closed; none of its
 * bytes reach the parser, so nothing of it is forwarded. Requests pipelined before it are answered
 * first. A header block that is not complete when the header stage's deadline passes gets 408.
 *
 * The cost: the parser reads the socket from JavaScript 'data' events instead of straight from
 * the socket in C++ (node:http's "consumed" mode).
 */
import type { Socket } from 'node:net';
import type { ReadTimeoutStage } from '../config/request-read-timeout.js';
import { requestLineProblem } from './request-line.js';
import { ReadDeadline } from './request-read-timeout.js';

export interface ClientInputOptions {
  /** maxheadersize: a longer header block is answered 431 by the parser; this stops following it there. */
  maxHeadSize: number;
  /** RequestReadTimeout header= */
  header: ReadTimeoutStage;
  /** Answer the connection with `status` (a raw response) and close it. */
  refuse(status: 400 | 408, why: string): void;
}

const enum State {
  /** Before a request: empty lines are skipped. */
  LineStart,
  Line,
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  /** Not followed any more: bytes go to the parser unchecked. */
  Pass,
  /** Refused: nothing more goes to the parser. */
  Refused,
}

const CR = 0x0d;
const LF = 0x0a;

type DataListener = (chunk: Buffer) => void;

export class ClientInput {
  private state = State.LineStart;
  /** The current line so far (request line, header or chunk-size line), one char per byte. */
  private line = '';
  /** Bytes of the current header block so far. */
  private headBytes = 0;
  /** The next header byte starts a line; whether the current line is copied out (see Head). */
  private lineFresh = true;
  private lineKept = false;
  /** What the header block said about the body, and whether it asks for a protocol switch. */
  private contentLength: number | null = null;
  private chunked = false;
  private framingUnclear = false;
  private upgrade = false;
  private connectionUpgrade = false;
  private connect = false;
  /** Body or chunk bytes still to come. */
  private remaining = 0;
  /** Requests handed to the handler whose response has not ended. */
  private inFlight = 0;
  /** A refusal waiting for the requests before it to be answered. */
  private pendingRefusal: { status: 400 | 408; why: string } | null = null;
  private readonly headerDeadline: ReadDeadline;

  private constructor(
    private readonly socket: Socket,
    private readonly parse: DataListener,
    private readonly options: ClientInputOptions,
    /** The parser still owns the socket (it lets go on Upgrade, CONNECT and close). */
    private readonly parserAttached: () => boolean,
  ) {
    this.headerDeadline = new ReadDeadline(options.header, () => {
      this.refuse(408, 'the request header block did not arrive in time (RequestReadTimeout header=)');
      this.settle();
    });
    // The first request's header stage starts with the connection (httpd: at the first read).
    this.headerDeadline.start();
  }

  /**
   * Put a ClientInput in front of the HTTP/1.x parser (http1/connection.ts): `parse` gets the
   * checked bytes, `attached` says whether the parser still owns the socket.
   */
  static feeding(socket: Socket, parse: DataListener, attached: () => boolean, options: ClientInputOptions): ClientInput {
    const input = new ClientInput(socket, parse, options, attached);
    socket.on('data', input.onData);
    socket.once('close', () => input.headerDeadline.stop());
    return input;
  }

  /** The handler took a request off this connection. */
  requestStarted(): void {
    this.inFlight++;
    this.headerDeadline.stop();
  }

  /** A response of this connection ended (sent or aborted). */
  requestEnded(): void {
    this.inFlight--;
    if (this.inFlight > 0) return;
    if (this.pendingRefusal !== null) {
      this.settle();
      return;
    }
    // The next request's header block is already arriving: its stage starts now.
    if (this.state === State.Line || this.state === State.Head) this.headerDeadline.start();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.take(chunk);
    // A header block still incomplete at the end of a read gets its timer now (see ReadDeadline).
    this.headerDeadline.ensureArmed();
  };

  private take(chunk: Buffer): void {
    if (this.state === State.Refused) return;
    if (this.state === State.Pass) {
      this.feed(chunk);
      return;
    }
    const end = this.scan(chunk, 0);
    if (this.refused()) {
      // A refused request line starts at `end`: what comes before it is the parser's, and the
      // requests in it are answered before the refusal.
      if (end > 0) this.feed(chunk.subarray(0, end));
      this.settle();
      return;
    }
    this.feed(chunk);
    if (!this.parserAttached()) {
      // The connection handed the socket to an Upgrade or CONNECT handler (with what followed
      // the header block in this chunk), or is done with it.
      this.detach();
      return;
    }
    if (end === chunk.length) return;
    // A header block that could have switched protocols ends at `end`, and the parser did not switch:
    // what follows is this request's body or the next request. It went to the parser already,
    // so a refusal here cannot wait for the responses before it: the connection is cut instead.
    this.scan(chunk, end);
    if (this.refused()) {
      if (this.inFlight > 0) {
        this.pendingRefusal = null;
        this.socket.destroy();
      } else {
        this.settle();
      }
    }
  }

  /** (A method, so that the compiler does not take `state` as fixed across scan() calls.) */
  private refused(): boolean {
    return this.state === State.Refused;
  }

  private feed(chunk: Buffer): void {
    if (this.socket.destroyed) return;
    this.parse(chunk);
  }

  private detach(): void {
    this.state = State.Pass;
    this.headerDeadline.stop();
    this.socket.removeListener('data', this.onData);
  }

  /** Refuse the request being received: answered once the responses due before it are sent. */
  private refuse(status: 400 | 408, why: string): void {
    if (this.state === State.Refused) return;
    this.state = State.Refused;
    this.headerDeadline.stop();
    this.pendingRefusal = { status, why };
  }

  /** Answer a refusal once nothing else is due on the connection. */
  private settle(): void {
    if (this.pendingRefusal === null || this.inFlight > 0) return;
    const { status, why } = this.pendingRefusal;
    this.pendingRefusal = null;
    this.options.refuse(status, why);
  }

  /**
   * Follow the requests in `chunk` from `from`. Returns chunk.length when all of it may go to the
   * parser, or the offset where it stopped: a refused request line starts there (state Refused),
   * or a header block that may switch protocols ends there.
   */
  private scan(chunk: Buffer, from: number): number {
    let i = from;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case State.LineStart: {
          // The first byte of the next request starts its header stage (httpd waits for it with
          // the keep-alive timeout), unless responses are still due on this connection.
          if (this.inFlight === 0) this.headerDeadline.start(false);
          // Empty lines before a request are skipped (httpd and node's parser both do).
          const begin = i;
          while (i < n && (chunk[i] === CR || chunk[i] === LF)) i++;
          this.headerDeadline.received(i - begin);
          if (i === n) break;
          this.state = State.Line;
          this.line = '';
          this.headBytes = 0;
          break;
        }
        case State.Line: {
          const start = i;
          const lf = chunk.indexOf(LF, i);
          const end = lf < 0 ? n : lf;
          this.headBytes += end - start + (lf < 0 ? 0 : 1);
          this.headerDeadline.received(end - start + (lf < 0 ? 0 : 1));
          if (this.headBytes > this.options.maxHeadSize) {
            this.state = State.Pass; // the parser answers 431
            return n;
          }
          if (this.line === '' && lf >= 0 && strictRequestLine(chunk, start, lf)) {
            // The usual case: the whole line is in this read and passes, checked on the bytes.
            this.connect = chunk[start] === 0x43 /* C */ && chunk.toString('latin1', start, start + 8) === 'CONNECT ';
          } else {
            this.line += chunk.toString('latin1', start, end);
            if (lf < 0) return n;
            const problem = requestLineProblem(this.line);
            if (problem !== null) {
              this.refuse(400, problem);
              // Only the part of the line in this chunk is held back; an earlier part is harmless
              // to the parser (it reports nothing before a header block is complete).
              return start;
            }
            this.connect = this.line.startsWith('CONNECT ');
          }
          this.contentLength = null;
          this.chunked = false;
          this.framingUnclear = false;
          this.upgrade = false;
          this.connectionUpgrade = false;
          this.line = '';
          this.lineFresh = true;
          this.state = State.Head;
          i = lf + 1;
          break;
        }
        case State.Head: {
          const start = i;
          const lf = chunk.indexOf(LF, i);
          const end = lf < 0 ? n : lf;
          this.headBytes += end - start + (lf < 0 ? 0 : 1);
          this.headerDeadline.received(end - start + (lf < 0 ? 0 : 1));
          if (this.headBytes > this.options.maxHeadSize) {
            this.state = State.Pass;
            return n;
          }
          // A whole line in this read (the usual case) is looked at on the bytes: only
          // Content-Length, Transfer-Encoding, Upgrade lines and Connection lines that may name
          // "upgrade" are copied out; the empty line ends the block without a copy.
          if (this.lineFresh && lf >= 0) {
            i = lf + 1;
            if (lf === start || (lf === start + 1 && chunk[start] === CR)) {
              const stop = this.headBlockEnds(i, n);
              if (stop >= 0) return stop;
              break;
            }
            if (framingHeader(chunk, start) && !connectionWithoutUpgrade(chunk, start, lf)) this.header(chunk.toString('latin1', start, lf));
            break;
          }
          // Otherwise only lines that may matter are copied out: Content-Length, Connection,
          // Transfer-Encoding, Upgrade, and the empty line that ends the block.
          if (this.lineFresh) {
            const c = chunk[start]!;
            const lower = c | 0x20;
            this.lineKept = c === CR || c === LF || lower === 0x63 /* c */ || lower === 0x74 /* t */ || lower === 0x75 /* u */;
            this.lineFresh = false;
          }
          if (this.lineKept) this.line += chunk.toString('latin1', start, end);
          if (lf < 0) return n;
          i = lf + 1;
          this.lineFresh = true;
          if (!this.lineKept) break;
          const line = this.line;
          this.line = '';
          if (line !== '\r' && line !== '') {
            this.header(line);
            break;
          }
          const stop = this.headBlockEnds(i, n);
          if (stop >= 0) return stop;
          break;
        }
        case State.Body: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = State.LineStart;
          break;
        }
        case State.ChunkSize:
        case State.Trailers: {
          const lf = chunk.indexOf(LF, i);
          const end = lf < 0 ? n : lf;
          this.line += chunk.toString('latin1', i, end);
          if (this.line.length > this.options.maxHeadSize) {
            this.state = State.Pass;
            return n;
          }
          if (lf < 0) return n;
          i = lf + 1;
          const line = this.line;
          this.line = '';
          if (this.state === State.Trailers) {
            if (line === '\r' || line === '') this.state = State.LineStart;
            break;
          }
          const size = /^[0-9A-Fa-f]+/.exec(line);
          const value = size === null ? NaN : parseInt(size[0], 16);
          if (!Number.isSafeInteger(value)) {
            this.state = State.Pass; // node's parser refuses it
            return n;
          }
          if (value === 0) this.state = State.Trailers;
          else {
            this.remaining = value;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2; // CRLF
          }
          break;
        }
        case State.ChunkDataEnd: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        default:
          return n;
      }
    }
    return n;
  }

  /**
   * The empty line that ends the header block was read, up to `i` of a chunk of `n` bytes: the
   * header stage is over, the body (if any) follows. Returns what scan() returns when it stops
   * here (`n`: framing node's strict parser refuses, the rest goes on unchecked; `i`: the block
   * may switch protocols, Upgrade or CONNECT), or -1 to go on.
   */
  private headBlockEnds(i: number, n: number): number {
    this.headerDeadline.stop();
    if (this.framingUnclear) {
      this.state = State.Pass; // node's strict parser refuses such framing
      return n;
    }
    const body = this.chunked ? State.ChunkSize : this.contentLength !== null && this.contentLength > 0 ? State.Body : State.LineStart;
    this.remaining = this.contentLength ?? 0;
    this.state = body;
    return this.connect || (this.upgrade && this.connectionUpgrade) ? i : -1;
  }

  /** One header line of the current header block: what matters for framing and protocol switches. */
  private header(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) return; // node's parser refuses it
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    switch (name) {
      case 'content-length':
        if (this.contentLength !== null || !/^\d+$/.test(value)) this.framingUnclear = true;
        else this.contentLength = Number(value);
        if (this.chunked) this.framingUnclear = true;
        break;
      case 'transfer-encoding':
        if (this.chunked || this.contentLength !== null || !/(^|,)\s*chunked$/i.test(value)) this.framingUnclear = true;
        this.chunked = true;
        break;
      case 'upgrade':
        this.upgrade = true;
        break;
      case 'connection':
        if (value.split(',').some((t) => t.trim().toLowerCase() === 'upgrade')) this.connectionUpgrade = true;
        break;
    }
  }
}

/** RFC 9110 tchar, by byte: what a method may consist of. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/**
 * `chunk[start..lf)` is a request line requestLineProblem() accepts, checked on the bytes without
 * making a string: `token SP target SP HTTP/d.d CR`, no control character, space, DEL or "#" in
 * the target, major version not 0. false sends the line the slow way, which names the problem.
 */
export function strictRequestLine(chunk: Buffer, start: number, lf: number): boolean {
  let i = start;
  while (i < lf && TCHAR[chunk[i]!] === 1) i++;
  if (i === start || i >= lf || chunk[i] !== 0x20) return false;
  const target = ++i;
  for (; i < lf; i++) {
    const c = chunk[i]!;
    if (c <= 0x20 || c === 0x7f || c === 0x23 /* # */) break;
  }
  if (i === target || i >= lf || chunk[i] !== 0x20) return false;
  i++;
  // "HTTP/d.d\r": 9 bytes up to the LF.
  return lf - i === 9
    && chunk[i] === 0x48 && chunk[i + 1] === 0x54 && chunk[i + 2] === 0x54 && chunk[i + 3] === 0x50 && chunk[i + 4] === 0x2f
    && chunk[i + 5]! >= 0x31 && chunk[i + 5]! <= 0x39 && chunk[i + 6] === 0x2e && chunk[i + 7]! >= 0x30 && chunk[i + 7]! <= 0x39
    && chunk[i + 8] === CR;
}

/**
 * The header line `chunk[start..lf)`, which framingHeader() accepted, is a Connection line whose
 * value has no "u" or "U": it cannot name the "upgrade" token, so header() would learn nothing
 * from it (the usual `Connection: keep-alive` / `close`).
 */
function connectionWithoutUpgrade(chunk: Buffer, start: number, lf: number): boolean {
  if ((chunk[start]! | 0x20) !== 0x63 /* c */ || (chunk[start + 3]! | 0x20) !== 0x6e /* "conn", not "cont" */) return false;
  for (let k = start + 11; k < lf; k++) if ((chunk[k]! | 0x20) === 0x75 /* u */) return false;
  return true;
}

const FRAMING_NAMES = ['content-length:', 'transfer-encoding:', 'connection:', 'upgrade:'].map((n) => Buffer.from(n, 'latin1'));

/** The header line at `start` names (case-insensitively) a header ClientInput follows: see header(). */
function framingHeader(chunk: Buffer, start: number): boolean {
  const first = chunk[start]! | 0x20;
  if (first !== 0x63 /* c */ && first !== 0x74 /* t */ && first !== 0x75 /* u */) return false;
  next: for (const name of FRAMING_NAMES) {
    if (name[0] !== first || start + name.length > chunk.length) continue;
    for (let k = 1; k < name.length; k++) {
      const c = chunk[start + k]!;
      // Lower-case letters only; ':' and '-' compare as they are.
      if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== name[k]) continue next;
    }
    return true;
  }
  return false;
}
