/**
 * @module wirekit/client/body
 * Request body encoders: JSON, urlencoded forms and multipart (files streamed from disk, with a
 * Content-Length computed up front so nothing goes chunked).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import type { BodyInput, QueryInput } from './options.js';

/** A file part: streamed from `path` when the request is sent. */
export interface MultipartFile {
  path: string;
  /** **Default:** the path's base name. */
  filename?: string;
  /** **Default:** guessed from the extension, else `application/octet-stream`. */
  contentType?: string;
}

/** In-memory bytes sent as a file part. */
export interface MultipartBlob {
  data: Uint8Array | string;
  filename: string;
  contentType?: string;
}

export type MultipartValue = string | number | boolean | MultipartFile | MultipartBlob;
export type MultipartFields = Record<string, MultipartValue | readonly MultipartValue[]>;

/** An encoded body: what undici sends, and how to make it again for a 307/308. */
export interface EncodedBody {
  body: string | Uint8Array | Readable | AsyncIterable<Uint8Array | string> | null;
  contentType: string | undefined;
  /** Byte length when known up front. */
  length: number | undefined;
  /** A fresh copy of the body for a replay; undefined when it cannot be replayed. */
  replay: (() => EncodedBody) | undefined;
}

/** The query-string form of `input` (without `?`). */
export function encodeQuery(input: QueryInput): string {
  if (input instanceof URLSearchParams) return input.toString();
  const params = new URLSearchParams();
  for (const key of Object.keys(input)) {
    const value = input[key];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  return params.toString();
}

const same = (body: EncodedBody) => (): EncodedBody => body;

/** Encodes whichever of json/form/multipart/body was given; throws TypeError for two of them. */
export async function encodeBody(o: {
  json?: unknown;
  form?: QueryInput;
  multipart?: MultipartFields;
  body?: BodyInput;
}): Promise<EncodedBody | undefined> {
  const given = +(o.json !== undefined) + +(o.form !== undefined) + +(o.multipart !== undefined);
  if (given + +(o.body !== undefined) > 1) {
    throw new TypeError('give at most one of json, form, multipart and body');
  }
  let encoded: EncodedBody;
  if (o.json !== undefined) {
    const text = JSON.stringify(o.json);
    if (text === undefined) throw new TypeError('json body is not serializable');
    encoded = fixed(Buffer.from(text), 'application/json');
  } else if (o.form !== undefined) {
    encoded = fixed(Buffer.from(encodeQuery(o.form)), 'application/x-www-form-urlencoded');
  } else if (o.multipart !== undefined) {
    return encodeMultipart(o.multipart);
  } else if (o.body !== undefined) {
    const b = o.body;
    if (typeof b === 'string' || b instanceof Uint8Array) {
      encoded = fixed(typeof b === 'string' ? Buffer.from(b) : b, undefined);
    } else if (isAsyncIterable(b)) {
      return {
        body: b as AsyncIterable<Uint8Array>,
        contentType: undefined,
        length: undefined,
        replay: undefined,
      };
    } else {
      throw new TypeError('body must be a string, bytes, a stream or an async iterable');
    }
  } else {
    return undefined;
  }
  return encoded;
}

function fixed(bytes: Uint8Array, contentType: string | undefined): EncodedBody {
  const body: EncodedBody = { body: bytes, contentType, length: bytes.byteLength, replay: undefined };
  body.replay = same(body);
  return body;
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

const TYPES: Record<string, string> = {
  '.txt': 'text/plain',
  '.html': 'text/html',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.xml': 'application/xml',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
};

type Part = { head: Buffer; data: Buffer } | { head: Buffer; path: string; size: number };

/** Quotes a name for Content-Disposition the way browsers do (RFC 7578 §4.2). */
function quote(name: string): string {
  return `"${name.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22')}"`;
}

async function encodeMultipart(fields: MultipartFields): Promise<EncodedBody> {
  const boundary = `----wirekit${randomBytes(12).toString('hex')}`;
  const parts: Part[] = [];
  for (const name of Object.keys(fields)) {
    const raw = fields[name]!;
    for (const value of (Array.isArray(raw) ? raw : [raw]) as MultipartValue[]) {
      let disposition = `--${boundary}\r\nContent-Disposition: form-data; name=${quote(name)}`;
      if (typeof value !== 'object') {
        parts.push({ head: Buffer.from(`${disposition}\r\n\r\n`), data: Buffer.from(String(value)) });
        continue;
      }
      const filename = 'path' in value ? (value.filename ?? basename(value.path)) : value.filename;
      const type =
        value.contentType ??
        TYPES[extname(filename).toLowerCase()] ??
        ('path' in value ? 'application/octet-stream' : 'application/octet-stream');
      if (/[\r\n]/.test(type)) throw new TypeError('multipart contentType must not contain CR or LF');
      disposition += `; filename=${quote(filename)}\r\nContent-Type: ${type}\r\n\r\n`;
      if ('path' in value) {
        const { size } = await stat(value.path);
        parts.push({ head: Buffer.from(disposition), path: value.path, size });
      } else {
        parts.push({ head: Buffer.from(disposition), data: Buffer.from(value.data) });
      }
    }
  }
  const tail = Buffer.from(`--${boundary}--\r\n`);
  let length = tail.length;
  for (const part of parts) length += part.head.length + ('data' in part ? part.data.length : part.size) + 2;
  const make = (): EncodedBody => ({
    body: Readable.from(streamParts(parts, tail), { objectMode: false }),
    contentType: `multipart/form-data; boundary=${boundary}`,
    length,
    replay: make,
  });
  return make();
}

const CRLF = Buffer.from('\r\n');

async function* streamParts(parts: readonly Part[], tail: Buffer): AsyncGenerator<Buffer> {
  for (const part of parts) {
    yield part.head;
    if ('data' in part) {
      yield part.data;
    } else {
      let sent = 0;
      for await (const chunk of createReadStream(part.path)) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      // The Content-Length promised the size seen at stat time; anything else is a broken body.
      if (sent !== part.size) throw new Error(`${part.path} changed size while being sent`);
    }
    yield CRLF;
  }
  yield tail;
}
