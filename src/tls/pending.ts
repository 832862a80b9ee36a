/**
 * TLS and HTTP/2 on the listeners are configured and checked already (`listen[].tls`,
 * `listen[].protocols`, `stickyd check`), but the listeners do not serve them yet: they arrive
 * with the listener work (issue 10, part B), which builds on src/tls. Until then `stickyd run`
 * refuses such a file, at start and on reload, rather than serve plain HTTP/1.1 on a port the
 * file says is TLS. Part B removes this file.
 */
import type { ListenConfig } from '../config/types.js';

/** Why these listeners cannot be served by this version, or null when they can. */
export function pendingListenerFeatures(listen: readonly ListenConfig[]): string | null {
  const why: string[] = [];
  listen.forEach((l, i) => {
    const what = [l.tls !== undefined ? 'tls' : null, l.protocols !== undefined ? `protocols [${l.protocols.join(', ')}]` : null].filter(Boolean);
    if (what.length > 0) why.push(`listen[${i}] (${l.address}:${l.port}) has ${what.join(' and ')}`);
  });
  if (why.length === 0) return null;
  return `${why.join('; ')}: TLS listeners and HTTP/2 arrive in a later version of stickyd; this one checks them (stickyd check) but cannot serve them yet. Terminate TLS in front of stickyd for now, or remove these keys.`;
}
