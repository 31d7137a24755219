/**
 * @module wirekit/server/conditional
 * The request headers that shape a file response: Range (RFC 9110 §14), the conditional
 * headers If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since and If-Range
 * (§13), and Accept-Encoding for precompressed siblings.
 */
import type { IncomingMessage } from 'node:http';

/** A precompressed sibling's coding. */
export type Coding = 'br' | 'gzip';

/** One satisfiable byte range, both ends included (as in `Content-Range`). */
export interface ByteRange {
  start: number;
  end: number;
}

/** More range specs than this in one header is abuse, not a player seeking: the whole file is sent. */
export const MAX_RANGES = 100;

/**
 * Parses a `Range` header against a representation of `size` bytes (RFC 9110 §14.1.2).
 * Returns the satisfiable ranges in the order asked, clamped to the size; `'unsatisfiable'`
 * when none is (answer 416); `undefined` when the header is not a valid `bytes` range set or
 * has more than {@link MAX_RANGES} specs (ignore it and answer 200).
 *
 * @example
 * parseRange('bytes=0-99', 1000);      // [{ start: 0, end: 99 }]
 * parseRange('bytes=-100', 1000);      // [{ start: 900, end: 999 }]
 * parseRange('bytes=5000-', 1000);     // 'unsatisfiable'
 * parseRange('items=0-1', 1000);       // undefined
 */
export function parseRange(header: string, size: number): ByteRange[] | 'unsatisfiable' | undefined {
  const equals = header.indexOf('=');
  if (equals === -1 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return undefined;
  const specs = header.slice(equals + 1).split(',');
  if (specs.length > MAX_RANGES) return undefined;
  const ranges: ByteRange[] = [];
  let seen = 0;
  for (const raw of specs) {
    const spec = raw.trim();
    // The list syntax allows empty elements ("bytes=0-1,,5-6").
    if (spec === '') continue;
    seen++;
    const match = RANGE_SPEC.exec(spec);
    if (match === null) return undefined;
    const first = match[1] as string;
    const last = match[2] as string;
    if (first === '') {
      if (last === '') return undefined;
      const suffix = Number(last);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
    } else {
      const start = Number(first);
      const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
      if (end < start) return undefined;
      if (start < size) ranges.push({ start, end: Math.min(end, size - 1) });
    }
  }
  if (seen === 0) return undefined;
  return ranges.length === 0 ? 'unsatisfiable' : ranges;
}

const RANGE_SPEC = /^(\d*)-(\d*)$/;

/**
 * The codings the client accepts that have a sibling suffix, best first (brotli first at equal
 * quality). No Accept-Encoding means identity only: that is what clients that decode send.
 */
export function acceptedCodings(header: string | undefined): Coding[] {
  if (header === undefined || header === '') return [];
  let br = -1;
  let gzip = -1;
  let any = -1;
  for (const item of header.split(',')) {
    const [name = '', ...params] = item.split(';');
    let q = 1;
    for (const param of params) {
      const match = QUALITY.exec(param);
      if (match !== null) q = Number(match[1]);
    }
    const coding = name.trim().toLowerCase();
    if (coding === 'br') br = q;
    else if (coding === 'gzip' || coding === 'x-gzip') gzip = Math.max(gzip, q);
    else if (coding === '*') any = q;
  }
  if (br === -1) br = Math.max(any, 0);
  if (gzip === -1) gzip = Math.max(any, 0);
  const codings: Coding[] = [];
  if (br > 0) codings.push('br');
  if (gzip > 0) {
    if (gzip > br) codings.unshift('gzip');
    else codings.push('gzip');
  }
  return codings;
}

const QUALITY = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i;

/** Entity tags in an If-Match / If-None-Match list; the quoted part may hold commas. */
const ENTITY_TAG = /(?:W\/)?"[^"]*"/g;

/** Weak comparison ignores `W/`; strong comparison needs an identical strong tag (ours are strong). */
export function tagListMatches(header: string, etag: string, weak: boolean): boolean {
  if (header.trim() === '*') return true;
  for (const [tag] of header.matchAll(ENTITY_TAG)) {
    if ((weak && tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}

/** The RFC 9110 §13.2.2 evaluation order: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since. */
export function preconditions(req: IncomingMessage, etag: string, mtimeMs: number): 200 | 304 | 412 {
  const h = req.headers;
  // HTTP dates have whole seconds; Last-Modified is the mtime rounded down.
  const modified = Math.floor(mtimeMs / 1000) * 1000;
  if (h['if-match'] !== undefined) {
    if (!tagListMatches(h['if-match'], etag, false)) return 412;
  } else if (h['if-unmodified-since'] !== undefined) {
    const since = Date.parse(h['if-unmodified-since']);
    if (!Number.isNaN(since) && modified > since) return 412;
  }
  const safe = req.method === 'GET' || req.method === 'HEAD';
  if (h['if-none-match'] !== undefined) {
    if (tagListMatches(h['if-none-match'], etag, true)) return safe ? 304 : 412;
  } else if (safe && h['if-modified-since'] !== undefined) {
    const since = Date.parse(h['if-modified-since']);
    if (!Number.isNaN(since) && modified <= since) return 304;
  }
  return 200;
}

/** The ranges to send, honouring If-Range; `undefined` means the whole file. */
export function requestedRanges(
  req: IncomingMessage,
  etag: string,
  mtimeMs: number,
  size: number,
): ByteRange[] | 'unsatisfiable' | undefined {
  // RFC 9110 defines range handling for GET only; HEAD describes the full 200.
  const header = req.headers.range;
  if (req.method !== 'GET' || header === undefined) return undefined;
  const ifRange = headerString(req.headers['if-range'])?.trim();
  if (ifRange !== undefined) {
    const current =
      ifRange.startsWith('"') || ifRange.startsWith('W/')
        ? ifRange === etag
        : Date.parse(ifRange) === Math.floor(mtimeMs / 1000) * 1000;
    if (!current) return undefined;
  }
  return parseRange(header, size);
}

/** Sorted, with overlapping and adjacent ranges merged: a client cannot make us send a byte twice. */
export function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = ranges.map((r) => ({ ...r })).sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.start <= last.end + 1) last.end = Math.max(last.end, range.end);
    else merged.push(range);
  }
  return merged;
}

/** A request header node may hand over as an array when repeated; the first one counts. */
export function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
