/**
 * @module wirekit/cli/commands/request
 * `wirekit get|post|put|patch|delete|head|options URL [ITEM...]`: httpie-style requests through
 * a Session. Prints the response head and body (or the `--json` object), `-v` the request as
 * sent; `--download`/`-o` save the body with a progress bar; httpie's exit codes.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { encodeBody, encodeQuery, type MultipartFields, type MultipartValue } from '../../client/body.js';
import type { DownloadTarget } from '../../client/download.js';
import { defaultRequestHeaders, mergeHeaders, type SessionOptions } from '../../client/options.js';
import type { Response } from '../../client/response.js';
import { Session, type VerbOptions } from '../../client/session.js';
import { HttpStatusError, TimeoutError, TooManyRedirectsError } from '../../errors.js';
import { parseMs, UsageError } from '../args.js';
import { buildRequest, type BuiltRequest, normalizeUrl, parseItem } from '../items.js';
import { out, useColor } from '../print.js';
import { formatBytes, ProgressBar } from '../progress.js';
import {
  bodyText,
  buildHead,
  isBinary,
  isJsonType,
  jsonBody,
  type Pretty,
  RequestCapture,
  requestHead,
  responseHead,
  timingsLine,
} from './request-output.js';
import { loadSession, nextHeaders, saveSession, type SessionFile } from './request-session.js';
import { downloadName } from './request-download.js';
import { authorization, readStdin } from './request-input.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

/** httpie's exit codes. */
export const EXIT = { timeout: 2, status3xx: 3, status4xx: 4, status5xx: 5, tooManyRedirects: 6 } as const;

interface RequestFlags {
  form?: boolean;
  multipart?: boolean;
  verbose?: boolean;
  headers?: boolean;
  body?: boolean;
  json?: boolean;
  pretty?: string;
  follow?: boolean;
  maxRedirects: string;
  session?: string;
  timeout?: string;
  timings?: boolean;
  checkStatus?: boolean;
  output?: string;
  download?: boolean;
  continue?: boolean;
  offline?: boolean;
  insecure?: boolean;
  ca?: string;
  proxy?: string;
  cache?: string | boolean;
  retry?: string;
  auth?: string;
  authType?: string;
  ignoreStdin?: boolean;
}

/** Registers one command per method; all share the options. */
export function registerRequests(program: Command): Command[] {
  return METHODS.map((name) =>
    program
      .command(name)
      .description(
        `send ${name === 'options' ? 'an' : 'a'} ${name.toUpperCase()} request (httpie style): URL [ITEM...]`,
      )
      .helpOption('--help', 'display help for command')
      .argument(
        '<url>',
        'http(s) URL; :3000/path is http://localhost:3000/path, example.org is http://example.org/',
      )
      .argument(
        '[items...]',
        'Header:Value, name==query, field=text, field:=json, field@file, field=@file, field:=@file',
      )
      .option('-f, --form', 'send data fields urlencoded (default: JSON)')
      .option(
        '-a, --auth <user[:pass]>',
        'Basic credentials (asks for the password when it is left out), or a token with --auth-type bearer',
      )
      .option('-A, --auth-type <type>', 'basic or bearer (default: basic)')
      .option('--ignore-stdin', 'do not read a request body from stdin')
      .option('--multipart', 'send data fields as multipart/form-data (a field@file item implies it)')
      .option('-v, --verbose', 'print the request as sent, then the response')
      .option('-h, --headers', 'print the response status line and headers only')
      .option('-b, --body', 'print the response body only')
      .option('--json', 'print one JSON object: status, headers, body, timings')
      .option(
        '--pretty <mode>',
        'all, format (indent JSON), colors or none (default: all on a terminal, else none)',
      )
      .option('-F, --follow', 'follow redirects (default: print the 3xx)')
      .option('--max-redirects <n>', 'with --follow: redirects to follow before giving up (exit 6)', '30')
      .option('--session <file>', 'keep cookies and headers in FILE (JSON) between runs')
      .option('--timeout <ms>', 'connect, response and idle timeout in ms (exit 2 when hit); 0 = none')
      .option('--timings', 'print the durations of dns, connect, tls, first byte, download (on stderr)')
      .option('--check-status', 'exit 3, 4 or 5 for a 3xx, 4xx or 5xx response')
      .option('-o, --output <file>', 'save the body to FILE (a download)')
      .option('-d, --download', 'save the body to a file named from Content-Disposition or the URL')
      .option('-c, --continue', 'with -o: resume a partial download')
      .option('--offline', 'print the request that would be sent, and send nothing')
      .option('--insecure', 'do not verify the TLS certificate')
      .option('--ca <file>', 'trust the certificates in this PEM file')
      .option(
        '--proxy <url>',
        "send through this proxy (http://user:pass@host:port, https://, socks5://), or 'env'",
      )
      .option(
        '--cache [dir]',
        'keep an HTTP cache on disk (default dir: $XDG_CACHE_HOME/wirekit or ~/.cache/wirekit)',
      )
      .option(
        '--retry <n>',
        'retry failed requests and retryable statuses (408, 429, 5xx...) up to N times',
        '0',
      )
      .action((url: string, items: string[], flags: RequestFlags) =>
        runRequest(name.toUpperCase(), url, items, flags),
      ),
  );
}

function prettyOf(mode: string | undefined): Pretty {
  const noColor = 'NO_COLOR' in process.env && process.env.NO_COLOR !== '';
  switch (mode) {
    case undefined:
      return { format: process.stdout.isTTY === true, color: useColor(process.stdout) };
    case 'all':
      return { format: true, color: !noColor };
    case 'colors':
      return { format: false, color: !noColor };
    case 'format':
      return { format: true, color: false };
    case 'none':
      return { format: false, color: false };
    default:
      throw new UsageError(`--pretty must be all, format, colors or none, got '${mode}'`);
  }
}

/** The exit code httpie gives a status under --check-status (0 for 1xx and 2xx). */
export function statusExit(status: number): number {
  return status >= 500 ? EXIT.status5xx : status >= 400 ? EXIT.status4xx : status >= 300 ? EXIT.status3xx : 0;
}

/** The request options the items make. */
function requestOptions(built: BuiltRequest): VerbOptions {
  const headers: Record<string, string | null> = {};
  for (const [name, value] of built.headers) headers[name] = value;
  const options: VerbOptions = {};
  const body = built.body;
  if (body?.kind === 'json') {
    options.json = body.value;
    // httpie's Accept for a JSON request, unless an item sets one.
    if (!built.headers.some(([name]) => name.toLowerCase() === 'accept')) {
      headers.accept = 'application/json, */*;q=0.5';
    }
  } else if (body?.kind === 'form') {
    options.form = new URLSearchParams(body.fields);
  } else if (body?.kind === 'multipart') {
    const fields: Record<string, MultipartValue[]> = {};
    for (const [name, value] of body.fields) (fields[name] ??= []).push(value);
    for (const file of body.files) {
      try {
        if (!statSync(file.path).isFile()) throw new Error('not a file');
      } catch (err) {
        throw new UsageError(`cannot upload ${file.path}: ${(err as Error).message}`);
      }
      (fields[file.name] ??= []).push({ path: file.path, ...(file.type ? { contentType: file.type } : {}) });
    }
    options.multipart = fields as MultipartFields;
  }
  if (Object.keys(headers).length > 0) options.headers = headers;
  if (built.query.length > 0) options.query = new URLSearchParams(built.query);
  return options;
}

/** Sets header `name` on the request unless an item already set (or removed) it. */
function setDefault(request: VerbOptions, name: string, value: string): void {
  const headers = (request.headers ??= {}) as Record<string, string | null>;
  if (!Object.keys(headers).some((key) => key.toLowerCase() === name)) headers[name] = value;
}

function sessionOptions(
  flags: RequestFlags,
  saved: SessionFile | undefined,
  follow: boolean,
): SessionOptions {
  const max = maxRedirects(flags.maxRedirects);
  const options: SessionOptions = {
    cookies: saved?.jar === undefined ? true : { jar: saved.jar },
    // Checked even when unused, so a typo never waits for the day --follow is added.
    redirect: { max: follow ? max : 0 },
  };
  if (saved !== undefined) options.headers = saved.headers;
  if (flags.timeout !== undefined) {
    const ms = parseMs(flags.timeout, '--timeout');
    options.timeout = { connect: ms, response: ms, idle: ms };
  }
  if (flags.proxy !== undefined) options.proxy = flags.proxy;
  if (flags.cache !== undefined && flags.cache !== false) {
    options.cache = { dir: typeof flags.cache === 'string' ? flags.cache : defaultCacheDir() };
  }
  const retry = /^\d+$/.test(flags.retry ?? '0') ? Number(flags.retry ?? '0') : Number.NaN;
  if (!Number.isSafeInteger(retry))
    throw new UsageError(`--retry must be a whole number, got '${flags.retry}'`);
  if (retry > 0) options.retry = retry;
  if (flags.insecure || flags.ca !== undefined) {
    let ca: Buffer | undefined;
    if (flags.ca !== undefined) {
      try {
        ca = readFileSync(flags.ca);
      } catch (err) {
        throw new UsageError(`cannot read --ca ${flags.ca}: ${(err as Error).message}`);
      }
    }
    options.tls = { rejectUnauthorized: !flags.insecure, ...(ca ? { ca } : {}) };
  }
  return options;
}

/** Where `--cache` keeps entries when no directory is given (XDG base directories). */
function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'wirekit');
}

/** A Session; what it refuses in the options (a proxy that is not a URL...) is bad usage. */
function newSession(options: SessionOptions): Session {
  try {
    return new Session(options);
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

function maxRedirects(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new UsageError(`--max-redirects must be a whole number, got '${value}'`);
  return n;
}

function err(text: string): void {
  process.stderr.write(text);
}

async function runRequest(
  method: string,
  rawUrl: string,
  rawItems: string[],
  flags: RequestFlags,
): Promise<void> {
  const url = new URL(normalizeUrl(rawUrl));
  const built = await buildRequest(rawItems.map(parseItem), { form: flags.form, multipart: flags.multipart });
  const pretty = prettyOf(flags.pretty);
  const downloading = flags.download === true || flags.output !== undefined;
  if (flags.continue && flags.output === undefined) throw new UsageError('--continue needs -o FILE');
  if (flags.json && (flags.headers || flags.body))
    throw new UsageError('--json prints everything: drop -h and -b');
  if (downloading && flags.json) throw new UsageError('--json does not combine with --download or -o');
  if (downloading && (method !== 'GET' || built.body !== undefined)) {
    throw new UsageError('--download and -o save the body of a GET without data fields');
  }
  const stdin = flags.ignoreStdin ? undefined : await readStdin();
  if (stdin !== undefined && built.body !== undefined) {
    throw new UsageError('a body on stdin and data fields do not mix (--ignore-stdin leaves stdin alone)');
  }
  if (stdin !== undefined && flags.multipart)
    throw new UsageError('--multipart takes files as field@file, not stdin');
  if (downloading && stdin !== undefined) {
    throw new UsageError('--download and -o save the body of a GET without a body (--ignore-stdin)');
  }
  const request = requestOptions(built);
  if (stdin !== undefined) {
    request.body = stdin;
    // As httpie: the body is taken to be what the mode says, unless a Content-Type item says else.
    if (flags.form) setDefault(request, 'content-type', 'application/x-www-form-urlencoded');
    else {
      setDefault(request, 'content-type', 'application/json');
      setDefault(request, 'accept', 'application/json, */*;q=0.5');
    }
  }
  if (flags.auth !== undefined) {
    setDefault(request, 'authorization', await authorization(flags.auth, flags.authType));
  } else if (flags.authType !== undefined) throw new UsageError('--auth-type needs --auth');
  const saved = flags.session === undefined ? undefined : await loadSession(flags.session);
  if (flags.offline) return offline(method, url, request, saved, pretty);
  // As httpie: a download follows redirects.
  const session = newSession(sessionOptions(flags, saved, flags.follow === true || downloading));
  try {
    if (downloading) await runDownload(session, url, request, flags);
    else await exchange(session, method, url, request, flags, pretty);
    if (flags.session !== undefined) {
      await saveSession(flags.session, nextHeaders(saved!.headers, built.headers), session.cookies?.jar);
    }
  } catch (error) {
    if (error instanceof TimeoutError) {
      err(`wirekit: ${error.message}\n`);
      process.exitCode = EXIT.timeout;
    } else if (error instanceof TooManyRedirectsError) {
      err(`wirekit: ${error.message}\n`);
      process.exitCode = EXIT.tooManyRedirects;
    } else {
      throw error;
    }
  } finally {
    await session.close();
  }
}

/** `--offline`: the request as it would be sent, built here since nothing goes to undici. */
async function offline(
  method: string,
  url: URL,
  request: VerbOptions,
  saved: SessionFile | undefined,
  pretty: Pretty,
): Promise<void> {
  if (request.query !== undefined) {
    const qs = encodeQuery(request.query);
    url.search = url.search.length > 1 ? `${url.search}&${qs}` : qs;
  }
  const headers = mergeHeaders({ ...defaultRequestHeaders }, saved?.headers ?? {});
  if (request.headers !== undefined) mergeHeaders(headers, request.headers);
  const encoded = await encodeBody(request);
  if (encoded?.contentType !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = encoded.contentType;
  }
  if (encoded?.length !== undefined) headers['content-length'] = String(encoded.length);
  const cookie = saved?.jar?.getCookieStringSync(url.href) ?? '';
  if (cookie !== '') headers.cookie = headers.cookie === undefined ? cookie : `${headers.cookie}; ${cookie}`;
  let body = Buffer.alloc(0);
  if (encoded?.body instanceof Uint8Array) body = Buffer.from(encoded.body);
  else if (encoded?.body != null && typeof encoded.body === 'object') {
    const chunks: Buffer[] = [];
    for await (const chunk of encoded.body as AsyncIterable<Uint8Array | string>)
      chunks.push(Buffer.from(chunk));
    body = Buffer.concat(chunks);
  }
  await printRequest(buildHead(method, url, headers), body, pretty);
}

async function printRequest(head: string, body: Buffer, pretty: Pretty): Promise<void> {
  await out(requestHead(head, pretty.color));
  if (body.length > 0) {
    const tty = process.stdout.isTTY === true;
    await out(tty && isBinary(body) ? bodyText(body, undefined, pretty, tty) : body);
    await out('\n\n');
  }
}

/** Sends the request and prints what `-v`, `-h`, `-b`, `--json` ask for. */
async function exchange(
  session: Session,
  method: string,
  url: URL,
  request: VerbOptions,
  flags: RequestFlags,
  pretty: Pretty,
): Promise<void> {
  const capture = flags.verbose ? new RequestCapture().start() : undefined;
  let res: Response;
  try {
    res = await session.request(url, { ...request, method });
  } catch (error) {
    const head = capture?.fullHead;
    if (head !== undefined && !flags.json) await printRequest(head, capture!.body, pretty);
    throw error;
  } finally {
    capture?.stop();
  }
  const tty = process.stdout.isTTY === true;
  const contentType = res.header('content-type');
  if (flags.json) {
    const bytes = await res.bytes();
    const object = {
      ...(capture?.fullHead === undefined ? {} : { request: requestObject(capture.fullHead, capture.body) }),
      status: res.status,
      statusText: res.statusText,
      url: res.url,
      headers: res.headers,
      ...jsonBody(bytes, contentType, () => bytes.toString('utf8')),
      redirects: res.redirects,
      timings: res.timings,
    };
    await out(`${JSON.stringify(object, null, pretty.format ? 2 : undefined)}\n`);
  } else {
    const head = capture?.fullHead;
    if (head !== undefined) await printRequest(head, capture!.body, pretty);
    const both = flags.headers === flags.body;
    if (flags.headers || both) await out(responseHead(res, pretty.color));
    if ((flags.body || both) && res.method !== 'HEAD') await printBody(res, contentType, pretty, tty);
    else await res.dump();
  }
  if (flags.timings) err(timingsLine(res.timings));
  const code = flags.checkStatus ? statusExit(res.status) : 0;
  if (code !== 0) {
    err(`wirekit: warning: HTTP ${res.status} ${res.statusText}\n`);
    process.exitCode = code;
  }
}

async function printBody(
  res: Response,
  contentType: string | undefined,
  pretty: Pretty,
  tty: boolean,
): Promise<void> {
  if (pretty.format && isJsonType(contentType)) {
    await out(bodyText(await res.bytes(), contentType, pretty, tty));
    return;
  }
  let last = 0x0a;
  for await (const chunk of res.body) {
    if (tty && isBinary(chunk)) {
      await out(bodyText(chunk, contentType, pretty, tty));
      return;
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
    await out(chunk);
  }
  if (tty && last !== 0x0a) await out('\n');
}

/** The `request` member of `--json -v`. */
function requestObject(head: string, body: Buffer) {
  const [line = '', ...lines] = head.split('\r\n').filter((l) => l !== '');
  const [method, target] = line.split(' ');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const colon = l.indexOf(':');
    headers[l.slice(0, colon)] = l.slice(colon + 1).trim();
  }
  return {
    method,
    path: target,
    headers,
    body: isBinary(body) ? body.toString('base64') : body.toString('utf8'),
  };
}

/** `--download` / `-o`: the body to a file, head and progress on stderr. */
async function runDownload(
  session: Session,
  url: URL,
  request: VerbOptions,
  flags: RequestFlags,
): Promise<void> {
  const color = useColor(process.stderr);
  const bar = new ProgressBar(process.stderr);
  const target: DownloadTarget = flags.output ?? ((res) => downloadName(res, existsSync));
  try {
    const result = await session.download(url, target, {
      query: request.query,
      headers: request.headers,
      resume: flags.continue === true,
      onResponse: (res, path) => {
        if (!flags.body) err(responseHead(res, color));
        const size = res.header('content-length');
        err(`Downloading ${size === undefined ? '' : `${formatBytes(Number(size))} `}to "${path}"\n`);
      },
      onProgress: (p) => bar.update(p),
    });
    bar.end();
    const seconds = bar.elapsed / 1000;
    err(
      `Done. ${formatBytes(result.bytes)} in ${seconds.toFixed(2)}s` +
        ` (${formatBytes(Math.round(result.bytes / Math.max(seconds, 0.001)))}/s)` +
        `${result.resumed ? ', resumed' : ''}\n`,
    );
  } catch (error) {
    bar.end();
    if (!(error instanceof HttpStatusError)) throw error;
    const res = error.response as Response;
    if (!flags.body) err(responseHead(res, color));
    err(`wirekit: HTTP ${res.status} ${res.statusText}: nothing saved\n`);
    process.exitCode = statusExit(res.status) || 1;
  }
}
