import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJsonType, parseMediaType } from '../../src/http/media-type.js';

describe('parseMediaType', () => {
  test('parseMediaType lower-cases the type and reads quoted parameters', () => {
    const media = parseMediaType('Text/Plain ; Charset="UTF-8"; q="a\\"b;c" ; x=1');
    assert.equal(media?.type, 'text/plain');
    assert.equal(media?.params.get('charset'), 'UTF-8');
    assert.equal(media?.params.get('q'), 'a"b;c');
    assert.equal(media?.params.get('x'), '1');
    assert.equal(parseMediaType(undefined), undefined);
    assert.equal(parseMediaType('  '), undefined);
  });

  test('isJsonType: application/json and the +json suffix, nothing else', () => {
    assert.equal(isJsonType('application/json'), true);
    assert.equal(isJsonType('application/problem+json'), true);
    assert.equal(isJsonType('text/json'), false);
    assert.equal(isJsonType('application/jsonp'), false);
  });
});
