/**
 * OCSP stapling from a file (nginx's `ssl_stapling_file`; Apache's SSLUseStapling fetches the
 * response from the CA's responder itself, which needs the network: stickyd staples a response the
 * operator fetched, e.g. with `openssl ocsp -issuer chain.pem -cert site.crt -url … -respout
 * site.ocsp`, and reloads it with SIGHUP).
 *
 * A stapled response that is expired, revoked or for another certificate makes clients fail
 * hard (Must-Staple) or ignore it, so the file is checked when it is loaded: a successful
 * response, for the certificate's serial number, status good, and not past its nextUpdate. The
 * signature is not checked here (the client does that against the issuer); this is a guard
 * against the wrong or a stale file, not a validator.
 *
 * The DER reading is the few ASN.1 structures of RFC 6960 §4.2.1 that this needs.
 */

/** One DER TLV: tag byte, content, and where the next sibling starts. */
interface Tlv {
  tag: number;
  content: Buffer;
  end: number;
}

class DerError extends Error {}

function readTlv(buf: Buffer, at: number): Tlv {
  if (at + 2 > buf.length) throw new DerError('truncated');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw new DerError('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (start + len > buf.length) throw new DerError('truncated');
  return { tag, content: buf.subarray(start, start + len), end: start + len };
}

/** The children of a constructed value. */
function children(v: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < v.content.length; ) {
    const c = readTlv(v.content, at);
    out.push(c);
    at = c.end;
  }
  return out;
}

function expect(v: Tlv | undefined, tag: number, what: string): Tlv {
  if (v === undefined || v.tag !== tag) throw new DerError(`expected ${what}`);
  return v;
}

const SEQUENCE = 0x30;
const ENUMERATED = 0x0a;
const OCTET_STRING = 0x04;
const INTEGER = 0x02;
const GENERALIZED_TIME = 0x18;
const OID_BASIC = '2b0601050507300101'; // 1.3.6.1.5.5.7.48.1.1 id-pkix-ocsp-basic

/** YYYYMMDDHHMMSS[.fff]Z → Date. */
function generalizedTime(v: Tlv): Date {
  const s = v.content.toString('latin1');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
  if (!m) throw new DerError(`bad time "${s}"`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspSingleResponse {
  /** Serial number of the certificate, upper-case hex without leading zeros (as X509Certificate.serialNumber). */
  serial: string;
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate: Date | null;
}

const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(4)', 'sigRequired', 'unauthorized'];

/** Parse an OCSPResponse (DER). Throws an Error with a message for the user. */
export function parseOcspResponse(der: Buffer): OcspSingleResponse[] {
  try {
    const top = children(expect(readTlv(der, 0), SEQUENCE, 'an OCSPResponse'));
    const status = expect(top[0], ENUMERATED, 'responseStatus').content[0] ?? 0;
    if (status !== 0) throw new Error(`the OCSP response status is ${RESPONSE_STATUS[status] ?? status}, not successful`);
    const bytes = children(expect(top[1], 0xa0, 'responseBytes'))[0];
    const [type, response] = children(expect(bytes, SEQUENCE, 'ResponseBytes'));
    if (type === undefined || type.content.toString('hex') !== OID_BASIC) throw new Error('the OCSP response is not a basic OCSP response');
    const basic = children(expect(readTlv(expect(response, OCTET_STRING, 'response').content, 0), SEQUENCE, 'BasicOCSPResponse'));
    const data = children(expect(basic[0], SEQUENCE, 'ResponseData'));
    let i = 0;
    if (data[i]?.tag === 0xa0) i++; // version
    i++; // responderID
    expect(data[i++], GENERALIZED_TIME, 'producedAt');
    const responses = children(expect(data[i], SEQUENCE, 'responses'));
    return responses.map((r) => {
      const fields = children(expect(r, SEQUENCE, 'SingleResponse'));
      const certId = children(expect(fields[0], SEQUENCE, 'CertID'));
      const serialBytes = expect(certId[3], INTEGER, 'serialNumber').content;
      const serial = serialBytes.toString('hex').toUpperCase().replace(/^(00)+(?=.)/, '');
      const statusTag = fields[1]?.tag ?? -1;
      const status: OcspCertStatus = statusTag === 0x80 ? 'good' : statusTag === 0xa1 || statusTag === 0x81 ? 'revoked' : 'unknown';
      const thisUpdate = generalizedTime(expect(fields[2], GENERALIZED_TIME, 'thisUpdate'));
      const next = fields[3]?.tag === 0xa0 ? generalizedTime(expect(children(fields[3])[0], GENERALIZED_TIME, 'nextUpdate')) : null;
      return { serial, status, thisUpdate, nextUpdate: next };
    });
  } catch (e) {
    if (e instanceof DerError) throw new Error(`not a DER-encoded OCSP response (${e.message})`);
    throw e;
  }
}

/** Normalize a hex serial number for comparison (X509Certificate.serialNumber may keep a leading 00). */
export function normalizeSerial(hex: string): string {
  return hex.toUpperCase().replace(/^(00)+(?=.)/, '');
}

/**
 * Why a stapling file must not be stapled for a certificate with serial `serial`, or null when it
 * is fine. `now` is the wall clock in ms.
 */
export function ocspProblem(responses: OcspSingleResponse[], serial: string, now: number): string | null {
  const mine = responses.find((r) => r.serial === normalizeSerial(serial));
  if (mine === undefined) {
    return `the OCSP response is for ${responses.length === 1 ? 'another certificate' : 'other certificates'} (serial ${responses.map((r) => r.serial).join(', ') || 'none'}, not ${normalizeSerial(serial)})`;
  }
  if (mine.status !== 'good') return `the OCSP response says the certificate is ${mine.status}`;
  if (mine.nextUpdate !== null && mine.nextUpdate.getTime() < now) return `the OCSP response expired on ${mine.nextUpdate.toISOString()} (nextUpdate); fetch a new one`;
  if (mine.thisUpdate.getTime() > now + 5 * 60_000) return `the OCSP response is not valid before ${mine.thisUpdate.toISOString()} (thisUpdate)`;
  return null;
}
