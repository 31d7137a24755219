/**
 * @module wirekit/errors
 * Every error wirekit throws: one base class, one stable `code` per class (`WK_ERR_*`).
 * Match on `err.code` or `instanceof`; messages are for people and may change.
 */

/** The base of every wirekit error. `code` is stable across releases. */
export class WirekitError extends Error {
  readonly code: string = 'WK_ERR_WIREKIT';
  override name = 'WirekitError';
}

/** What the operating system said, on errors that come from a system call. */
function systemCodeOf(cause: unknown): string | undefined {
  if (cause === null || typeof cause !== 'object') return undefined;
  const { code, errors } = cause as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  // Happy eyeballs fails with an AggregateError: the first attempt's code speaks for all.
  if (Array.isArray(errors)) return systemCodeOf(errors[0]);
  return undefined;
}

/** An error that a system call reported: keeps the system's code and the original error. */
abstract class SystemCallError extends WirekitError {
  /** The system's code: `ECONNREFUSED`, `ENOTFOUND`, `EADDRINUSE`, `ECONNRESET`, a TLS code... */
  readonly systemCode: string | undefined;
  constructor(describe: (why: string) => string, cause: unknown) {
    const systemCode = systemCodeOf(cause);
    super(describe(systemCode ?? (cause instanceof Error ? cause.message : String(cause))), { cause });
    this.systemCode = systemCode;
  }
}

/** A TCP connection (or its TLS handshake) could not be made. */
export class ConnectError extends SystemCallError {
  override readonly code = 'WK_ERR_CONNECT';
  override name = 'ConnectError';
  constructor(
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    super((why) => `connect to ${formatHostPort(host, port)} failed: ${why}`, cause);
  }
}

/** A server (TCP or UDP) could not bind its address. */
export class ListenError extends SystemCallError {
  override readonly code = 'WK_ERR_LISTEN';
  override name = 'ListenError';
  constructor(
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    super((why) => `cannot listen on ${formatHostPort(host, port)}: ${why}`, cause);
  }
}

/** An established socket failed: the peer reset it, the pipe broke... */
export class SocketError extends SystemCallError {
  override readonly code = 'WK_ERR_SOCKET';
  override name = 'SocketError';
  constructor(cause: unknown) {
    super((why) => `socket error: ${why}`, cause);
  }
}

/** Writing to, or reading from, a stream that was already closed or ended. */
export class StreamClosedError extends WirekitError {
  override readonly code = 'WK_ERR_STREAM_CLOSED';
  override name = 'StreamClosedError';
}

/**
 * The phase a timeout hit in. The HTTP client adds `response` (waiting for the response head),
 * `idle` (no body bytes for too long) and `total` (the whole exchange: redirects and body too).
 */
export type TimeoutPhase = 'dns' | 'connect' | 'tls' | 'read' | 'close' | 'response' | 'idle' | 'total';

/** An operation ran out of time. `phase` says where it stood. */
export class TimeoutError extends WirekitError {
  override readonly code = 'WK_ERR_TIMEOUT';
  override name = 'TimeoutError';
  constructor(
    readonly phase: TimeoutPhase,
    readonly timeout: number,
    what = 'operation',
  ) {
    super(`${what} timed out after ${timeout} ms (during ${phase})`);
  }
}

/** An operation was cancelled through its AbortSignal. The signal's reason is the cause. */
export class AbortError extends WirekitError {
  override readonly code = 'WK_ERR_ABORTED';
  override name = 'AbortError';
  constructor(reason?: unknown) {
    super('the operation was aborted', { cause: reason });
  }
}

/** The stream ended before `expected` bytes (or a separator) arrived; `partial` holds what did. */
export class IncompleteReadError extends WirekitError {
  override readonly code = 'WK_ERR_INCOMPLETE_READ';
  override name = 'IncompleteReadError';
  constructor(
    readonly partial: Buffer,
    readonly expected: number | undefined,
  ) {
    super(
      expected === undefined
        ? `stream ended after ${partial.length} bytes without the separator`
        : `stream ended after ${partial.length} of ${expected} expected bytes`,
    );
  }
}

/** More than `limit` bytes arrived without the separator; they stay buffered and readable. */
export class LimitExceededError extends WirekitError {
  override readonly code = 'WK_ERR_LIMIT_EXCEEDED';
  override name = 'LimitExceededError';
  constructor(
    readonly limit: number,
    what = 'separator',
  ) {
    super(`${limit} bytes buffered without the ${what} (limit ${limit})`);
  }
}

/** A second read was started while one was still waiting on the same stream. */
export class ConcurrentReadError extends WirekitError {
  override readonly code = 'WK_ERR_CONCURRENT_READ';
  override name = 'ConcurrentReadError';
  constructor() {
    super('another read is already waiting on this stream');
  }
}

/** A datagram larger than one UDP packet can carry. */
export class DatagramTooLargeError extends WirekitError {
  override readonly code = 'WK_ERR_DATAGRAM_TOO_LARGE';
  override name = 'DatagramTooLargeError';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`datagram of ${size} bytes is larger than the ${limit} bytes a UDP packet can carry`);
  }
}

/** A name could not be resolved (or an address reversed). */
export class DnsError extends SystemCallError {
  override readonly code = 'WK_ERR_DNS';
  override name = 'DnsError';
  constructor(
    readonly hostname: string,
    cause: unknown,
  ) {
    super((why) => `cannot resolve ${hostname}: ${why}`, cause);
  }
}

/** The feature needs something this platform does not have (e.g. /proc/net/tcp). */
export class UnsupportedError extends WirekitError {
  override readonly code = 'WK_ERR_UNSUPPORTED';
  override name = 'UnsupportedError';
}

/** What an HTTP client error carries of a response: wirekit/client's `Response` fits. */
export interface HttpResponseLike {
  readonly status: number;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  text(): Promise<string>;
  json(): Promise<unknown>;
  bytes(): Promise<Buffer>;
}

/**
 * An HTTP client response had a 4xx or 5xx status and the caller asked for an error
 * (`raiseForStatus()` or `throwHttpErrors`). Named apart from wirekit/server's `HttpError`,
 * which a server handler throws to answer with a status.
 */
export class HttpStatusError extends WirekitError {
  override readonly code = 'WK_ERR_HTTP_STATUS';
  override name = 'HttpStatusError';
  readonly status: number;
  constructor(readonly response: HttpResponseLike) {
    super(`HTTP ${response.status} from ${response.url}`);
    this.status = response.status;
  }
}

/** One followed redirect: the request that got a 3xx, and where it pointed. */
export interface RedirectHop {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly location: string;
}

/** A request was redirected more times than allowed; `redirects` holds the whole chain. */
export class TooManyRedirectsError extends WirekitError {
  override readonly code = 'WK_ERR_TOO_MANY_REDIRECTS';
  override name = 'TooManyRedirectsError';
  constructor(
    readonly redirects: readonly RedirectHop[],
    readonly limit: number,
  ) {
    super(`more than ${limit} redirects (last: ${redirects.at(-1)?.location ?? '?'})`);
  }
}

/** A redirect that cannot be followed safely: a streamed body on 307/308, a non-HTTP Location. */
export class RedirectError extends WirekitError {
  override readonly code = 'WK_ERR_REDIRECT';
  override name = 'RedirectError';
  constructor(
    readonly hop: RedirectHop,
    why: string,
  ) {
    super(`cannot follow ${hop.status} redirect from ${hop.url} to ${hop.location}: ${why}`);
  }
}

/** A buffered read (`text()`, `json()`, `bytes()`) passed its limit of decoded bytes. */
export class BodyTooLargeError extends WirekitError {
  override readonly code = 'WK_ERR_BODY_TOO_LARGE';
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`response body is larger than the limit of ${limit} bytes`);
  }
}

/** A response body could not be decoded: too many stacked encodings, or corrupt data. */
export class ContentEncodingError extends WirekitError {
  override readonly code = 'WK_ERR_CONTENT_ENCODING';
  override name = 'ContentEncodingError';
  constructor(
    readonly encoding: string,
    why: string,
    cause?: unknown,
  ) {
    super(`cannot decode Content-Encoding ${encoding}: ${why}`, { cause });
  }
}

/**
 * A proxy refused to carry a request: it asked for credentials (407), refused the CONNECT tunnel
 * (any other non-2xx), or a SOCKS5 proxy refused the handshake. `proxy` is the proxy's
 * `host:port`, never its credentials; `status` is the proxy's HTTP status (`undefined` for SOCKS5).
 */
export class ProxyError extends WirekitError {
  override readonly code = 'WK_ERR_PROXY';
  override name = 'ProxyError';
  constructor(
    readonly proxy: string,
    readonly status: number | undefined,
    why: string,
    cause?: unknown,
  ) {
    super(`proxy ${proxy} ${why}`, cause === undefined ? undefined : { cause });
  }
}

/**
 * A WebSocket closed: `send()` or `ping()` on a closed (or closing) socket, or iteration over its
 * messages when the close was not a normal one (anything but 1000, 1001 and 1005). `code` is
 * the close code (1006 when the connection dropped without a close frame).
 */
export class WebSocketClosedError extends WirekitError {
  override readonly code = 'WK_ERR_WEBSOCKET_CLOSED';
  override name = 'WebSocketClosedError';
  constructor(
    readonly closeCode: number,
    readonly reason = '',
  ) {
    super(`WebSocket closed with code ${closeCode}${reason === '' ? '' : ` (${reason})`}`);
  }
}

/**
 * A WebSocket opening handshake failed after the connection was made: the server answered with
 * an HTTP status instead of 101 (`status`, `headers`), or its 101 was not a valid WebSocket
 * answer (`status` is then 101 or `undefined`).
 */
export class WebSocketHandshakeError extends WirekitError {
  override readonly code = 'WK_ERR_WEBSOCKET_HANDSHAKE';
  override name = 'WebSocketHandshakeError';
  constructor(
    readonly url: string,
    readonly status: number | undefined,
    why: string,
    readonly headers: Readonly<Record<string, string | string[] | undefined>> = {},
  ) {
    super(`WebSocket handshake with ${url} failed: ${why}`);
  }
}

/**
 * A hub could not do what was asked: it is closed, its redis server is out of reach (a publish
 * while disconnected fails instead of being queued), or an `events()` reader fell too far behind.
 */
export class HubError extends WirekitError {
  override readonly code = 'WK_ERR_HUB';
  override name = 'HubError';
}

/** `host:port`, with IPv6 literals in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
