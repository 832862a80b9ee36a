/**
 * Which session id a request presents, in Tomcat's order (CoyoteAdapter.postParseRequest):
 * 1. the `;jsessionid=` path parameter is read first;
 * 2. then the session cookie, which overrides anything from the URL;
 * 3. with several session cookies, the first one is taken and later ones replace it only while the
 *    current one does not name a valid session ("replace the session id until one is valid").
 * So: any cookie beats the URL; among cookies, the first valid one wins, else the last one.
 */

export interface RequestedSessionId {
  id: string;
  fromCookie: boolean;
  fromUrl: boolean;
}

export function resolveRequestedId(
  cookieValues: string[],
  urlId: string | null,
  isValid: (id: string) => boolean,
): RequestedSessionId | null {
  if (cookieValues.length > 0) {
    let id = cookieValues[0]!;
    for (let i = 1; i < cookieValues.length && !isValid(id); i++) id = cookieValues[i]!;
    return { id, fromCookie: true, fromUrl: false };
  }
  if (urlId !== null) return { id: urlId, fromCookie: false, fromUrl: true };
  return null;
}
