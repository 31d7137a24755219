/**
 * @module wirekit/html/srcset
 * The URLs of a `srcset` attribute, split the way the HTML standard's "parse a srcset
 * attribute" algorithm splits it.
 */

const COMMA = 0x2c;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;

/** ASCII whitespace as HTML defines it: tab, line feed, form feed, carriage return, space. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/**
 * The candidate URLs of a `srcset` value, in order, as written (not resolved). A URL runs to the
 * next whitespace; commas inside it stay (`a,b.png 2x` is one URL) except trailing ones, which
 * end the candidate. Descriptors (`2x`, `300w`, and commas inside parentheses) are skipped, not
 * validated: a candidate with a descriptor a browser would reject is still reported.
 *
 * @example
 * parseSrcset('a.png 1x, b.png 2x');              // ['a.png', 'b.png']
 * parseSrcset('data:image/png;base64,iVBO 1x');    // ['data:image/png;base64,iVBO']
 */
export function parseSrcset(value: string): string[] {
  const urls: string[] = [];
  const n = value.length;
  let i = 0;
  while (true) {
    // Splitting loop: skip whitespace and commas between candidates.
    while (i < n && (isSpace(value.charCodeAt(i)) || value.charCodeAt(i) === COMMA)) i++;
    if (i >= n) return urls;
    const start = i;
    while (i < n && !isSpace(value.charCodeAt(i))) i++;
    let end = i;
    if (value.charCodeAt(end - 1) === COMMA) {
      // A URL that ends in commas has no descriptors: the commas end the candidate.
      while (end > start && value.charCodeAt(end - 1) === COMMA) end--;
      urls.push(value.slice(start, end));
      continue;
    }
    urls.push(value.slice(start, end));
    i = skipDescriptors(value, i);
  }
}

/** The descriptor tokenizer, keeping only its position: returns where the next candidate starts. */
function skipDescriptors(value: string, i: number): number {
  const n = value.length;
  let inParens = false;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (inParens) {
      if (c === CLOSE_PAREN) inParens = false;
    } else if (c === COMMA) {
      return i + 1;
    } else if (c === OPEN_PAREN) {
      inParens = true;
    }
  }
  return n;
}
