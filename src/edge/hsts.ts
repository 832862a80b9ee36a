/**
 * Strict-Transport-Security (RFC 6797) as Apache users write it with mod_headers:
 * `Header always set Strict-Transport-Security "max-age=63072000; includeSubDomains; preload"`.
 */
import type { HstsConfig } from '../config/types.js';

export function hstsValue(h: HstsConfig): string {
  let v = `max-age=${h.maxage}`;
  if (h.includesubdomains) v += '; includeSubDomains';
  if (h.preload) v += '; preload';
  return v;
}
