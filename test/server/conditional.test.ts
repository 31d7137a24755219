import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { acceptedCodings, coalesce, parseRange, tagListMatches } from '../../src/server/conditional.js';

describe('conditional: Range, entity tags, Accept-Encoding', () => {
  test('parseRange clamps, keeps the order asked, and tells unsatisfiable from invalid', () => {
    assert.deepEqual(parseRange('bytes=0-0', 10), [{ start: 0, end: 0 }]);
    assert.deepEqual(parseRange('bytes=5-,0-1', 10), [
      { start: 5, end: 9 },
      { start: 0, end: 1 },
    ]);
    assert.deepEqual(parseRange('BYTES = 2-3 , ', 10), [{ start: 2, end: 3 }]);
    assert.deepEqual(parseRange('bytes=8-20,30-40', 10), [{ start: 8, end: 9 }]);
    assert.equal(parseRange('bytes=30-40', 10), 'unsatisfiable');
    assert.equal(parseRange('bytes=-5', 0), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,x', 10), undefined);
    assert.equal(parseRange('bytes=,', 10), undefined);
    assert.equal(parseRange(`bytes=${'9'.repeat(400)}-`, 10), 'unsatisfiable');
  });

  test('coalesce sorts and merges overlapping and adjacent ranges, never sending a byte twice', () => {
    assert.deepEqual(
      coalesce([
        { start: 10, end: 19 },
        { start: 0, end: 4 },
        { start: 5, end: 6 },
        { start: 15, end: 30 },
      ]),
      [
        { start: 0, end: 6 },
        { start: 10, end: 30 },
      ],
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.nat(200), fc.nat(50)).map(([start, n]) => ({ start, end: start + n })),
          { minLength: 1, maxLength: 20 },
        ),
        (ranges) => {
          const merged = coalesce(ranges);
          const covered = (list: typeof ranges) => {
            const bytes = new Set<number>();
            for (const r of list) for (let i = r.start; i <= r.end; i++) bytes.add(i);
            return [...bytes].sort((x, y) => x - y);
          };
          assert.deepEqual(covered(merged), covered(ranges));
          for (let i = 1; i < merged.length; i++) assert.ok(merged[i]!.start > merged[i - 1]!.end + 1);
        },
      ),
    );
  });

  test('tagListMatches: weak comparison ignores W/, strong does not; * matches; commas inside tags', () => {
    assert.equal(tagListMatches('"a", "b"', '"b"', false), true);
    assert.equal(tagListMatches('W/"b"', '"b"', true), true);
    assert.equal(tagListMatches('W/"b"', '"b"', false), false);
    assert.equal(tagListMatches(' * ', '"x"', false), true);
    assert.equal(tagListMatches('"a,b"', '"a,b"', false), true);
    assert.equal(tagListMatches('"a', '"a"', true), false);
  });

  test('acceptedCodings: best first, brotli first at equal quality, q=0 and * honoured', () => {
    assert.deepEqual(acceptedCodings(undefined), []);
    assert.deepEqual(acceptedCodings('gzip, deflate, br'), ['br', 'gzip']);
    assert.deepEqual(acceptedCodings('gzip;q=1, br;q=0.5'), ['gzip', 'br']);
    assert.deepEqual(acceptedCodings('br;q=0, gzip'), ['gzip']);
    assert.deepEqual(acceptedCodings('*'), ['br', 'gzip']);
    assert.deepEqual(acceptedCodings('*;q=0, gzip'), ['gzip']);
    assert.deepEqual(acceptedCodings('identity'), []);
  });
});
