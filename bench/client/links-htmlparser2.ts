/**
 * Raw htmlparser2, the baseline: the streaming parser extractLinks runs on, with the handler a
 * developer writes for the same job: the URL attribute of the usual link tags, resolved with URL.
 */
import { Parser } from 'htmlparser2';
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

function extract(html: string, baseUrl: string): { url: string; tag: string }[] {
  const links: { url: string; tag: string }[] = [];
  const parser = new Parser({
    onopentag(name, attributes) {
      const attribute = URL_ATTRIBUTE.get(name);
      const value = attribute === undefined ? undefined : attributes[attribute];
      if (value === undefined) return;
      try {
        links.push({ url: new URL(value, baseUrl).href, tag: name });
      } catch {
        // Not a URL: skipped.
      }
    },
  });
  parser.end(html);
  return links;
}
// #endregion

await runParses(extract);
