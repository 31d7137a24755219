/**
 * cheerio: `load` (parse5, its default for documents) and one selector for the usual link tags,
 * each URL resolved with URL.
 */
import { load } from 'cheerio';
import { runParses } from './parses.js';

// #region doc
const URL_ATTRIBUTE = new Map([
  ['a', 'href'],
  ['area', 'href'],
  ['link', 'href'],
  ['img', 'src'],
  ['script', 'src'],
  ['iframe', 'src'],
  ['source', 'src'],
  ['form', 'action'],
]);
const SELECTOR =
  'a[href], area[href], link[href], img[src], script[src], iframe[src], source[src], form[action]';

function extract(html: string, baseUrl: string): { url: string; tag: string }[] {
  const $ = load(html);
  const links: { url: string; tag: string }[] = [];
  $(SELECTOR).each((_, element) => {
    const value = $(element).attr(URL_ATTRIBUTE.get(element.tagName) as string);
    if (value === undefined) return;
    try {
      links.push({ url: new URL(value, baseUrl).href, tag: element.tagName });
    } catch {
      // Not a URL: skipped.
    }
  });
  return links;
}
// #endregion

await runParses(extract);
