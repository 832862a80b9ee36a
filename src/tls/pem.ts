/**
 * PEM files as Apache and OpenSSL read them: any number of `-----BEGIN X-----` … `-----END X-----`
 * blocks, with text (comments, `openssl x509 -text` output) allowed between them. A certificate
 * file may hold the server certificate, its chain and even its key (SSLCertificateFile since
 * httpd 2.4.8), so the loader looks at every block and its label.
 */

export interface PemBlock {
  /** The label after BEGIN: `CERTIFICATE`, `PRIVATE KEY`, `EC PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, ... */
  label: string;
  /** The block as text, BEGIN and END lines included, ending with a newline. */
  text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in file order. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) blocks.push({ label: m[1] as string, text: `${m[0]}\n` });
  return blocks;
}

/** A private key block (any of the labels OpenSSL writes). */
export function isKeyBlock(b: PemBlock): boolean {
  return /(^|\s)PRIVATE KEY$/.test(b.label);
}

export function isCertificateBlock(b: PemBlock): boolean {
  return b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE';
}
