/**
 * @module wirekit/cli/commands/request-output
 * How `wirekit get|post|...` prints an exchange, httpie style: the request head (for `-v` and
 * `--offline`), the status line and headers, the body (JSON indented when formatting, binary
 * bodies replaced by a notice on a terminal), the `--json` object and the `--timings` line.
 */
import diagnostics from 'node:diagnostics_channel';
import { STATUS_CODES } from 'node:http';
import type { Response, ResponseHeaders } from '../../client/response.js';
import type { Timings } from '../../client/timings.js';
import { paint, type Style } from '../print.js';

/** What httpie prints instead of binary data on a terminal. */
export const BINARY_NOTICE =
  '+-----------------------------------------+\n' +
  '| NOTE: binary data not shown in terminal |\n' +
  '+-----------------------------------------+\n';

/** How output is shaped: `format` indents JSON, `color` paints heads. */
export interface Pretty {
  format: boolean;
  color: boolean;
}

/** Whether a body is binary: httpie's test, a NUL byte. */
export function isBinary(bytes: Uint8Array): boolean {
  return bytes.includes(0);
}

const JSON_TYPE = /^[^;]*[/+]json\s*(;|$)/i;

/** Whether a Content-Type names JSON (`application/json`, `application/problem+json`...). */
export function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_TYPE.test(contentType);
}

function statusStyle(status: number): Style {
  return status < 300 ? 'green' : status < 400 ? 'yellow' : 'red';
}

/** `HTTP/1.1 200 OK`, painted by class of status. */
export function statusLine(status: number, statusText: string, color: boolean): string {
  const text = `HTTP/1.1 ${status} ${statusText || STATUS_CODES[status] || ''}`.trimEnd();
  return `${paint(text, statusStyle(status), color)}\n`;
}

/** One `name: value` line per header value, names painted. */
export function headerLines(headers: ResponseHeaders | Record<string, string>, color: boolean): string {
  let out = '';
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out += `${paint(name, 'cyan', color)}: ${v}\n`;
  }
  return out;
}

/** The response's status line and headers, then the blank line that ends a head. */
export function responseHead(res: Response, color: boolean): string {
  return `${statusLine(res.status, res.statusText, color)}${headerLines(res.headers, color)}\n`;
}

/**
 * A request head as the wire has it (`GET /p HTTP/1.1\r\nhost: ...\r\n`), CRs dropped, the
 * request line bold and the names painted, ended by a blank line.
 */
export function requestHead(head: string, color: boolean): string {
  const lines = head.split('\r\n').filter((line) => line !== '');
  let out = `${paint(lines[0] ?? '', 'bold', color)}\n`;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    out += `${paint(line.slice(0, colon), 'cyan', color)}${line.slice(colon)}\n`;
  }
  return `${out}\n`;
}

/** A request head built from its parts (for `--offline`, where nothing is sent). */
export function buildHead(method: string, url: URL, headers: Record<string, string>): string {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return head;
}

/**
 * A body for the terminal or a pipe: binary bytes become the notice on a terminal, JSON is
 * indented when formatting, and a text body gets a final newline on a terminal.
 */
export function bodyText(
  bytes: Buffer,
  contentType: string | undefined,
  pretty: Pretty,
  tty: boolean,
): Buffer {
  if (tty && isBinary(bytes)) return Buffer.from(BINARY_NOTICE);
  if (pretty.format && isJsonType(contentType)) {
    try {
      return Buffer.from(`${JSON.stringify(JSON.parse(bytes.toString('utf8')), null, 4)}\n`);
    } catch {
      // Not JSON after all: shown as it came.
    }
  }
  if (tty && bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a)
    return Buffer.concat([bytes, Buffer.from('\n')]);
  return bytes;
}

/** A body for the `--json` object: the JSON value, the text, or base64 for binary bytes. */
export function jsonBody(
  bytes: Buffer,
  contentType: string | undefined,
  text: () => string,
): { body: unknown } | { body: null; bodyBase64: string } {
  if (isBinary(bytes)) return { body: null, bodyBase64: bytes.toString('base64') };
  if (isJsonType(contentType)) {
    try {
      return { body: JSON.parse(bytes.toString('utf8')) as unknown };
    } catch {
      // Served as JSON but not JSON: kept as text.
    }
  }
  return { body: text() };
}

/** `--timings`: one line of phase durations in ms. */
export function timingsLine(t: Timings): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  return (
    `timings: dns ${ms(t.dns)}, connect ${ms(t.connect)}, tls ${ms(t.tls)}, ` +
    `first byte ${ms(t.firstByte)}, download ${ms(t.download)}, total ${ms(t.total)}` +
    ` (${t.reused ? 'reused connection' : 'new connection'})\n`
  );
}

/**
 * The first request undici writes while it listens: its head exactly as sent (from
 * `undici:client:sendHeaders`) and its body chunks (`undici:request:bodyChunkSent`), for `-v`.
 */
export class RequestCapture {
  head: string | undefined;
  readonly chunks: Buffer[] = [];
  #request: object | undefined;

  readonly #onHeaders = (message: unknown): void => {
    const { request, headers } = message as { request: object; headers: string };
    if (this.#request !== undefined) return;
    this.#request = request;
    this.head = headers;
  };

  readonly #onChunk = (message: unknown): void => {
    const { request, chunk } = message as { request: object; chunk: string | Uint8Array };
    if (request === this.#request) this.chunks.push(Buffer.from(chunk));
  };

  start(): this {
    diagnostics.subscribe('undici:client:sendHeaders', this.#onHeaders);
    diagnostics.subscribe('undici:request:bodyChunkSent', this.#onChunk);
    return this;
  }

  stop(): void {
    diagnostics.unsubscribe('undici:client:sendHeaders', this.#onHeaders);
    diagnostics.unsubscribe('undici:request:bodyChunkSent', this.#onChunk);
  }

  /** The body sent so far. */
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /**
   * The head with the `content-length` undici writes on its own for a buffered body (it is
   * appended after the channel has published the head).
   */
  get fullHead(): string | undefined {
    const head = this.head;
    if (head === undefined) return undefined;
    const length = this.chunks.reduce((n, c) => n + c.length, 0);
    if (length === 0 || /\r\n(content-length|transfer-encoding):/i.test(head)) return head;
    return `${head}content-length: ${length}\r\n`;
  }
}
