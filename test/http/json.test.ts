import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { safeJsonParse } from '../../src/http/json.js';

/** A merge as naive as the ones prototype pollution exploits. */
function naiveMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const key in source) {
    const value = source[key];
    const into = target[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      (typeof into === 'object' || typeof into === 'function') &&
      into !== null
    ) {
      naiveMerge(into as Record<string, unknown>, value as Record<string, unknown>);
    } else if (value !== null && typeof value === 'object') {
      target[key] = {};
      naiveMerge(target[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else {
      target[key] = value;
    }
  }
}

/** Writes `word` with some characters as `\uXXXX` escapes (upper or lower hex), as `mask` says. */
function escapeSome(word: string, mask: number, upper: boolean): string {
  return Array.from(word, (char, i) => {
    if (((mask >> i) & 1) === 0) return char;
    const hex = char.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${upper ? hex.toUpperCase() : hex}`;
  }).join('');
}

/** The first own `__proto__` key, or `constructor` key holding a `prototype`, in `value`. */
function dangerousKey(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Object.hasOwn(value, '__proto__')) return '__proto__';
  const ctor: unknown = Object.hasOwn(value, 'constructor')
    ? (value as { constructor: unknown }).constructor
    : undefined;
  if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) return 'constructor';
  for (const child of Object.values(value)) {
    const found = dangerousKey(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

describe('safeJsonParse', () => {
  test('the naive merge used below does pollute with plain JSON.parse (the attack is real)', () => {
    try {
      naiveMerge({}, JSON.parse('{"__proto__":{"polluted":"yes"}}'));
      assert.equal(({} as { polluted?: string }).polluted, 'yes');
    } finally {
      delete (Object.prototype as { polluted?: string }).polluted;
    }
    try {
      naiveMerge({}, JSON.parse('{"constructor":{"prototype":{"polluted":"yes"}}}'));
      assert.equal(({} as { polluted?: string }).polluted, 'yes');
    } finally {
      delete (Object.prototype as { polluted?: string }).polluted;
    }
  });

  test('parses like JSON.parse when no key is __proto__ or constructor', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        fc.pre(!/"(?:__proto__|constructor)":/.test(text));
        assert.deepEqual(safeJsonParse(text), JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  test('no __proto__ or constructor.prototype key, however escaped or deep, pollutes through a merge', () => {
    const attack = fc
      .tuple(fc.integer({ min: 0, max: 511 }), fc.integer({ min: 0, max: 2047 }), fc.boolean(), fc.boolean())
      .map(([protoMask, ctorMask, upper, viaCtor]) =>
        viaCtor
          ? `{"${escapeSome('constructor', ctorMask, upper)}" : {"prototype": {"polluted": 1}}}`
          : `{"${escapeSome('__proto__', protoMask, upper)}"\n:{"polluted": 1}}`,
      );
    // The attack sits at a random depth inside random JSON, in objects and arrays.
    const document = fc
      .tuple(fc.array(fc.constantFrom('obj', 'arr'), { maxLength: 6 }), attack, fc.jsonValue())
      .map(([path, payload, filler]) =>
        path.reduceRight(
          (inner, kind) => (kind === 'obj' ? `{"x":${JSON.stringify(filler)},"k":${inner}}` : `[${inner},1]`),
          payload,
        ),
      );
    fc.assert(
      fc.property(document, (text) => {
        const parsed = safeJsonParse(text);
        try {
          naiveMerge({}, { root: parsed } as Record<string, unknown>);
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
            naiveMerge({}, parsed as Record<string, unknown>);
          }
          assert.equal(({} as { polluted?: unknown }).polluted, undefined);
          assert.equal(dangerousKey(parsed), undefined);
        } finally {
          delete (Object.prototype as { polluted?: unknown }).polluted;
        }
      }),
      { numRuns: 500 },
    );
  });

  test('keeps a constructor key whose value has no prototype, and __proto__ as a value', () => {
    assert.deepEqual(safeJsonParse('{"constructor":{"name":"x"},"v":"__proto__"}'), {
      constructor: { name: 'x' },
      v: '__proto__',
    });
  });

  test('a document nested 100 000 deep with a __proto__ key does not overflow the stack', () => {
    const depth = 100_000;
    const text = '['.repeat(depth) + '{"__proto__":{"polluted":1}}' + ']'.repeat(depth);
    let node = safeJsonParse(text);
    for (let i = 0; i < depth; i++) node = (node as unknown[])[0];
    assert.deepEqual(Object.keys(node as object), []);
  });

  test('invalid JSON throws SyntaxError', () => {
    assert.throws(() => safeJsonParse('{'), SyntaxError);
    assert.throws(() => safeJsonParse(''), SyntaxError);
  });
});
