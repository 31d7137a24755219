/**
 * @module wirekit/html/collector
 * `LinkCollector`: the htmlparser2 handler behind `extractLinks` and `LinkExtractor`. Internal:
 * the public surface is in links.ts.
 */
import type { Handler } from 'htmlparser2';
import type { Link, LinkAttribute, LinkTag } from './links.js';
import { HTTP, HTTPS, hasScheme, isHierarchical, OTHER, originOf, RELATIVE, UrlResolver } from './resolve.js';
import { parseSrcset } from './srcset.js';

// Attribute slots: where a tag's attributes wait until its start tag is complete.
const HREF = 0;
const SRC = 1;
const SRCSET = 2;
const IMAGESRCSET = 3;
const ACTION = 4;
const POSTER = 5;
const DATA = 6;
const REL = 7;
const ALT = 8;
const SLOTS = 9;

/** The slot of an attribute name, or -1. Names are fresh strings: a switch spares hashing them. */
function slotOf(name: string): number {
  switch (name) {
    case 'href':
      return HREF;
    case 'src':
      return SRC;
    case 'srcset':
      return SRCSET;
    case 'imagesrcset':
      return IMAGESRCSET;
    case 'action':
      return ACTION;
    case 'poster':
      return POSTER;
    case 'data':
      return DATA;
    case 'rel':
      return REL;
    case 'alt':
      return ALT;
    default:
      return -1;
  }
}
const ATTRIBUTE_OF: readonly LinkAttribute[] = [
  'href',
  'src',
  'srcset',
  'imagesrcset',
  'action',
  'poster',
  'data',
];

/** Per tag: the URL attributes in the order links are reported, then the other attributes read. */
const TAG_SLOTS: Record<LinkTag, { urls: number[]; extra: number[] }> = {
  a: { urls: [HREF], extra: [REL] },
  area: { urls: [HREF], extra: [REL, ALT] },
  link: { urls: [HREF, IMAGESRCSET], extra: [REL] },
  img: { urls: [SRC, SRCSET], extra: [] },
  source: { urls: [SRC, SRCSET], extra: [] },
  script: { urls: [SRC], extra: [] },
  iframe: { urls: [SRC], extra: [] },
  frame: { urls: [SRC], extra: [] },
  form: { urls: [ACTION], extra: [] },
  video: { urls: [SRC, POSTER], extra: [] },
  audio: { urls: [SRC], extra: [] },
  track: { urls: [SRC], extra: [] },
  embed: { urls: [SRC], extra: [] },
  object: { urls: [DATA], extra: [] },
};

/** Every tag links can come from, in the order the docs list them. */
export const LINK_TAGS = Object.freeze(Object.keys(TAG_SLOTS) as LinkTag[]);

// What a tag's link carries besides its URL.
const PLAIN = 0;
const ANCHOR = 1; // text content, rel
const AREA = 2; // alt as text, rel
const BASE = 3; // not a link: sets the base URL

interface TagSpec {
  tag: LinkTag;
  kind: number;
  /** The URL attributes, in the order their links are reported. */
  urls: readonly number[];
  /** Every slot the tag reads, and as bits `1 << slot`. */
  slots: readonly number[];
  mask: number;
}

function spec(tag: LinkTag, kind: number, urls: number[], extra: number[]): TagSpec {
  const slots = [...urls, ...extra];
  return { tag, kind, urls, slots, mask: slots.reduce((m, slot) => m | (1 << slot), 0) };
}

// Typed as a LinkTag only to share the shape; BASE never makes a link.
const BASE_SPEC = spec('base' as LinkTag, BASE, [], [HREF]);

/** The spec of each tag a collector looks at (the `tags` option, and `<base>`), or null. */
export type TagSpecs = Record<LinkTag | 'base', TagSpec | null>;

export function tagSpecs(tags: readonly LinkTag[]): TagSpecs {
  const specs = { base: BASE_SPEC } as TagSpecs;
  for (const tag of LINK_TAGS) {
    const { urls, extra } = TAG_SLOTS[tag];
    const kind = tag === 'a' ? ANCHOR : tag === 'area' ? AREA : PLAIN;
    specs[tag] = tags.includes(tag) ? spec(tag, kind, urls, extra) : null;
  }
  return specs;
}

/**
 * The spec for a tag name. Every element passes here, so it avoids hashing the name (a fresh
 * string each time) in a Map: its length, then a comparison or a few, decide.
 */
function specOf(specs: TagSpecs, name: string): TagSpec | null {
  switch (name.length) {
    case 1:
      return name === 'a' ? specs.a : null;
    case 3:
      return name === 'img' ? specs.img : null;
    case 4:
      switch (name) {
        case 'link':
          return specs.link;
        case 'area':
          return specs.area;
        case 'form':
          return specs.form;
        case 'base':
          return specs.base;
      }
      return null;
    case 5:
      switch (name) {
        case 'video':
          return specs.video;
        case 'audio':
          return specs.audio;
        case 'track':
          return specs.track;
        case 'embed':
          return specs.embed;
        case 'frame':
          return specs.frame;
      }
      return null;
    case 6:
      switch (name) {
        case 'script':
          return specs.script;
        case 'source':
          return specs.source;
        case 'iframe':
          return specs.iframe;
        case 'object':
          return specs.object;
      }
      return null;
    default:
      return null;
  }
}

/** The options a collector runs with, checked and normalized by links.ts. */
export interface CollectorOptions {
  specs: TagSpecs;
  /** Lowercase scheme names without ':'. */
  schemes: ReadonlySet<string>;
  unique: boolean;
  sameOrigin: boolean;
}

const NO_REL: readonly string[] = Object.freeze([]);

/**
 * Receives htmlparser2's events and collects links in document order (of their start tags). It
 * listens to attributes one by one rather than to `onopentag`, which spares htmlparser2 building
 * an attributes object for every element; a start tag is handled at the event after it.
 */
export class LinkCollector implements Partial<Handler> {
  /** Links found and not yet taken. */
  links: Link[] = [];
  readonly #resolver: UrlResolver;
  readonly #specs: TagSpecs;
  readonly #schemes: ReadonlySet<string>;
  readonly #http: boolean;
  readonly #https: boolean;
  readonly #sameOrigin: boolean;
  readonly #document: string;
  readonly #documentOrigin: string | null;
  /** Whether relative links (those with the base's origin) are same-origin with the document. */
  #baseSameOrigin: boolean;
  readonly #seen: Set<string> | null;
  #baseSeen = false;
  /** The tag whose start tag is being read, when it is one of ours. */
  #spec: TagSpec | null = null;
  readonly #values: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);
  /** The `<a>` whose text is being collected, and where it is in `links`. */
  #anchor: Link | null = null;
  #anchorIndex = 0;
  #text = '';
  /** Whether `#text` is already collapsed so far, and whether it ends in a space. */
  #textClean = true;
  #textAfterSpace = true;

  constructor(documentHref: string, options: CollectorOptions) {
    this.#specs = options.specs;
    this.#schemes = options.schemes;
    this.#http = options.schemes.has('http');
    this.#https = options.schemes.has('https');
    this.#sameOrigin = options.sameOrigin;
    this.#document = documentHref;
    this.#documentOrigin = originOf(documentHref);
    this.#baseSameOrigin = this.#documentOrigin !== null;
    this.#resolver = new UrlResolver(documentHref);
    this.#seen = options.unique ? new Set() : null;
  }

  /** The base URL in effect: the document's, or the first `<base href>`'s once it was read. */
  get base(): string {
    return this.#resolver.base;
  }

  /** Takes the links found so far that are complete: all but an `<a>` still open and those after it. */
  take(): Link[] {
    const links = this.links;
    if (this.#anchor === null) {
      this.links = [];
      return links;
    }
    if (this.#anchorIndex === 0) return [];
    const ready = links.slice(0, this.#anchorIndex);
    this.links = links.slice(this.#anchorIndex);
    this.#anchorIndex = 0;
    return ready;
  }

  // ---- htmlparser2 events ------------------------------------------------------------------

  onopentagname(name: string): void {
    if (this.#spec !== null) this.#startTag();
    this.#spec = specOf(this.#specs, name);
  }

  onattribute(name: string, value: string): void {
    const spec = this.#spec;
    if (spec === null) return;
    const slot = slotOf(name);
    // The first of duplicate attributes wins, as in browsers.
    if (slot >= 0 && (spec.mask & (1 << slot)) !== 0 && this.#values[slot] === undefined) {
      this.#values[slot] = value;
    }
  }

  ontext(text: string): void {
    if (this.#spec !== null) this.#startTag();
    if (this.#anchor !== null) {
      // Checking each piece as it comes spares flattening the joined text to check it.
      if (this.#textClean) {
        const after = cleanAfter(text, this.#textAfterSpace);
        this.#textClean = after !== DIRTY;
        this.#textAfterSpace = after === SPACE;
      }
      this.#text += text;
    }
  }

  onclosetag(name: string): void {
    if (this.#spec !== null) this.#startTag();
    if (this.#anchor !== null && name === 'a') this.#endAnchor();
  }

  onend(): void {
    // A start tag cut off by the end of the input still counts with the attributes it had.
    if (this.#spec !== null) this.#startTag();
    if (this.#anchor !== null) this.#endAnchor();
  }

  // ---- tags ----------------------------------------------------------------------------------

  /** Handles a complete start tag of ours with the attributes collected for it. */
  #startTag(): void {
    const spec = this.#spec as TagSpec;
    const values = this.#values;
    this.#spec = null;
    if (spec.kind === BASE) {
      this.#readBase(values[HREF]);
    } else {
      if (spec.kind === ANCHOR && this.#anchor !== null) this.#endAnchor(); // <a> in <a> ends the first
      const resolver = this.#resolver;
      for (const slot of spec.urls) {
        const value = values[slot];
        if (value === undefined) continue;
        if (slot === SRCSET || slot === IMAGESRCSET) {
          for (const raw of parseSrcset(value)) this.#add(spec, slot, raw, resolver.resolve(raw));
        } else if (!isBlank(value)) {
          this.#add(spec, slot, value, resolver.resolve(value));
        } else if (slot === ACTION) {
          resolver.kind = OTHER;
          this.#add(spec, slot, value, this.#document); // an empty action submits to the document
        } else if (spec.kind !== PLAIN) {
          this.#add(spec, slot, value, resolver.resolve(value)); // an empty <a>/<area> href: the base
        }
      }
    }
    for (const slot of spec.slots) values[slot] = undefined;
  }

  /** The first `<base>` with an href sets the base, for the links after it. */
  #readBase(href: string | undefined): void {
    if (href === undefined || this.#baseSeen) return;
    this.#baseSeen = true;
    let url: string;
    try {
      url = new URL(href, this.#document).href;
    } catch {
      return;
    }
    if (!isHierarchical(url)) return;
    this.#resolver.base = url;
    this.#baseSameOrigin = this.#documentOrigin !== null && originOf(url) === this.#documentOrigin;
  }

  /** Adds the link unless it did not resolve (`url` null), is filtered out or is a repeat. */
  #add(spec: TagSpec, slot: number, raw: string, url: string | null): void {
    if (url === null) return;
    const kind = this.#resolver.kind;
    if (kind === OTHER) {
      // Relative links always count; absolute ones need a scheme the caller asked for.
      if (!this.#schemes.has(url.slice(0, url.indexOf(':'))) && hasScheme(raw)) return;
    } else if (kind === HTTP ? !this.#http : kind === HTTPS && !this.#https) {
      return;
    }
    if (this.#sameOrigin) {
      const same =
        kind === RELATIVE
          ? this.#baseSameOrigin
          : this.#documentOrigin !== null && originOf(url) === this.#documentOrigin;
      if (!same) return;
    }
    const seen = this.#seen;
    if (seen !== null) {
      if (seen.has(url)) return;
      seen.add(url);
    }
    const values = this.#values;
    const rel = values[REL]; // set only for the tags that read it
    const link: Link = {
      url,
      raw,
      tag: spec.tag,
      attribute: ATTRIBUTE_OF[slot] as LinkAttribute,
      text: spec.kind === ANCHOR ? '' : spec.kind === AREA ? values[ALT] : undefined,
      rel: rel === undefined ? NO_REL : relTokens(rel),
    };
    this.links.push(link);
    if (spec.kind === ANCHOR) {
      this.#anchor = link;
      this.#anchorIndex = this.links.length - 1;
    }
  }

  #endAnchor(): void {
    const text = this.#text;
    const clean = this.#textClean && !(this.#textAfterSpace && text.length > 0);
    (this.#anchor as Link).text = clean ? text : rebuild(text);
    this.#anchor = null;
    this.#text = '';
    this.#textClean = true;
    this.#textAfterSpace = true;
  }
}

/** Whether the URL parser would see nothing in `value` (it strips leading and trailing C0 and space). */
function isBlank(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x20) return false;
  return true;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

// How a piece of text leaves collapsed text: dirty (it needs collapsing), ending in a space, or not.
const DIRTY = 0;
const SPACE = 1;
const WORD = 2;

/** How `text` leaves collapsed text that ended in a space (or is empty) when `afterSpace`. */
function cleanAfter(text: string, afterSpace: boolean): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 ? afterSpace : isSpace(c)) return DIRTY;
    afterSpace = c === 0x20;
  }
  return afterSpace ? SPACE : WORD;
}

/** Runs of ASCII whitespace become one space; leading and trailing ones go. Other spaces stay. */
function collapseSpaces(text: string): string {
  // Most text needs nothing: check before building a new string.
  return text.length === 0 || cleanAfter(text, true) === WORD ? text : rebuild(text);
}

/** `text` collapsed: its words (runs of anything but ASCII whitespace) joined by single spaces. */
function rebuild(text: string): string {
  let out = '';
  let pending = false;
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const space = i === text.length || isSpace(text.charCodeAt(i));
    if (space && start >= 0) {
      out += (pending ? ' ' : '') + text.slice(start, i);
      pending = true;
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  return out;
}

/** Parsed `rel` values; pages repeat a handful of them. Bounded: it stops growing when full. */
const relCache = new Map<string, readonly string[]>();

/** `rel`'s tokens, lowercased (they are ASCII case-insensitive), without duplicates. */
function relTokens(rel: string): readonly string[] {
  let tokens = relCache.get(rel);
  if (tokens === undefined) {
    const words = collapseSpaces(rel).toLowerCase();
    tokens = words === '' ? NO_REL : Object.freeze([...new Set(words.split(' '))]);
    if (relCache.size < 256) relCache.set(rel, tokens);
  }
  return tokens;
}
