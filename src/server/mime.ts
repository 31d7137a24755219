/**
 * @module wirekit/server/mime
 * The Content-Type of a file from its extension: a small built-in table of the types a web
 * server meets (pages, scripts, styles, images, fonts, media, archives). No dependency, no
 * look-up of the file's contents.
 */

/** Text types are sent as UTF-8, so a browser never has to guess the charset. */
const UTF8 = '; charset=utf-8';

const text = (type: string): string => type + UTF8;

/**
 * Extension (lower case, without the dot) to Content-Type. Text types already carry
 * `; charset=utf-8`. Frozen: pass `contentType` to `sendFile` for anything not listed.
 */
export const mimeTypes: Readonly<Record<string, string>> = Object.freeze({
  // Documents and code
  html: text('text/html'),
  htm: text('text/html'),
  xhtml: text('application/xhtml+xml'),
  css: text('text/css'),
  js: text('text/javascript'),
  mjs: text('text/javascript'),
  cjs: text('text/javascript'),
  json: text('application/json'),
  map: text('application/json'),
  jsonld: text('application/ld+json'),
  webmanifest: text('application/manifest+json'),
  txt: text('text/plain'),
  text: text('text/plain'),
  md: text('text/markdown'),
  csv: text('text/csv'),
  tsv: text('text/tab-separated-values'),
  xml: text('application/xml'),
  rss: text('application/rss+xml'),
  atom: text('application/atom+xml'),
  yaml: text('application/yaml'),
  yml: text('application/yaml'),
  ics: text('text/calendar'),
  vtt: text('text/vtt'),
  svg: text('image/svg+xml'),
  wasm: 'application/wasm',
  pdf: 'application/pdf',
  // Images
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  // Fonts
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  eot: 'application/vnd.ms-fontobject',
  // Audio and video
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  wav: 'audio/wav',
  flac: 'audio/flac',
  oga: 'audio/ogg',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  webm: 'video/webm',
  ogv: 'video/ogg',
  mov: 'video/quicktime',
  // Archives and binaries
  zip: 'application/zip',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  bin: 'application/octet-stream',
});

/** What a file whose extension is not in {@link mimeTypes} is sent as. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/**
 * The Content-Type for a file name or path, from its extension (case-insensitive), or
 * `application/octet-stream` when the extension is unknown or missing. A leading dot does not
 * start an extension: `.env` has none, as with `path.extname`.
 *
 * @example
 * contentTypeFor('public/app.js');   // 'text/javascript; charset=utf-8'
 * contentTypeFor('logo.PNG');        // 'image/png'
 * contentTypeFor('README');          // 'application/octet-stream'
 */
export function contentTypeFor(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dot = path.lastIndexOf('.');
  // A dot that opens the base name (".env") or sits in a directory name is no extension.
  if (dot <= slash + 1) return DEFAULT_CONTENT_TYPE;
  const extension = path.slice(dot + 1).toLowerCase();
  // hasOwn, so "x.constructor" does not find Object.prototype's members.
  return Object.hasOwn(mimeTypes, extension) ? (mimeTypes[extension] as string) : DEFAULT_CONTENT_TYPE;
}
