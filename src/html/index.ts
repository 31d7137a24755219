/**
 * @module wirekit/html
 * Link extraction on htmlparser2: `extractLinks` for a whole page, `LinkExtractor` and
 * `extractLinksFromStream` for one that arrives in pieces.
 */
export {
  extractLinks,
  extractLinksFromStream,
  type Link,
  type LinkAttribute,
  LinkExtractor,
  type LinkOptions,
  type LinkTag,
  linkDefaults,
} from './links.js';
