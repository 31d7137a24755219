/**
 * @module wirekit/html/links
 * `extractLinks`, `LinkExtractor` and `extractLinksFromStream`: every link in an HTML page,
 * resolved against its base, on htmlparser2's streaming tokenizer (no DOM).
 */
import { TextDecoder } from 'node:util';
import { Parser } from 'htmlparser2';
import { StreamClosedError } from '../errors.js';
import { type CollectorOptions, LINK_TAGS, LinkCollector, tagSpecs } from './collector.js';
import { isHierarchical } from './resolve.js';

/** The elements links are taken from. */
export type LinkTag =
  | 'a'
  | 'area'
  | 'link'
  | 'img'
  | 'source'
  | 'script'
  | 'iframe'
  | 'frame'
  | 'form'
  | 'video'
  | 'audio'
  | 'track'
  | 'embed'
  | 'object';

/** The attributes links are taken from. */
export type LinkAttribute = 'href' | 'src' | 'srcset' | 'imagesrcset' | 'action' | 'poster' | 'data';

/** One link of a page. */
export interface Link {
  /** The absolute URL, serialized as `URL.href` does (`https://example.com/a%20b`). */
  url: string;
  /** The attribute's value as written, entities decoded; for a srcset, the candidate's URL. */
  raw: string;
  /** The element, lowercase. */
  tag: LinkTag;
  /** The attribute the URL came from. */
  attribute: LinkAttribute;
  /**
   * For `<a>`: its text content with runs of ASCII whitespace collapsed to one space and trimmed
   * (`''` when it has none). For `<area>`: its `alt`. `undefined` for the other tags.
   */
  text: string | undefined;
  /** The `rel` tokens of `<a>`, `<area>` and `<link>`, lowercased; empty when there is none. */
  rel: readonly string[];
}

/** Options of {@link extractLinks}, {@link LinkExtractor} and {@link extractLinksFromStream}. */
export interface LinkOptions {
  /** The elements to take links from. **Default:** all of them (see {@link LinkTag}). */
  tags?: readonly LinkTag[];
  /**
   * The schemes a link written with a scheme may have (`'mailto'`, `'javascript'`, `'data'`,
   * `'tel'`...). Relative links always count: they take the base's scheme.
   * **Default:** `['http', 'https']`.
   */
  schemes?: readonly string[];
  /** Keep only the first link to each URL. **Default:** `false`. */
  unique?: boolean;
  /** Keep only links with the same origin (scheme, host, port) as the document URL. **Default:** `false`. */
  sameOrigin?: boolean;
  /** How bytes (`Uint8Array` input) are decoded: a `TextDecoder` label. **Default:** `'utf-8'`. */
  encoding?: string;
}

export const linkDefaults = {
  tags: LINK_TAGS,
  schemes: Object.freeze(['http', 'https']),
  unique: false,
  sameOrigin: false,
  encoding: 'utf-8',
} satisfies Required<LinkOptions>;

const DEFAULT_SPECS = tagSpecs(LINK_TAGS);
const DEFAULT_SCHEMES: ReadonlySet<string> = new Set(linkDefaults.schemes);
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/**
 * htmlparser2's Parser, minus one quirk: at the end of the input inside a tag cut off after its
 * name or a `/` (`<img src=a /`, `</a `), it emits text from position -1, which is the last
 * character of the input, or pieces of earlier chunks when the input came in several. A
 * browser drops such a tag; so does wirekit, and the result no longer depends on the chunking.
 */
class LinkParser extends Parser {
  override ontext(start: number, endIndex: number): void {
    if (start >= 0) super.ontext(start, endIndex);
  }
}

/** Checks options and turns them into what the collector runs with. Throws before any work. */
function collectorOptions(options: LinkOptions): CollectorOptions & { encoding: string } {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const o = { ...linkDefaults, ...options };
  let specs = DEFAULT_SPECS;
  if (o.tags !== linkDefaults.tags) {
    if (!Array.isArray(o.tags)) throw new TypeError('tags must be an array of tag names');
    for (const tag of o.tags) {
      if (!LINK_TAGS.includes(tag)) {
        throw new TypeError(`tags: ${JSON.stringify(tag)} is not one of ${LINK_TAGS.join(', ')}`);
      }
    }
    specs = tagSpecs(o.tags);
  }
  let schemes = DEFAULT_SCHEMES;
  if (o.schemes !== linkDefaults.schemes) {
    if (!Array.isArray(o.schemes)) throw new TypeError('schemes must be an array of scheme names');
    schemes = new Set(
      o.schemes.map((scheme: unknown) => {
        const name = typeof scheme === 'string' ? scheme.toLowerCase().replace(/:$/, '') : '';
        if (!SCHEME.test(name)) throw new TypeError(`schemes: ${JSON.stringify(scheme)} is not a URL scheme`);
        return name;
      }),
    );
  }
  if (typeof o.unique !== 'boolean') throw new TypeError('unique must be a boolean');
  if (typeof o.sameOrigin !== 'boolean') throw new TypeError('sameOrigin must be a boolean');
  if (typeof o.encoding !== 'string') throw new TypeError('encoding must be a string');
  if (o.encoding !== linkDefaults.encoding) decoderFor(o.encoding);
  return { specs, schemes, unique: o.unique, sameOrigin: o.sameOrigin, encoding: o.encoding };
}

/** The document URL's serialization; a TypeError for anything that cannot be a base. */
function documentHref(baseUrl: string | URL): string {
  let href: string;
  if (baseUrl instanceof URL) {
    href = baseUrl.href;
  } else if (typeof baseUrl === 'string') {
    try {
      href = new URL(baseUrl).href;
    } catch {
      throw new TypeError(
        `baseUrl must be an absolute URL such as https://example.com/, got ${JSON.stringify(baseUrl)}`,
      );
    }
  } else {
    throw new TypeError(`baseUrl must be a string or a URL, got ${describe(baseUrl)}`);
  }
  if (!isHierarchical(href)) {
    throw new TypeError(
      `baseUrl must be a URL relative links can resolve against (http:, https:, file:...), got ${JSON.stringify(href)}`,
    );
  }
  return href;
}

function decoderFor(encoding: string): TextDecoder {
  try {
    return new TextDecoder(encoding);
  } catch {
    throw new RangeError(`encoding ${JSON.stringify(encoding)} is not one TextDecoder supports`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return value.constructor.name;
  return typeof value === 'object' ? ((value as object).constructor?.name ?? 'object') : typeof value;
}

function checkChunk(chunk: unknown, what: string): asserts chunk is string | Uint8Array {
  if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a string or a Uint8Array, got ${describe(chunk)}`);
  }
}

/**
 * Every link in an HTML document, in document order: `<a href>`, `<img src>` and `srcset`,
 * `<link href>`, `<script src>`, `<form action>` and the rest (see the docs), each resolved
 * against the document's base URL (`baseUrl`, or the page's first `<base href>` from where it
 * appears). Links that do not resolve are skipped, never thrown; by default only http(s) and
 * relative links are kept. Bytes are decoded as UTF-8 unless `encoding` says otherwise.
 *
 * @example
 * for (const link of extractLinks(html, 'https://example.com/docs/')) {
 *   console.log(link.url, link.tag, link.text);
 * }
 * extractLinks(html, pageUrl, { tags: ['a'], unique: true, sameOrigin: true });
 */
export function extractLinks(
  html: string | Uint8Array,
  baseUrl: string | URL,
  options: LinkOptions = {},
): Link[] {
  checkChunk(html, 'html');
  const o = collectorOptions(options);
  const collector = new LinkCollector(documentHref(baseUrl), o);
  const text = typeof html === 'string' ? html : decoderFor(o.encoding).decode(html);
  new LinkParser(collector).end(text);
  return collector.links;
}

/**
 * Extracts links from a page that arrives in pieces: `write()` each chunk as it comes and take
 * the links it completed; `end()` returns the rest. Chunks may split anything, a tag or a UTF-8
 * sequence included; the links are the same as `extractLinks` finds in the whole page. A link is
 * returned once its start tag is complete, except that an `<a>` waits for its end tag (its text),
 * and so do the links after it.
 *
 * @example
 * const extractor = new LinkExtractor('https://example.com/');
 * for await (const chunk of response.body) for (const link of extractor.write(chunk)) console.log(link.url);
 * for (const link of extractor.end()) console.log(link.url);
 */
export class LinkExtractor {
  readonly #collector: LinkCollector;
  readonly #parser: Parser;
  readonly #encoding: string;
  #decoder: TextDecoder | null = null;
  /** Whether the decoder may hold the start of a character. */
  #midBytes = false;
  #ended = false;

  constructor(baseUrl: string | URL, options: LinkOptions = {}) {
    const o = collectorOptions(options);
    this.#encoding = o.encoding;
    this.#collector = new LinkCollector(documentHref(baseUrl), o);
    this.#parser = new LinkParser(this.#collector);
  }

  /** The base URL links resolve against now: the document URL until a `<base href>` was read. */
  get baseUrl(): string {
    return this.#collector.base;
  }

  /** Parses the next chunk; returns the links it completed (often none). */
  write(chunk: string | Uint8Array): Link[] {
    checkChunk(chunk, 'chunk');
    if (this.#ended) throw new StreamClosedError('write() after end() on a LinkExtractor');
    this.#parser.write(this.#decode(chunk));
    return this.#collector.take();
  }

  /** Parses the last chunk if one is given, ends the document and returns the remaining links. */
  end(chunk?: string | Uint8Array): Link[] {
    if (chunk !== undefined) checkChunk(chunk, 'chunk');
    if (this.#ended) throw new StreamClosedError('end() after end() on a LinkExtractor');
    this.#ended = true;
    let text = chunk === undefined ? '' : this.#decode(chunk);
    if (this.#midBytes) text += (this.#decoder as TextDecoder).decode();
    this.#parser.end(text);
    return this.#collector.take();
  }

  #decode(chunk: string | Uint8Array): string {
    if (typeof chunk === 'string') {
      if (!this.#midBytes) return chunk;
      // Bytes cut short by a string chunk end as U+FFFD, as at the end of the input.
      this.#midBytes = false;
      return (this.#decoder as TextDecoder).decode() + chunk;
    }
    this.#decoder ??= decoderFor(this.#encoding);
    this.#midBytes = true;
    return this.#decoder.decode(chunk, { stream: true });
  }
}

/**
 * The links of a page read from `source` (a node stream, a fetch body, any async iterable of
 * strings or bytes), yielded as they are found. Bytes are decoded as UTF-8 (or `encoding`)
 * across chunk boundaries. Breaking out of the loop stops reading.
 *
 * @example
 * for await (const link of extractLinksFromStream(createReadStream('page.html'), 'https://example.com/')) {
 *   console.log(link.url);
 * }
 */
export function extractLinksFromStream(
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  baseUrl: string | URL,
  options: LinkOptions = {},
): AsyncIterableIterator<Link> {
  const iterable =
    source !== null &&
    typeof source === 'object' &&
    !(source instanceof Uint8Array) &&
    (Symbol.asyncIterator in source || Symbol.iterator in source);
  if (!iterable) {
    throw new TypeError(
      `source must be an async iterable of string or Uint8Array chunks (use extractLinks for a whole page), got ${describe(source)}`,
    );
  }
  return streamLinks(source, new LinkExtractor(baseUrl, options));
}

async function* streamLinks(
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  extractor: LinkExtractor,
): AsyncGenerator<Link, void, undefined> {
  for await (const chunk of source) {
    for (const link of extractor.write(chunk)) yield link;
  }
  for (const link of extractor.end()) yield link;
}
