/**
 * The balancer-manager nonce of each balancer (apache-semantics §6, "Protection" 3): the `nonce` from the file,
 * or a UUID made when the balancer is first seen (httpd makes one at startup), kept for the life of
 * the process so that a reload does not invalidate an open page. A nonce of "" (`nonce: None`)
 * makes the balancer read-only in the manager.
 */
import { randomUUID } from 'node:crypto';
import type { Balancer } from '../balancer/balancer.js';

export class NonceStore {
  private readonly generated = new Map<string, string>();

  /** The balancer's nonce; "" = changes refused for this balancer. */
  of(b: Balancer): string {
    if (b.config.nonce !== null) return b.config.nonce;
    let nonce = this.generated.get(b.name);
    if (nonce === undefined) {
      nonce = randomUUID();
      this.generated.set(b.name, nonce);
    }
    return nonce;
  }

  /** The presented nonce allows changes: the balancer has a nonce and it is this one. */
  accepts(b: Balancer, presented: string | null): boolean {
    const nonce = this.of(b);
    return nonce !== '' && presented === nonce;
  }
}
