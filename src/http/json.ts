/**
 * @module wirekit/http/json
 * JSON parsing that is safe to merge: `__proto__` and `constructor.prototype` keys removed.
 */

/** `"word"` followed by `:` (a key), where any character may be a `\uXXXX` escape. */
function keyPattern(word: string): string {
  const chars = Array.from(word, (char) => {
    const hex = char.charCodeAt(0).toString(16).padStart(4, '0');
    const escaped = hex.replace(/[a-f]/g, (digit) => `[${digit}${digit.toUpperCase()}]`);
    return `(?:${char}|\\\\u${escaped})`;
  });
  return chars.join('');
}

/** Spots a text that may hold a dangerous key, so that the common case skips the walk. */
const SUSPICIOUS = new RegExp(`"(?:${keyPattern('__proto__')}|${keyPattern('constructor')})"\\s*:`);

/**
 * Whether `text` may hold a dangerous key. A key can hide its name only behind `\u` escapes,
 * so a text without any is checked with substring searches, which skip ahead by the word's
 * length, rather than with the pattern, which stops at every quote.
 */
function suspicious(text: string): boolean {
  const mayHold = text.includes('\\u') || text.includes('__proto__') || text.includes('constructor');
  return mayHold && SUSPICIOUS.test(text);
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * `JSON.parse`, then every `__proto__` key and every `constructor` key whose value has a
 * `prototype` is removed, at any depth (what fastify's secure-json-parse does with
 * `protoAction: 'remove'` and `constructorAction: 'remove'`). `JSON.parse` alone does not
 * pollute, but its output does once merged or cloned key by key into another object. Removing
 * rather than rejecting keeps the rest of the document usable. Throws `SyntaxError` on invalid
 * JSON.
 *
 * @example
 * const value = safeJsonParse('{"a": 1, "__proto__": {"admin": true}}'); // { a: 1 }
 * Object.assign({}, value).admin; // undefined
 */
export function safeJsonParse(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || !suspicious(text)) return value;
  // Iterative: JSON.parse handles nesting deeper than the call stack, so this must too.
  const pending: object[] = [value];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!Array.isArray(node)) {
      const record = node as Record<string, unknown>;
      if (hasOwn(record, '__proto__')) delete record['__proto__'];
      const ctor = hasOwn(record, 'constructor') ? record['constructor'] : undefined;
      if (ctor !== null && typeof ctor === 'object' && hasOwn(ctor, 'prototype')) {
        delete record['constructor'];
      }
    }
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object') pending.push(child as object);
    }
  }
  return value;
}
