import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { StreamClosedError } from '../../src/errors.js';
import {
  extractLinks,
  extractLinksFromStream,
  type Link,
  LinkExtractor,
  type LinkOptions,
  linkDefaults,
} from '../../src/html/index.js';
import { generatedPage, sample } from './pages.js';

const DOC = 'https://example.com/dir/page.html?q=1#top';

const urls = (html: string, options?: LinkOptions, base: string | URL = DOC): string[] =>
  extractLinks(html, base, options).map((link) => link.url);

/** The only link of `html`. */
function only(html: string, options?: LinkOptions, base: string = DOC): Link {
  const links = extractLinks(html, base, options);
  assert.equal(links.length, 1, `expected one link in ${html}, got ${JSON.stringify(links)}`);
  return links[0]!;
}

async function collect(links: AsyncIterable<Link>): Promise<Link[]> {
  const all: Link[] = [];
  for await (const link of links) all.push(link);
  return all;
}

describe('extractLinks: elements and attributes', () => {
  const cases: Array<[html: string, tag: string, attribute: string, url: string]> = [
    ['<a href="a.html">x</a>', 'a', 'href', 'https://example.com/dir/a.html'],
    ['<map><area href="/area" alt="Area"></map>', 'area', 'href', 'https://example.com/area'],
    ['<link rel=stylesheet href="s.css">', 'link', 'href', 'https://example.com/dir/s.css'],
    [
      '<link rel=preload as=image imagesrcset="w.png 2x">',
      'link',
      'imagesrcset',
      'https://example.com/dir/w.png',
    ],
    ['<img src="i.png">', 'img', 'src', 'https://example.com/dir/i.png'],
    ['<img srcset="i2.png 2x">', 'img', 'srcset', 'https://example.com/dir/i2.png'],
    ['<picture><source srcset="p.webp"></picture>', 'source', 'srcset', 'https://example.com/dir/p.webp'],
    ['<video><source src="v.mp4"></video>', 'source', 'src', 'https://example.com/dir/v.mp4'],
    ['<script src="/app.js"></script>', 'script', 'src', 'https://example.com/app.js'],
    ['<iframe src="https://other.example/embed"></iframe>', 'iframe', 'src', 'https://other.example/embed'],
    ['<frameset><frame src="f.html"></frameset>', 'frame', 'src', 'https://example.com/dir/f.html'],
    ['<form action="/login" method=post></form>', 'form', 'action', 'https://example.com/login'],
    ['<video src="movie.webm"></video>', 'video', 'src', 'https://example.com/dir/movie.webm'],
    ['<video poster="still.jpg"></video>', 'video', 'poster', 'https://example.com/dir/still.jpg'],
    ['<audio src="song.ogg"></audio>', 'audio', 'src', 'https://example.com/dir/song.ogg'],
    ['<video><track src="subs.vtt"></video>', 'track', 'src', 'https://example.com/dir/subs.vtt'],
    ['<embed src="plugin.swf">', 'embed', 'src', 'https://example.com/dir/plugin.swf'],
    ['<object data="doc.pdf"></object>', 'object', 'data', 'https://example.com/dir/doc.pdf'],
  ];
  for (const [html, tag, attribute, url] of cases) {
    test(`<${tag} ${attribute}> gives a link: ${html}`, () => {
      const link = only(html);
      assert.equal(link.tag, tag);
      assert.equal(link.attribute, attribute);
      assert.equal(link.url, url);
    });
  }

  test('the default tags are every covered element', () => {
    assert.deepEqual([...linkDefaults.tags].sort(), [
      'a',
      'area',
      'audio',
      'embed',
      'form',
      'frame',
      'iframe',
      'img',
      'link',
      'object',
      'script',
      'source',
      'track',
      'video',
    ]);
    assert.deepEqual(linkDefaults, {
      tags: linkDefaults.tags,
      schemes: ['http', 'https'],
      unique: false,
      sameOrigin: false,
      encoding: 'utf-8',
    });
  });

  test('a link carries url, raw, tag, attribute, text and rel', () => {
    assert.deepEqual(only('<a href="../up.html" rel="next">Up</a>'), {
      url: 'https://example.com/up.html',
      raw: '../up.html',
      tag: 'a',
      attribute: 'href',
      text: 'Up',
      rel: ['next'],
    });
  });

  test('an element with two URL attributes gives two links, src before srcset', () => {
    const links = extractLinks('<img srcset="b.png 2x" src="a.png">', DOC);
    assert.deepEqual(
      links.map((l) => [l.attribute, l.raw]),
      [
        ['src', 'a.png'],
        ['srcset', 'b.png'],
      ],
    );
  });

  test('links come in document order of their start tags; an <img> inside an <a> comes after it', () => {
    const html = '<link href=1><a href=2><img src=3></a><script src=4></script><a href=5>x</a>';
    assert.deepEqual(
      extractLinks(html, DOC).map((l) => l.raw),
      ['1', '2', '3', '4', '5'],
    );
  });

  test('tag and attribute names are case-insensitive', () => {
    assert.equal(only('<A HREF="x">X</A>').url, 'https://example.com/dir/x');
    assert.equal(only('<IMG SrC="y">').url, 'https://example.com/dir/y');
  });

  test('of duplicate attributes the first wins, as in browsers', () => {
    assert.equal(only('<a href="first" href="second">x</a>').raw, 'first');
  });

  test('elements and attributes that are not covered give nothing', () => {
    const html =
      '<input type=image src=i.png><button formaction=/f>b</button><blockquote cite=/c>q</blockquote>' +
      '<meta http-equiv=refresh content="0; url=/r"><div href=/d src=/s>t</div><a data-href=/x>no</a>' +
      '<img data-src=lazy.png><base href=/base/>';
    assert.deepEqual(urls(html), []);
  });

  test('the tags option takes links from those elements only', () => {
    const html = '<a href=a>a</a><img src=i><script src=s></script><link href=l>';
    assert.deepEqual(urls(html, { tags: ['img', 'link'] }), [
      'https://example.com/dir/i',
      'https://example.com/dir/l',
    ]);
    assert.deepEqual(urls(html, { tags: [] }), []);
  });
});

describe('extractLinks: text and rel', () => {
  test("an <a>'s text is its text content, whitespace collapsed and trimmed", () => {
    assert.equal(only('<a href=x>\n  Hello,\t<b>big</b>\r\n  <i>world</i> </a>').text, 'Hello, big world');
  });

  test("an <a>'s text decodes entities and keeps non-breaking spaces", () => {
    assert.equal(only('<a href=x>Fish &amp; chips&nbsp;&lt;3</a>').text, 'Fish & chips\u00a0<3');
  });

  test('an <a> without text has the empty string; an <img> in it adds no text', () => {
    const [a] = extractLinks('<a href=x><img src=i alt="Logo"></a>', DOC);
    assert.equal(a!.text, '');
  });

  test("an <area>'s text is its alt; other elements have no text", () => {
    assert.equal(only('<area href=x alt="Region  one">').text, 'Region  one');
    assert.equal(only('<area href=x>').text, undefined);
    assert.equal(only('<img src=x alt="Alt">').text, undefined);
    assert.equal(only('<link href=x>').text, undefined);
  });

  test('an <a> opened inside another ends the first, as in browsers', () => {
    const links = extractLinks('<a href=1>one <a href=2>two</a> three</a><a href=3>four</a>', DOC);
    assert.deepEqual(
      links.map((l) => [l.raw, l.text]),
      [
        ['1', 'one'],
        ['2', 'two'],
        ['3', 'four'],
      ],
    );
  });

  test('an unclosed <a> ends with its parent element, or at the end of the document', () => {
    const links = extractLinks('<p><a href=1>inside</p>outside<div><a href=2>last', DOC);
    assert.deepEqual(
      links.map((l) => l.text),
      ['inside', 'last'],
    );
  });

  test('rel is split on whitespace, lowercased and without duplicates', () => {
    assert.deepEqual(only('<a href=x rel=" NoFollow\tnoopener  nofollow ">x</a>').rel, [
      'nofollow',
      'noopener',
    ]);
    assert.deepEqual(only('<link href=x rel="Stylesheet">').rel, ['stylesheet']);
    assert.deepEqual(only('<area href=x rel=help>').rel, ['help']);
    assert.deepEqual(only('<a href=x rel="  ">x</a>').rel, []);
    assert.deepEqual(only('<a href=x>x</a>').rel, []);
    assert.deepEqual(only('<img src=x rel=nofollow>').rel, [], 'rel counts on a, area and link only');
  });
});

describe('extractLinks: attribute values', () => {
  test('entities in attributes are decoded before resolving', () => {
    assert.equal(
      only('<a href="/search?a=1&amp;b=2&#38;c=&#x33;">s</a>').url,
      'https://example.com/search?a=1&b=2&c=3',
    );
    // A legacy entity followed by a letter stays as written in an attribute.
    assert.equal(only('<a href="?x=1&notit=2">s</a>').url, 'https://example.com/dir/page.html?x=1&notit=2');
  });

  test('leading and trailing whitespace go, and tabs and newlines inside, as in browsers', () => {
    assert.equal(only('<a href="  \n/pa\tth/\nx.html \t">x</a>').url, 'https://example.com/path/x.html');
  });

  test('URLs are normalized as the URL standard says', () => {
    assert.equal(
      only('<a href="HTTPS://Example.COM:443/a/./b/../c d?e f#g h">x</a>').url,
      'https://example.com/a/c%20d?e%20f#g%20h',
    );
    assert.equal(only('<a href="/caf\u00e9">x</a>').url, 'https://example.com/caf%C3%A9');
    assert.equal(only('<a href="https://b\u00fccher.example/">x</a>').url, 'https://xn--bcher-kva.example/');
    assert.equal(only('<a href="//cdn.example/lib.js">x</a>').url, 'https://cdn.example/lib.js');
    assert.equal(only('<a href="?page=2">x</a>').url, 'https://example.com/dir/page.html?page=2');
    assert.equal(only('<a href="#section">x</a>').url, 'https://example.com/dir/page.html?q=1#section');
  });

  test('an empty href in <a> or <area> links to the base URL; an empty src links nowhere', () => {
    assert.equal(only('<a href="">x</a>').url, 'https://example.com/dir/page.html?q=1');
    assert.equal(only('<a href>x</a>').url, 'https://example.com/dir/page.html?q=1');
    assert.equal(only('<area href="  ">').url, 'https://example.com/dir/page.html?q=1');
    assert.deepEqual(
      urls('<img src=""><img src="  "><script src></script><link href=""><iframe src=""></iframe>'),
      [],
    );
  });

  test('an empty form action is the document URL, not the base; a form without action gives nothing', () => {
    const link = only('<base href="/elsewhere/"><form action=""></form><form method=post></form>');
    assert.equal(link.url, DOC);
    assert.equal(link.raw, '');
  });

  test('values that do not resolve are skipped, never thrown', () => {
    const html =
      '<a href="http://[::1">a</a><a href="https://exa mple.com/">b</a><a href="http://">c</a>' +
      '<img src="https://example.com:99999/"><a href="ok">ok</a>';
    assert.deepEqual(urls(html), ['https://example.com/dir/ok']);
  });
});

describe('extractLinks: srcset', () => {
  const srcset = (value: string): string[] =>
    extractLinks(`<img srcset="${value}">`, 'https://example.com/', { schemes: ['https', 'data'] }).map(
      (l) => l.raw,
    );

  test('candidates are split at commas after their descriptors', () => {
    assert.deepEqual(srcset('a.png 1x, b.png 2x,c.png 3x'), ['a.png', 'b.png', 'c.png']);
    assert.deepEqual(srcset('small.jpg 480w, large.jpg 1080w'), ['small.jpg', 'large.jpg']);
  });

  test('a comma inside a URL stays when not followed by whitespace', () => {
    assert.deepEqual(srcset('a,b.png 1x, c.png'), ['a,b.png', 'c.png']);
    assert.deepEqual(srcset('data:image/png;base64,iVBORw0KGgo= 1x, b.png 2x'), [
      'data:image/png;base64,iVBORw0KGgo=',
      'b.png',
    ]);
  });

  test('trailing commas end a candidate without descriptors', () => {
    assert.deepEqual(srcset('a.png,b.png'), ['a.png,b.png']);
    assert.deepEqual(srcset('a.png, b.png'), ['a.png', 'b.png']);
    assert.deepEqual(srcset(',, a.png,,, ,b.png,'), ['a.png', 'b.png']);
  });

  test('commas inside parentheses belong to the descriptor', () => {
    assert.deepEqual(srcset('a.png (1x, 2x) 1x, b.png'), ['a.png', 'b.png']);
  });

  test('descriptors are not validated and whitespace of any kind separates', () => {
    assert.deepEqual(srcset('a.png nonsense 2x 3x ,\tb.png\n5q'), ['a.png', 'b.png']);
  });

  test('an empty or blank srcset gives nothing', () => {
    assert.deepEqual(srcset(''), []);
    assert.deepEqual(srcset(' , , '), []);
  });

  test('each candidate is resolved and filtered like any URL', () => {
    const links = extractLinks('<img srcset="javascript:x 1x, /a.png 2x, http://[bad 3x">', DOC);
    assert.deepEqual(
      links.map((l) => l.url),
      ['https://example.com/a.png'],
    );
  });
});

describe('extractLinks: <base href>', () => {
  test('a relative base resolves against the document URL', () => {
    assert.equal(only('<base href="../assets/"><img src="i.png">').url, 'https://example.com/assets/i.png');
  });

  test('an absolute base is used as is', () => {
    assert.equal(
      only('<base href="https://cdn.example/v2/"><a href="x">x</a>').url,
      'https://cdn.example/v2/x',
    );
  });

  test('only the first <base> with an href counts', () => {
    const html = '<base target=_blank><base href="/one/"><base href="/two/"><a href="x">x</a>';
    assert.equal(only(html).url, 'https://example.com/one/x');
  });

  test('a <base> sets the base for the links after it, not those before', () => {
    const html = '<a href="before">b</a><base href="/base/"><a href="after">a</a>';
    assert.deepEqual(urls(html), ['https://example.com/dir/before', 'https://example.com/base/after']);
  });

  test('a first <base> that cannot be a base leaves the document URL, and later ones do not count', () => {
    assert.equal(
      only('<base href="http://[bad"><base href="/two/"><a href=x>x</a>').url,
      'https://example.com/dir/x',
    );
    assert.equal(only('<base href="javascript:void(0)"><a href=x>x</a>').url, 'https://example.com/dir/x');
  });

  test('a <base> anywhere in the document counts, from where it is', () => {
    assert.equal(only('<body><p><base href="/late/"></p><a href=x>x</a>').url, 'https://example.com/late/x');
  });

  test('LinkExtractor.baseUrl is the base in effect', () => {
    const extractor = new LinkExtractor(DOC);
    assert.equal(extractor.baseUrl, DOC);
    extractor.write('<head><base href="/b/">');
    extractor.write('<title>');
    assert.equal(extractor.baseUrl, 'https://example.com/b/');
  });
});

describe('extractLinks: schemes', () => {
  const html =
    '<a href="javascript:alert(1)">j</a><a href="mailto:a@example.com">m</a><a href="tel:+1">t</a>' +
    '<img src="data:image/gif;base64,R0lGOD"><a href="ftp://files.example/">f</a>' +
    '<a href="HTTP://plain.example/">h</a><a href="rel">r</a>';

  test('by default only http(s) links and relative links are kept', () => {
    assert.deepEqual(urls(html), ['http://plain.example/', 'https://example.com/dir/rel']);
  });

  test('schemes opts other schemes in, in any case and with or without the colon', () => {
    assert.deepEqual(urls(html, { schemes: [...linkDefaults.schemes, 'MAILTO:', 'javascript'] }), [
      'javascript:alert(1)',
      'mailto:a@example.com',
      'http://plain.example/',
      'https://example.com/dir/rel',
    ]);
    assert.deepEqual(urls(html, { schemes: ['data', 'tel', 'ftp'] }), [
      'tel:+1',
      'data:image/gif;base64,R0lGOD',
      'ftp://files.example/',
      'https://example.com/dir/rel',
    ]);
  });

  test('entities and whitespace do not hide a javascript: URL', () => {
    assert.deepEqual(urls('<a href=" &#x6a;ava&#9;script:alert(1)">x</a><a href="java\nscript:x">y</a>'), []);
  });

  test('relative links always count, whatever the base scheme', () => {
    assert.deepEqual(urls('<a href="x">x</a><a href="ftp://o/">o</a>', {}, 'ftp://files.example/pub/'), [
      'ftp://files.example/pub/x',
    ]);
    assert.deepEqual(
      urls('<a href="x">x</a><a href="https://o/">o</a>', { schemes: ['https'] }, 'http://h/'),
      ['http://h/x', 'https://o/'],
    );
  });

  test('a file: document resolves relative links to file: URLs', () => {
    assert.deepEqual(
      urls('<a href="other.html">x</a><img src="/abs.png">', {}, 'file:///home/me/page.html'),
      ['file:///home/me/other.html', 'file:///abs.png'],
    );
  });
});

describe('extractLinks: unique and sameOrigin', () => {
  test('unique keeps the first link to each URL', () => {
    const html =
      '<a href="/a">first</a><img src="/a"><a href="https://example.com/a">again</a><a href="/a#x">frag</a>';
    const links = extractLinks(html, DOC, { unique: true });
    assert.deepEqual(
      links.map((l) => [l.tag, l.url, l.text]),
      [
        ['a', 'https://example.com/a', 'first'],
        ['a', 'https://example.com/a#x', 'frag'],
      ],
    );
    assert.equal(extractLinks(html, DOC).length, 4, 'without unique every occurrence counts');
  });

  test('sameOrigin keeps links with the scheme, host and port of the document URL', () => {
    const html =
      '<a href="/same">1</a><a href="https://example.com:443/also">2</a><a href="https://user@example.com/cred">3</a>' +
      '<a href="http://example.com/http">4</a><a href="https://example.com:8443/port">5</a>' +
      '<a href="https://sub.example.com/">6</a><a href="//other.example/">7</a>';
    assert.deepEqual(
      extractLinks(html, DOC, { sameOrigin: true }).map((l) => l.text),
      ['1', '2', '3'],
    );
  });

  test('sameOrigin compares with the document URL even after a <base> elsewhere', () => {
    const html =
      '<a href="/before">b</a><base href="https://cdn.example/"><a href="after">a</a><a href="https://example.com/abs">c</a>';
    assert.deepEqual(
      extractLinks(html, DOC, { sameOrigin: true }).map((l) => l.text),
      ['b', 'c'],
    );
  });

  test('sameOrigin on a file: document keeps file: links', () => {
    assert.deepEqual(
      urls(
        '<a href="x.html">x</a><a href="https://example.com/">y</a>',
        { sameOrigin: true },
        'file:///tmp/p.html',
      ),
      ['file:///tmp/x.html'],
    );
  });
});

describe('extractLinks: malformed HTML', () => {
  test('unclosed elements, unquoted and valueless attributes', () => {
    const html =
      "<div><p><a href=/one class=x>one<img src=two.png alt><a href='/three' disabled>three<ul><li>";
    assert.deepEqual(
      extractLinks(html, DOC).map((l) => [l.url, l.text]),
      [
        ['https://example.com/one', 'one'],
        ['https://example.com/dir/two.png', undefined],
        ['https://example.com/three', 'three'],
      ],
    );
  });

  test('garbage around links does not stop the parser', () => {
    const html =
      '<<<>>><a <="" href="x">x</a>\u0000<\u0001 <img src=y><!-- <a href=comment> --><!doctype junk><a href=z>z';
    assert.deepEqual(urls(html), [
      'https://example.com/dir/x',
      'https://example.com/dir/y',
      'https://example.com/dir/z',
    ]);
  });

  test('markup inside <script>, <style>, <textarea>, <title> and comments is not parsed', () => {
    const html =
      '<script>document.write("<a href=s1>")</script><style>a{background:url(s2)}</style>' +
      '<textarea><a href=s3></textarea><title><a href=s4></title><!-- <img src=s5> --><a href=real>r</a>';
    assert.deepEqual(urls(html), ['https://example.com/dir/real']);
  });

  test('attributes on an end tag are ignored', () => {
    assert.deepEqual(urls('<a href=x>x</a href="y">'), ['https://example.com/dir/x']);
  });

  test('links in SVG count, self-closing included', () => {
    assert.deepEqual(urls('<svg><a href="/svg"/><image href="no.png"/></svg><a href=after>a</a>'), [
      'https://example.com/svg',
      'https://example.com/dir/after',
    ]);
  });

  test('a start tag cut off by the end of the document still counts with the attributes it had', () => {
    assert.deepEqual(urls('<p>text<img src="cut.png" alt="'), ['https://example.com/dir/cut.png']);
    assert.deepEqual(urls('<p>text<img src="cut.png'), [], 'an attribute value cut off is not a value');
  });

  // Regression: htmlparser2 emits text from position -1 for a tag cut off after '/' or in an end
  // tag: the last character of a whole page, pieces of earlier chunks of a streamed one.
  test('a tag cut off at the end after "/" or in an end tag adds nothing to an open <a>, whole or chunked', () => {
    for (const html of [
      '<a href=x>text<b /',
      '<a href=x>text</b ',
      '<a href="x.html">t <img src=i alt="" /',
    ]) {
      const whole = extractLinks(html, DOC);
      assert.equal(whole[0]!.text, html.includes('x.html') ? 't' : 'text', html);
      for (let cut = 0; cut <= html.length; cut++) {
        const extractor = new LinkExtractor(DOC);
        assert.deepEqual([...extractor.write(html.slice(0, cut)), ...extractor.end(html.slice(cut))], whole);
      }
    }
  });

  test('text and entities unfinished at the end still count', () => {
    assert.equal(only('<a href=x>fish &amp').text, 'fish &');
    assert.equal(only('<a href=x>fish &am').text, 'fish &am');
    assert.equal(only('<a href=x>a <').text, 'a <');
  });

  test('the empty document has no links', () => {
    assert.deepEqual(urls(''), []);
  });
});

describe('extractLinks: bytes and encodings', () => {
  test('a Uint8Array is decoded as UTF-8, byte order mark and all', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a href="/ü">Grüße</a>')]);
    const link = only(bytes as unknown as string);
    assert.equal(link.url, 'https://example.com/%C3%BC');
    assert.equal(link.text, 'Grüße');
  });

  test('invalid UTF-8 becomes U+FFFD instead of failing', () => {
    const link = extractLinks(
      Buffer.from([...Buffer.from('<a href=x>'), 0xff, 0xfe, ...Buffer.from('</a>')]),
      DOC,
    )[0]!;
    assert.equal(link.text, '\ufffd\ufffd');
  });

  test('encoding decodes bytes with another TextDecoder label', () => {
    const bytes = Buffer.from('<a href="/caf\u00e9">caf\u00e9</a>', 'latin1');
    const [link] = extractLinks(bytes, DOC, { encoding: 'windows-1252' });
    assert.equal(link!.text, 'café');
    assert.equal(link!.url, 'https://example.com/caf%C3%A9');
  });
});

describe('extractLinks: bad arguments', () => {
  test('html that is not a string or bytes is a TypeError', () => {
    for (const html of [undefined, null, 42, {}, ['<a href=x>'], new ArrayBuffer(4)]) {
      assert.throws(
        () => extractLinks(html as unknown as string, DOC),
        (err: unknown) =>
          err instanceof TypeError && /html must be a string or a Uint8Array/.test(err.message),
        String(html),
      );
    }
  });

  test('a baseUrl that is not an absolute URL is a TypeError that names it', () => {
    assert.throws(() => extractLinks('', 'not a url'), /baseUrl must be an absolute URL.*"not a url"/);
    assert.throws(() => extractLinks('', '/relative/path'), TypeError);
    assert.throws(() => extractLinks('', ''), TypeError);
    assert.throws(
      () => extractLinks('', 42 as unknown as string),
      /baseUrl must be a string or a URL, got number/,
    );
    assert.throws(() => extractLinks('', 'mailto:me@example.com'), /relative links can resolve against/);
  });

  test('a URL object is a valid baseUrl', () => {
    assert.deepEqual(urls('<a href=x>x</a>', {}, new URL('https://example.com/a/b')), [
      'https://example.com/a/x',
    ]);
  });

  test('bad options are a TypeError or RangeError before any parsing', () => {
    assert.throws(() => extractLinks('', DOC, { tags: ['div' as 'a'] }), /tags: "div" is not one of a, area/);
    assert.throws(() => extractLinks('', DOC, { tags: 'a' as unknown as ['a'] }), TypeError);
    assert.throws(() => extractLinks('', DOC, { schemes: ['1x'] }), /schemes: "1x" is not a URL scheme/);
    assert.throws(() => extractLinks('', DOC, { schemes: 'http' as unknown as string[] }), TypeError);
    assert.throws(
      () => extractLinks('', DOC, { unique: 1 as unknown as boolean }),
      /unique must be a boolean/,
    );
    assert.throws(() => extractLinks('', DOC, { sameOrigin: 'yes' as unknown as boolean }), TypeError);
    assert.throws(() => extractLinks('', DOC, { encoding: 'klingon' }), RangeError);
    assert.throws(() => extractLinks('', DOC, null as unknown as LinkOptions), /options must be an object/);
  });
});

describe('LinkExtractor', () => {
  test('write returns the links each chunk completed and end returns the rest', () => {
    const extractor = new LinkExtractor(DOC);
    assert.deepEqual(extractor.write('<img src=a><img sr'), [extractLinks('<img src=a>', DOC)[0]]);
    assert.deepEqual(extractor.write('c=b'), []);
    assert.deepEqual(
      extractor.write('><p>').map((l) => l.raw),
      ['b'],
    );
    assert.deepEqual(
      extractor.end('<script src=c></script>').map((l) => l.raw),
      ['c'],
    );
  });

  test('an open <a> holds back itself and the links after it until it ends', () => {
    const extractor = new LinkExtractor(DOC);
    assert.deepEqual(
      extractor.write('<link href=1><a href=2>Te').map((l) => l.raw),
      ['1'],
    );
    assert.deepEqual(extractor.write('xt <img src=3> more'), []);
    const done = extractor.write('</a><img src=4>');
    assert.deepEqual(
      done.map((l) => [l.raw, l.text]),
      [
        ['2', 'Text more'],
        ['3', undefined],
        ['4', undefined],
      ],
    );
    assert.deepEqual(extractor.end(), []);
  });

  test('a UTF-8 character split between chunks is decoded whole', () => {
    const bytes = Buffer.from('<a href="/€">€</a>');
    const cut = bytes.indexOf(0xe2) + 1;
    const extractor = new LinkExtractor(DOC);
    const links = [
      ...extractor.write(bytes.subarray(0, cut)),
      ...extractor.write(bytes.subarray(cut)),
      ...extractor.end(),
    ];
    assert.deepEqual(
      links.map((l) => [l.url, l.text]),
      [['https://example.com/%E2%82%AC', '€']],
    );
  });

  test('bytes cut short by the end, or by a string chunk, become U+FFFD', () => {
    const extractor = new LinkExtractor(DOC);
    const links = [
      ...extractor.write('<a href=x>'),
      ...extractor.write(Buffer.from([0xe2, 0x82])),
      ...extractor.write('!</a><a href=y>'),
      ...extractor.write(Buffer.from([0xf0, 0x9f])),
      ...extractor.end(),
    ];
    assert.deepEqual(
      links.map((l) => l.text),
      ['\ufffd!', '\ufffd'],
    );
  });

  test('writing after end is a StreamClosedError; a bad chunk is a TypeError', () => {
    const extractor = new LinkExtractor(DOC);
    assert.throws(
      () => extractor.write(42 as unknown as string),
      /chunk must be a string or a Uint8Array, got number/,
    );
    extractor.end();
    assert.throws(() => extractor.write('<a href=x>'), StreamClosedError);
    assert.throws(() => extractor.end(), StreamClosedError);
  });

  test('the constructor checks baseUrl and options', () => {
    assert.throws(() => new LinkExtractor('nope'), TypeError);
    assert.throws(() => new LinkExtractor(DOC, { tags: ['p' as 'a'] }), TypeError);
  });

  test('splitting the sample page at every byte offset gives the same links', () => {
    const bytes = Buffer.from(sample);
    const whole = extractLinks(bytes, DOC);
    assert.ok(whole.length >= 30, `the sample has ${whole.length} links`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const extractor = new LinkExtractor(DOC);
      const links = [...extractor.write(bytes.subarray(0, cut)), ...extractor.end(bytes.subarray(cut))];
      assert.deepEqual(links, whole, `cut at byte ${cut}`);
    }
  });
});

describe('extractLinksFromStream', () => {
  test('yields the links of a node stream, decoding UTF-8 across chunks', async () => {
    const bytes = Buffer.from(sample);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
      bytes.subarray(i * 7, i * 7 + 7),
    );
    const links = await collect(extractLinksFromStream(Readable.from(chunks), DOC));
    assert.deepEqual(links, extractLinks(sample, DOC));
  });

  test('reads a fetch body (a web ReadableStream)', async () => {
    const body = new Response(sample).body!;
    const links = await collect(extractLinksFromStream(body, DOC));
    assert.deepEqual(links, extractLinks(sample, DOC));
  });

  test('takes any (async) iterable of strings and bytes, and options', async () => {
    async function* source() {
      yield '<a href="/a">a</a>';
      yield Buffer.from('<a href="mailto:x@y">m</a>');
    }
    const links = await collect(extractLinksFromStream(source(), DOC, { schemes: ['mailto'] }));
    assert.deepEqual(
      links.map((l) => l.url),
      ['https://example.com/a', 'mailto:x@y'],
    );
    assert.equal((await collect(extractLinksFromStream(['<img src=i>'], DOC))).length, 1);
  });

  test('breaking out of the loop stops reading the source', async () => {
    let pulled = 0;
    let returned = false;
    const source: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ value: `<img src=${++pulled}>`, done: false }),
        return: async () => {
          returned = true;
          return { value: undefined, done: true };
        },
      }),
    };
    for await (const link of extractLinksFromStream(source, DOC)) {
      if (link.raw === '3') break;
    }
    assert.ok(pulled <= 4, `pulled ${pulled} chunks`);
    assert.equal(returned, true);
  });

  test('a source that is not an iterable of chunks is a TypeError, thrown at the call', () => {
    for (const source of ['<a href=x>', Buffer.from('<a href=x>'), 42, null, {}]) {
      assert.throws(
        () => extractLinksFromStream(source as unknown as string[], DOC),
        /source must be an async iterable of string or Uint8Array chunks/,
      );
    }
    assert.throws(() => extractLinksFromStream([], 'relative'), TypeError);
  });

  test('a chunk of the wrong type rejects the iteration with a TypeError', async () => {
    await assert.rejects(collect(extractLinksFromStream([42 as unknown as string], DOC)), TypeError);
  });
});

describe('large pages', () => {
  const { html, links: expected } = generatedPage(5 * 1024 * 1024);

  test('a 5 MB page gives every link in bounded time', { timeout: 60_000 }, () => {
    const started = performance.now();
    const links = extractLinks(html, 'https://example.com/index.html');
    const elapsed = performance.now() - started;
    assert.equal(links.length, expected);
    assert.ok(elapsed < 10_000, `took ${elapsed.toFixed(0)} ms`);
  });

  test('a 5 MB page streamed in 64 KiB chunks gives the same links', { timeout: 60_000 }, async () => {
    const bytes = Buffer.from(html);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) =>
      bytes.subarray(i * 65_536, (i + 1) * 65_536),
    );
    let count = 0;
    let last: Link | undefined;
    for await (const link of extractLinksFromStream(
      Readable.from(chunks),
      'https://example.com/index.html',
    )) {
      count++;
      last = link;
    }
    assert.equal(count, expected);
    assert.equal(last?.url, 'https://example.com/articles/last');
  });
});
