/** wirekit: extractLinks from the built package, with its defaults. */
import { extractLinks, type Link } from 'wirekit/html';
import { runParses } from './parses.js';

// #region doc
function extract(html: string, baseUrl: string): Link[] {
  return extractLinks(html, baseUrl);
}
// #endregion

await runParses(extract);
