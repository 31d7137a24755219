/**
 * The page of the extractLinks case: a news listing of about `bytes` of HTML, built the same way
 * in every process (no randomness), and the links it holds. Its links are the kind every
 * contender reads the same way: `<a href>`, `<link href>`, `<img src>` and `<script src>`,
 * relative and absolute http(s), some with `&amp;` in the query; no `<base>`, no srcset.
 */

export interface Page {
  html: string;
  /** The document's URL, relative links resolve against it. */
  baseUrl: string;
  /** Every link's absolute URL, in document order. */
  urls: string[];
}

const BASE_URL = 'https://news.example.com/world/index.html';
const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which ' +
  'but have an they you were her she there been one all we their has would when if so no will ' +
  'café Zürich naïve façade résumé harbour council river market summit energy transport budget'
).split(' ');

/** The n-th pseudo-random number in [0, 1): a fixed sequence, so every process builds one page. */
function pick(n: number): number {
  const x = Math.sin(n * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

function words(seed: number, count: number): string {
  return Array.from({ length: count }, (_, i) => WORDS[Math.floor(pick(seed * 31 + i) * WORDS.length)]).join(
    ' ',
  );
}

const escape = (url: string) => url.replaceAll('&', '&amp;');

/** Builds the page: head, navigation, then articles until the page is at least `bytes` long. */
export function buildPage(bytes: number): Page {
  const urls: string[] = [];
  const link = (url: string): string => {
    urls.push(new URL(url, BASE_URL).href);
    return escape(url);
  };
  const parts: string[] = [
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>World news</title>\n',
    `<link rel="stylesheet" href="${link('/static/site.css?v=42')}">\n`,
    `<link rel="icon" href="${link('/favicon.ico')}">\n`,
    `<script src="${link('https://cdn.example.net/js/app.min.js')}" defer></script>\n`,
    '</head>\n<body>\n<header class="site">\n<nav><ul>\n',
  ];
  for (const section of ['world', 'politics', 'business', 'science', 'sport', 'culture']) {
    parts.push(`<li><a href="${link(`/${section}/`)}" class="nav">${section}</a></li>\n`);
  }
  parts.push('</ul></nav>\n</header>\n<main id="content">\n');
  let size = parts.reduce((sum, part) => sum + Buffer.byteLength(part), 0);
  for (let i = 0; size < bytes; i++) {
    const slug = words(i, 5).replaceAll(' ', '-');
    const author = Math.floor(pick(i) * 200);
    const tags = [words(i + 1, 1), words(i + 2, 1)];
    const article =
      `<article class="card" id="a${i}" data-id="${i}">\n` +
      `<h2 class="title"><a href="${link(`${i}/${encodeURIComponent(slug)}.html`)}">${words(i, 8)}</a></h2>\n` +
      `<p class="meta">By <a href="${link(`/authors/${author}`)}" rel="author">Author ${author}</a> · ` +
      `<time datetime="2024-05-${String((i % 28) + 1).padStart(2, '0')}">${(i % 28) + 1} May</time></p>\n` +
      `<img src="${link(`https://img.example.net/${i % 997}/${i}.jpg`)}" alt="${words(i + 3, 4)}" width="320" height="180" loading="lazy">\n` +
      `<p>${words(i + 4, 24)} <a href="${link(`https://archive.example.org/search?q=${i}&page=${i % 9}`)}" rel="nofollow">${words(i + 5, 3)}</a> ${words(i + 6, 30)}.</p>\n` +
      `<ul class="tags">${tags.map((tag) => `<li><a href="${link(`/tags/${encodeURIComponent(tag)}`)}">${tag}</a></li>`).join('')}</ul>\n` +
      '</article>\n';
    parts.push(article);
    size += Buffer.byteLength(article);
  }
  parts.push(
    `</main>\n<footer><p>© Example News · <a href="${link('/about')}">About</a> · <a href="${link('/contact#form')}">Contact</a></p></footer>\n</body>\n</html>\n`,
  );
  return { html: parts.join(''), baseUrl: BASE_URL, urls };
}
