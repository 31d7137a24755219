/**
 * @module wirekit/http/media-type
 * Content-Type values: the media type and its parameters. Shared by the server's body readers
 * and the client's response decoding.
 */

/** A media type (lower-cased `type/subtype`) and its parameters (lower-cased names). */
export interface MediaType {
  type: string;
  params: Map<string, string>;
}

const PARAM = /;[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^;]*)/g;

/**
 * Parses a Content-Type value, or returns `undefined` when there is none. Parameters that do
 * not parse are dropped rather than failing, as browsers do; of a repeated parameter the first
 * counts.
 *
 * @example
 * parseMediaType('text/plain; charset="UTF-8"'); // { type: 'text/plain', params: Map { 'charset' => 'UTF-8' } }
 */
export function parseMediaType(header: string | undefined): MediaType | undefined {
  if (header === undefined) return undefined;
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (type === '') return undefined;
  const params = new Map<string, string>();
  if (semi !== -1) {
    PARAM.lastIndex = semi;
    for (let match = PARAM.exec(header); match !== null; match = PARAM.exec(header)) {
      const raw = match[2]!.trim();
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      const name = match[1]!.toLowerCase();
      if (!params.has(name)) params.set(name, value);
    }
  }
  return { type, params };
}

/** Whether `type` (lower-cased, as {@link parseMediaType} gives it) is JSON: `application/json` or `application/*+json`. */
export function isJsonType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
