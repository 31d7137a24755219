import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { UsageError } from '../../src/cli/args.js';
import { buildRequest, normalizeUrl, parseItem } from '../../src/cli/items.js';

describe('parseItem (httpie request items)', () => {
  test('each separator makes its kind; the first separator wins, the longest at its place', () => {
    assert.deepEqual(parseItem('X-Api-Key:abc'), { kind: 'header', name: 'X-Api-Key', value: 'abc' });
    assert.deepEqual(parseItem('Authorization:Bearer a=b:c'), {
      kind: 'header',
      name: 'Authorization',
      value: 'Bearer a=b:c',
    });
    assert.deepEqual(parseItem('User-Agent:'), { kind: 'header', name: 'User-Agent', value: null });
    assert.deepEqual(parseItem('X-Empty;'), { kind: 'header', name: 'X-Empty', value: '' });
    assert.deepEqual(parseItem('page==2'), { kind: 'query', name: 'page', value: '2' });
    assert.deepEqual(parseItem('q==a=b'), { kind: 'query', name: 'q', value: 'a=b' });
    assert.deepEqual(parseItem('name=ann'), { kind: 'data', name: 'name', value: 'ann' });
    assert.deepEqual(parseItem('email=a@b.example'), { kind: 'data', name: 'email', value: 'a@b.example' });
    assert.deepEqual(parseItem('url=http://x:1/'), { kind: 'data', name: 'url', value: 'http://x:1/' });
    assert.deepEqual(parseItem('age:=30'), { kind: 'json', name: 'age', value: '30' });
    assert.deepEqual(parseItem('photo@./a.png'), { kind: 'file', name: 'photo', path: './a.png' });
    assert.deepEqual(parseItem('photo@a.bin;type=image/png'), {
      kind: 'file',
      name: 'photo',
      path: 'a.bin',
      type: 'image/png',
    });
    assert.deepEqual(parseItem('bio=@bio.txt'), {
      kind: 'data',
      name: 'bio',
      value: 'bio.txt',
      fromFile: true,
    });
    assert.deepEqual(parseItem('cfg:=@c.json'), {
      kind: 'json',
      name: 'cfg',
      value: 'c.json',
      fromFile: true,
    });
    assert.deepEqual(parseItem('q==@q.txt'), { kind: 'query', name: 'q', value: 'q.txt', fromFile: true });
    assert.deepEqual(parseItem('empty='), { kind: 'data', name: 'empty', value: '' });
  });

  test('a backslash makes a separator literal, in the name and in the value', () => {
    assert.deepEqual(parseItem('a\\=b=c'), { kind: 'data', name: 'a\\=b', value: 'c' });
    // An escaped colon is part of the name, and no header name has one.
    assert.throws(() => parseItem('X-A\\:B:c'), UsageError);
    assert.deepEqual(parseItem('path==C:\\dir'), { kind: 'query', name: 'path', value: 'C:\\dir' });
    assert.deepEqual(parseItem('v=a\\@b'), { kind: 'data', name: 'v', value: 'a@b' });
  });

  test('what is not an item is a UsageError naming the forms', () => {
    for (const bad of ['plain', '=value', ':value', 'Bad Header:x', '']) {
      assert.throws(() => parseItem(bad), UsageError, bad);
    }
  });

  test('property: a data item round-trips any name and value once its separators are escaped', () => {
    const escape = (s: string) => s.replace(/[\\:=@;[\]]/g, (c) => `\\${c}`);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (name, value) => {
        const item = parseItem(`${escape(name)}=${escape(value)}`);
        assert.equal(item.kind, 'data');
        assert.equal(item.kind === 'data' && item.value, value);
      }),
    );
  });
});

describe('normalizeUrl', () => {
  test('httpie shorthands: :PORT/path is localhost, a bare host gets http://', () => {
    assert.equal(normalizeUrl(':3000/api'), 'http://localhost:3000/api');
    assert.equal(normalizeUrl(':/x'), 'http://localhost/x');
    assert.equal(normalizeUrl(':'), 'http://localhost/');
    assert.equal(normalizeUrl('example.org/a?b=1'), 'http://example.org/a?b=1');
    assert.equal(normalizeUrl('127.0.0.1:8080'), 'http://127.0.0.1:8080/');
    assert.equal(normalizeUrl('https://example.org'), 'https://example.org/');
    assert.equal(normalizeUrl('example.org', 'https'), 'https://example.org/');
    assert.throws(() => normalizeUrl('ftp://example.org'), UsageError);
    assert.throws(() => normalizeUrl('http://[::1'), UsageError);
  });
});

describe('buildRequest', () => {
  test('data fields are a JSON object by default, nested as httpie nests them', async () => {
    const built = await buildRequest(
      [
        'name=ann',
        'age:=30',
        'admin:=true',
        'user[city]=Oslo',
        'tags[]=a',
        'tags[]=b',
        'list[1]=x',
        'a\\[b\\]=lit',
      ].map(parseItem),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(built.body)), {
      kind: 'json',
      value: {
        name: 'ann',
        age: 30,
        admin: true,
        user: { city: 'Oslo' },
        tags: ['a', 'b'],
        list: [null, 'x'],
        'a[b]': 'lit',
      },
    });
  });

  test('--form makes fields urlencoded; a file item makes multipart; headers and query pass through', async () => {
    const form = await buildRequest(['a=1', 'a=2', 'X-Y:z', 'q==1'].map(parseItem), { form: true });
    assert.deepEqual(form.body, {
      kind: 'form',
      fields: [
        ['a', '1'],
        ['a', '2'],
      ],
    });
    assert.deepEqual(form.headers, [['X-Y', 'z']]);
    assert.deepEqual(form.query, [['q', '1']]);
    const multi = await buildRequest(['a=1', 'f@/tmp/x.bin;type=text/plain'].map(parseItem));
    assert.deepEqual(multi.body, {
      kind: 'multipart',
      fields: [['a', '1']],
      files: [{ name: 'f', path: '/tmp/x.bin', type: 'text/plain' }],
    });
    assert.equal((await buildRequest([parseItem('X:1')])).body, undefined);
  });

  test('=@, :=@ and ==@ read files; a bad file, bad JSON or a bad nesting is a UsageError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wirekit-items-'));
    try {
      await writeFile(join(dir, 'bio.txt'), 'hello\n');
      await writeFile(join(dir, 'cfg.json'), '{"deep":[1,2]}');
      const built = await buildRequest(
        [`bio=@${dir}/bio.txt`, `cfg:=@${dir}/cfg.json`, `q==@${dir}/bio.txt`].map(parseItem),
      );
      assert.deepEqual(JSON.parse(JSON.stringify(built.body)), {
        kind: 'json',
        value: { bio: 'hello\n', cfg: { deep: [1, 2] } },
      });
      assert.deepEqual(built.query, [['q', 'hello\n']]);
      await assert.rejects(buildRequest([parseItem(`x=@${dir}/missing`)]), UsageError);
      await assert.rejects(buildRequest([parseItem('x:={nope')]), UsageError);
      await assert.rejects(buildRequest([parseItem('x:=1')], { form: true }), UsageError);
      await assert.rejects(buildRequest([parseItem('a[b=1')]), UsageError);
      await assert.rejects(buildRequest(['a=1', 'a[b]=2'].map(parseItem)), UsageError);
      await assert.rejects(buildRequest([parseItem('__proto__[x]=1')]), UsageError);
      await assert.rejects(buildRequest([parseItem('a[99999999]=1')]), UsageError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
