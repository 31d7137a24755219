/**
 * @module wirekit/client/redirects
 * The next hop of a redirect: its method and body (RFC 9110 §15.4, as browsers do it), and the
 * headers that must not follow the request to another origin.
 */
import { RedirectError, type RedirectHop } from '../errors.js';
import type { EncodedBody } from './body.js';

/** One request on the wire: what the session sends for each hop. */
export interface Hop {
  method: string;
  url: URL;
  /** Lowercase names; the caller's headers merged over the session's, without the jar's cookies. */
  headers: Record<string, string>;
  body: EncodedBody | undefined;
}

/** Whether `status` is a redirect wirekit follows (when the response has a Location). */
export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Headers about the body, dropped with it when a redirect turns the request into a GET. */
export const REDIRECT_BODY_HEADERS: readonly string[] = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
  'transfer-encoding',
];

/** Credentials that never follow a request to another origin. */
export const REDIRECT_CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'cookie',
  'proxy-authorization',
  'host',
];

/**
 * The hop that follows `hop`'s `status` response pointing at `location`. 303 (and 301/302 after
 * a POST) becomes a GET without body; 307/308 replay method and body, which must be replayable.
 * When the origin (scheme, host, port) changes, credentials and `dropHeaders` are removed.
 * Throws RedirectError when the redirect cannot be followed safely.
 */
export function nextHop(hop: Hop, status: number, location: string, dropHeaders: readonly string[]): Hop {
  const record = (to: string): RedirectHop => ({
    method: hop.method,
    url: hop.url.href,
    status,
    location: to,
  });
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    throw new RedirectError(record(location), 'the Location is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RedirectError(record(url.href), `${url.protocol} is not http or https`);
  }
  url.hash = '';
  const headers = { ...hop.headers };
  let method = hop.method;
  let body = hop.body;
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    for (const name of REDIRECT_BODY_HEADERS) delete headers[name];
  } else if (body !== undefined) {
    if (body.replay === undefined) {
      throw new RedirectError(record(url.href), 'the request body was a stream and cannot be sent again');
    }
    body = body.replay();
  }
  if (url.origin !== hop.url.origin) {
    for (const name of REDIRECT_CREDENTIAL_HEADERS) delete headers[name];
    for (const name of dropHeaders) delete headers[name];
  }
  return { method, url, headers, body };
}

/** The record of a followed hop, for `Response.redirects`. */
export function hopRecord(hop: Hop, status: number, next: Hop): RedirectHop {
  return { method: hop.method, url: hop.url.href, status, location: next.url.href };
}
