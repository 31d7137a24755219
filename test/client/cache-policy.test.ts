/** The RFC 9111 rules of cache-policy.ts as pure functions, with a fast-check property for the parser. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type CacheEntry,
  currentAge,
  freshnessLifetime,
  HEURISTIC_MAX_MS,
  isStorable,
  parseCacheControl,
  requestDirectives,
  updatedHeaders,
  varyMatches,
  varyNames,
} from '../../src/client/cache-policy.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');

function entry(headers: CacheEntry['headers'], status = 200): CacheEntry {
  return {
    url: 'http://a/',
    status,
    statusText: '',
    headers,
    vary: {},
    requestTime: NOW - 1_000,
    responseTime: NOW,
    body: Buffer.alloc(0),
  };
}

describe('cache policy', () => {
  test('parseCacheControl: bare and valued directives, quoted values, case, first one wins', () => {
    const cc = parseCacheControl('Max-Age=60, no-cache="set-cookie, x", private, max-age=5, s-maxage="7"');
    assert.equal(cc.get('max-age'), '60');
    assert.equal(cc.get('no-cache'), 'set-cookie, x');
    assert.equal(cc.get('private'), true);
    assert.equal(cc.get('s-maxage'), '7');
    assert.equal(parseCacheControl(undefined).size, 0);
  });

  test('parseCacheControl never throws and requestDirectives honours Pragma only without Cache-Control', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        parseCacheControl(value);
      }),
    );
    assert.equal(requestDirectives({ pragma: 'no-cache' }).has('no-cache'), true);
    assert.equal(
      requestDirectives({ pragma: 'no-cache', 'cache-control': 'max-age=5' }).has('no-cache'),
      false,
    );
  });

  test('freshness: max-age over Expires; Expires − Date; heuristic 10% of Last-Modified age, capped at a day', () => {
    const date = new Date(NOW).toUTCString();
    const plusHour = new Date(NOW + 3_600_000).toUTCString();
    assert.equal(
      freshnessLifetime(entry({ date, expires: plusHour }), parseCacheControl('max-age=5')),
      5_000,
    );
    assert.equal(freshnessLifetime(entry({ date, expires: plusHour }), new Map()), 3_600_000);
    assert.equal(freshnessLifetime(entry({ date, expires: '0' }), new Map()), 0);
    const tenHours = new Date(NOW - 36_000_000).toUTCString();
    assert.equal(freshnessLifetime(entry({ date, 'last-modified': tenHours }), new Map()), 3_600_000);
    const longAgo = new Date(NOW - 365 * 86_400_000).toUTCString();
    assert.equal(freshnessLifetime(entry({ date, 'last-modified': longAgo }), new Map()), HEURISTIC_MAX_MS);
    assert.equal(freshnessLifetime(entry({ date, 'last-modified': tenHours }, 302), new Map()), 0);
    assert.equal(freshnessLifetime(entry({ date }), parseCacheControl('s-maxage=60')), 0);
  });

  test('currentAge: corrected initial age (Age header plus response delay) plus resident time', () => {
    const e = entry({ date: new Date(NOW).toUTCString(), age: '30' });
    assert.equal(currentAge(e, NOW), 31_000);
    assert.equal(currentAge(e, NOW + 10_000), 41_000);
    const skewed = entry({ date: new Date(NOW - 120_000).toUTCString() });
    assert.equal(currentAge(skewed, NOW), 120_000);
  });

  test('isStorable: no-store, Vary *, statuses, Authorization needs public, s-maxage or must-revalidate', () => {
    const none = new Map<string, string | true>();
    const cc = (v: string) => parseCacheControl(v);
    assert.equal(isStorable(200, {}, none, {}, none), true);
    assert.equal(isStorable(201, {}, none, {}, cc('max-age=60')), false);
    assert.equal(isStorable(302, {}, none, {}, none), false);
    assert.equal(isStorable(302, {}, none, {}, cc('max-age=60')), true);
    assert.equal(isStorable(200, {}, none, {}, cc('no-store')), false);
    assert.equal(isStorable(200, {}, cc('no-store'), {}, none), false);
    assert.equal(isStorable(200, {}, none, { vary: 'accept, *' }, none), false);
    const auth = { authorization: 'Bearer x' };
    assert.equal(isStorable(200, auth, none, {}, cc('max-age=60')), false);
    assert.equal(isStorable(200, auth, none, {}, cc('private, max-age=60')), false);
    for (const ok of ['public', 's-maxage=60', 'must-revalidate, max-age=60']) {
      assert.equal(isStorable(200, auth, none, {}, cc(ok)), true, ok);
    }
  });

  test('Vary: names lowercased, * alone; matching normalizes whitespace around commas', () => {
    assert.deepEqual(varyNames({ vary: 'Accept-Encoding, Accept-Language' }), [
      'accept-encoding',
      'accept-language',
    ]);
    assert.deepEqual(varyNames({ vary: ['a', '*'] }), ['*']);
    const e = { ...entry({}), vary: { 'accept-encoding': 'gzip, br', 'x-absent': null } };
    assert.equal(varyMatches(e, { 'accept-encoding': 'gzip,br' }), true);
    assert.equal(varyMatches(e, { 'accept-encoding': 'gzip' }), false);
    assert.equal(varyMatches(e, { 'accept-encoding': 'gzip, br', 'x-absent': '1' }), false);
  });

  test('a 304 updates the stored headers, but never Set-Cookie or the fields of the stored body', () => {
    const stored = {
      'content-length': '10',
      'content-encoding': 'gzip',
      etag: '"1"',
      'cache-control': 'max-age=1',
    };
    const fresh = {
      'content-length': '0',
      'cache-control': 'max-age=60',
      'set-cookie': ['a=1'],
      connection: 'keep-alive',
      'x-new': 'y',
    };
    assert.deepEqual(updatedHeaders(stored, fresh), {
      'content-length': '10',
      'content-encoding': 'gzip',
      etag: '"1"',
      'cache-control': 'max-age=60',
      'x-new': 'y',
    });
  });
});
