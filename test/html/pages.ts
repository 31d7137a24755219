/** Pages for the link extraction tests. */

/**
 * A small page with a bit of everything: every covered element, a `<base>`, entities, srcset,
 * multi-byte characters in URLs and text, excluded schemes, comments, script and malformed tags.
 */
export const sample = `<!DOCTYPE html>
<html lang="de"><head>
<meta charset="utf-8"><title>Bücher &amp; <a href="no">Mehr</a></title>
<base href="/shop/">
<link rel="stylesheet" href="css/main.css?v=3"><link rel="Alternate  Feed" href="/feed.xml" type="application/rss+xml">
<link rel=preload as=image imagesrcset="hero-1x.webp 1x, hero-2x.webp 2x">
<script src="https://cdn.example/lib.js" async></script>
<script>var s = '<a href="not-a-link">'; if (a < b && c > d) {}</script>
<style>body { background: url(bg.png) }</style>
</head>
<body>
<!-- <a href="commented-out"> -->
<nav><a href="/">Startseite</a> | <a href="kategorie/bücher?sort=preis&amp;dir=auf" rel="next NOFOLLOW">Bücher – 📚 alle</a>
<a href="#inhalt">Zum Inhalt</a><a href="javascript:void(0)">JS</a><a href="mailto:info@example.com">Mail</a></nav>
<main id="inhalt">
<h1>Grüße aus Köln</h1>
<p>Text mit <a href='https://example.org/a%20b/c?d=e#f'>einem   Link
über zwei Zeilen</a> und <a href=unquoted.html>ohne Anführungszeichen</a>.</p>
<img src="bilder/köln.jpg" srcset="bilder/köln-2x.jpg 2x, bilder/köln,groß.jpg 3x" alt="Dom">
<picture><source srcset="a.avif 1x, b.avif 2x" type="image/avif"><img src="fallback.png"></picture>
<video src="film.mp4" poster="poster.jpg"><source src="film.webm"><track src="untertitel.vtt"></video>
<audio src="ton.ogg"></audio><embed src="alt.swf"><object data="handbuch.pdf"></object>
<iframe src="https://maps.example/embed?q=K%C3%B6ln"></iframe>
<map name="m"><area href="region-1.html" alt="Region eins" shape=rect><area href="" alt="hier"></map>
<form action="suche" method="get"><input name=q></form><form action=""></form>
<a href="  /leer zeichen  ">Leer</a><a href="&#x6a;avascript:alert(1)">versteckt</a>
<a href="data:text/plain,hallo">Daten</a><a href="tel:+49221">Telefon</a>
<div><a href=unclosed.html>nicht geschlossen<p>Absatz</div>
<a href="http://[kaputt">kaputt</a><img src="">
<frameset><frame src="rahmen.html"></frameset>
<a href="ende.html" class=x title="Ende &lt;3">Ende 🎉</a>
</main></body></html>
`;

const block = (i: number): string => `<div class="item" id="item-${i}">
<h2 class="title"><a href="/articles/${i}/some-title-here" class="link" title="Article ${i}">Article number ${i} &amp; more</a></h2>
<p class="summary">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt
ut labore et dolore magna aliqua. <a href="https://example.org/ref/${i}?q=a&amp;b=${i}" rel="nofollow">a reference</a>.</p>
<img src="img/${i}.jpg" srcset="img/${i}-2x.jpg 2x, img/${i}-3x.jpg 3x" alt="Picture ${i}" width="300" height="200">
<ul class="tags"><li><span class="tag">alpha</span></li><li><a href="#comments-${i}">comments</a></li>
<li><a href="javascript:share(${i})">share</a></li></ul></div>
`;
/** Links a block gives with the default options (the javascript: one does not count). */
const LINKS_PER_BLOCK = 6;

/** A page of about `bytes` characters made of repeated article blocks, and how many links it has. */
export function generatedPage(bytes: number): { html: string; links: number } {
  const parts = ['<!DOCTYPE html><html><head><link rel=stylesheet href="/site.css"></head><body>'];
  let size = parts[0]!.length;
  let links = 1;
  for (let i = 0; size < bytes; i++) {
    const b = block(i);
    parts.push(b);
    size += b.length;
    links += LINKS_PER_BLOCK;
  }
  parts.push('<a href="/articles/last">last</a></body></html>');
  return { html: parts.join(''), links: links + 1 };
}
