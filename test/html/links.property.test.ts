/**
 * Properties of link extraction: chunking never changes the links, the resolver agrees with
 * `new URL` on every input, srcset splitting returns what was joined, and no input makes
 * extraction throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { extractLinks, LinkExtractor, type LinkOptions } from '../../src/html/index.js';
import { HTTP, HTTPS, hasScheme, OTHER, RELATIVE, UrlResolver } from '../../src/html/resolve.js';
import { parseSrcset } from '../../src/html/srcset.js';

const T = { timeout: 120_000 };
const DOC = 'https://example.com/dir/page.html?q=1#top';

// ---- inputs --------------------------------------------------------------------------------

/** Characters that matter to URL parsing, plus a multi-byte few. */
const urlChar = fc.constantFrom(
  ...'aAzZ09-._~!$&\'()*+,;=:@%/?#[]\\ "<>`{}|^\t\n'.split(''),
  'é',
  '€',
  '🎉',
  '%2e',
  '%2E',
  '..',
  'xn--',
  'http://',
  'https://',
  'HTTP://',
  'Example.com',
  'mailto:',
  'java\tscript:',
  '\u0000',
);
const urlValue = fc.oneof(
  fc.string({ unit: urlChar, maxLength: 12 }),
  fc.webUrl({ withFragments: true, withQueryParameters: true }),
  fc
    .tuple(fc.constantFrom('', '/', '//', '#', '?', 'http://', 'https://', './', '../'), fc.webPath())
    .map(([a, b]) => a + b),
);

const bases = fc.constantFrom(
  'https://example.com/dir/page.html?q=1#top',
  'https://example.com',
  'http://user:pw@example.com:8080/a/b/',
  'https://example.com/a?',
  'https://example.com/a#',
  'http://[::1]/x/y',
  'http://192.168.0.1/',
  'https://xn--bcher-kva.example/b%C3%BC/',
  'file:///home/me/page.html',
  'ftp://files.example/pub/',
);

/** HTML tokens: tags and attributes of interest, text, entities, multi-byte characters, junk. */
const token = fc.oneof(
  fc.constantFrom(
    '<a href="x.html">',
    '</a>',
    '<a href=/y rel="Next  prev">',
    '<img src="i.png" srcset="a.png 1x, b,c.png 2x">',
    '<link rel=stylesheet href="s.css">',
    '<base href="/base/">',
    '<script src="j.js">',
    '</script>',
    '<form action="">',
    '<area href="" alt="Area">',
    '<source srcset="s1.webp (a, b) 1x, s2.webp">',
    '<video src=v.mp4 poster=p.jpg>',
    '<object data=o.pdf>',
    '<p>',
    '</div>',
    '<!-- <a href=c> -->',
    '&amp;',
    '&#x6a;',
    '&nbsp;',
    ' ',
    '\n',
    'é',
    '€',
    '🎉',
    '<',
    '>',
    '"',
    '<a href="javascript:x">',
    '<a href="mailto:m@example.com">',
    '<textarea>',
    '</textarea>',
  ),
  fc
    .tuple(
      fc.constantFrom('<a href="', '<img src="', "<iframe src='"),
      urlValue,
      fc.constantFrom('">', "'>", ' '),
    )
    .map((parts) => parts.join('')),
  fc.string({ maxLength: 6 }),
);
const page = fc.array(token, { maxLength: 40 }).map((tokens) => tokens.join(''));

const options: fc.Arbitrary<LinkOptions> = fc.record(
  {
    unique: fc.boolean(),
    sameOrigin: fc.boolean(),
    schemes: fc.constantFrom(['http', 'https'], ['https', 'mailto', 'javascript']),
  },
  { requiredKeys: [] },
);

function chunksOf(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, data.length]) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** `value` as the URL parser reads it: leading controls and spaces, and all tabs and newlines, gone. */
function asParsed(value: string): string {
  let start = 0;
  while (start < value.length && value.charCodeAt(start) <= 0x20) start++;
  return value.slice(start).replace(/[\t\n\r]/g, '');
}

function newUrl(value: string, base: string): string | null {
  try {
    return new URL(value, base).href;
  } catch {
    return null;
  }
}

// ---- properties ----------------------------------------------------------------------------

describe('link extraction properties', () => {
  test('however the bytes are cut into chunks, LinkExtractor finds the links extractLinks finds', T, () => {
    fc.assert(
      fc.property(page, fc.array(fc.nat(), { maxLength: 12 }), options, (html, cuts, o) => {
        const bytes = Buffer.from(html);
        const whole = extractLinks(bytes, DOC, o);
        const extractor = new LinkExtractor(DOC, o);
        const streamed = chunksOf(bytes, cuts).flatMap((chunk) => extractor.write(chunk));
        streamed.push(...extractor.end());
        assert.deepEqual(streamed, whole);
      }),
      { numRuns: 400 },
    );
  });

  test('extractLinks never throws on any input, and every url is a canonical absolute URL', T, () => {
    fc.assert(
      fc.property(fc.oneof(page, fc.string({ maxLength: 200 })), bases, options, (html, base, o) => {
        for (const link of extractLinks(html, base, o)) {
          assert.equal(new URL(link.url).href, link.url);
          assert.equal(typeof link.raw, 'string');
        }
      }),
      { numRuns: 400 },
    );
  });

  test('UrlResolver.resolve gives what new URL(value, base).href gives, or null where it throws', T, () => {
    fc.assert(
      fc.property(urlValue, bases, (value, base) => {
        const resolver = new UrlResolver(new URL(base).href);
        const resolved = resolver.resolve(value);
        assert.equal(
          resolved,
          newUrl(value, resolver.base),
          `resolve(${JSON.stringify(value)}) against ${base}`,
        );
        // What the resolver says it resolved must be true of the result.
        if (resolved === null) return;
        if (resolver.kind === RELATIVE) assert.equal(new URL(resolved).origin, new URL(resolver.base).origin);
        if (resolver.kind === HTTP) assert.ok(resolved.startsWith('http:'));
        if (resolver.kind === HTTPS) assert.ok(resolved.startsWith('https:'));
        assert.ok([RELATIVE, HTTP, HTTPS, OTHER].includes(resolver.kind));
      }),
      { numRuns: 3000 },
    );
  });

  test(
    'a value without a scheme of its own resolves to the base scheme; one with a scheme, to that',
    T,
    () => {
      fc.assert(
        fc.property(urlValue, bases, (value, base) => {
          const resolved = newUrl(value, base);
          if (resolved === null) return;
          const scheme = new URL(resolved).protocol;
          if (!hasScheme(value)) assert.equal(scheme, new URL(base).protocol, JSON.stringify(value));
          else assert.ok(asParsed(value).toLowerCase().startsWith(scheme), value);
        }),
        { numRuns: 3000 },
      );
    },
  );

  test("an <a>'s text is its text with runs of ASCII whitespace made one space, and trimmed", T, () => {
    const text = fc.string({
      unit: fc.constantFrom('a', 'é', ' ', '\t', '\n', '\r', '\f', '\u00a0', '\u2003', '\u0001'),
      maxLength: 20,
    });
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 3 }), (parts) => {
        const [link] = extractLinks(`<a href=x>${parts.join('<b></b>')}</a>`, DOC);
        const expected = parts
          .join('')
          .replace(/[\t\n\f\r ]+/g, ' ')
          .replace(/^ | $/g, '');
        assert.equal(link!.text, expected);
      }),
      { numRuns: 1000 },
    );
  });

  test('parseSrcset returns the URLs of candidates joined with commas', T, () => {
    const url = fc
      .string({ unit: fc.constantFrom(...'ab.,/:;()'.split('')), minLength: 1, maxLength: 10 })
      .filter((u) => !u.startsWith(',') && !u.endsWith(','));
    const descriptor = fc.constantFrom('', ' 1x', ' 2x', ' 480w', '  1.5x ', ' (a, b) 1x', '\t100h');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(url, descriptor), { maxLength: 6 }),
        fc.constantFrom(', ', ',\n', ' ,'),
        (candidates, separator) => {
          // A candidate without descriptors must be followed by whitespace before the comma,
          // or its commas would be part of the URL's trailing commas.
          const value = candidates.map(([u, d]) => u + (d || ' ')).join(separator);
          assert.deepEqual(
            parseSrcset(value),
            candidates.map(([u]) => u),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
