import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as errors from '../src/errors.js';
import * as serverErrors from '../src/server/errors.js';
import { root } from './helpers.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const codesInSource = new Map<string, string>();
for (const file of sources(join(root, 'src'))) {
  for (const match of readFileSync(file, 'utf8').matchAll(
    /readonly code(?:: string)? = '(WK_ERR_[A-Z_]+)'/g,
  )) {
    assert.ok(!codesInSource.has(match[1]!), `${match[1]} is defined twice`);
    codesInSource.set(match[1]!, file);
  }
}
const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
const documented = new Set(
  Array.from(doc.matchAll(/^\| `(WK_ERR_[A-Z_]+)` \| `(\w+)`[^|]*\|/gm), (m) => m[1]!),
);

test('every WK_ERR_* code defined in src/ has a row in docs/errors.md', () => {
  assert.ok(codesInSource.size >= 10);
  for (const code of codesInSource.keys())
    assert.ok(documented.has(code), `${code} is not in docs/errors.md`);
});

test('docs/errors.md documents no code that src/ does not define', () => {
  for (const code of documented) assert.ok(codesInSource.has(code), `${code} is documented but not defined`);
});

test('each documented class is exported and names itself', () => {
  for (const [, code, name] of doc.matchAll(/^\| `(WK_ERR_[A-Z_]+)` \| `(\w+)`[^|]*\|/gm)) {
    const Class = ({ ...errors, ...serverErrors } as Record<string, unknown>)[name!];
    assert.equal(
      typeof Class,
      'function',
      `${name} is not exported from src/errors.ts or src/server/errors.ts`,
    );
    const source = readFileSync(codesInSource.get(code!)!, 'utf8');
    assert.match(
      source,
      new RegExp(`class ${name} [^{]*\\{\\s*(override )?readonly code(: string)? = '${code}'`),
    );
    assert.match(source, new RegExp(`class ${name} [^{]*\\{[^}]*name = '${name}'`));
  }
});

test('ConnectError carries the system code and names host and port', () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED ::1:80'), { code: 'ECONNREFUSED' });
  const err = new errors.ConnectError('::1', 80, cause);
  assert.ok(err instanceof errors.WirekitError);
  assert.equal(err.code, 'WK_ERR_CONNECT');
  assert.equal(err.systemCode, 'ECONNREFUSED');
  assert.equal(err.cause, cause);
  assert.equal(err.message, 'connect to [::1]:80 failed: ECONNREFUSED');
});

test('ConnectError takes the system code of the first attempt of a happy-eyeballs AggregateError', () => {
  const first = Object.assign(new Error('a'), { code: 'ECONNREFUSED' });
  const err = new errors.ConnectError('localhost', 1, new AggregateError([first, new Error('b')]));
  assert.equal(err.systemCode, 'ECONNREFUSED');
});

test('IncompleteReadError keeps the partial bytes and what was expected', () => {
  const err = new errors.IncompleteReadError(Buffer.from('abc'), 10);
  assert.deepEqual([err.partial.toString(), err.expected, err.code], ['abc', 10, 'WK_ERR_INCOMPLETE_READ']);
  assert.match(err.message, /3 of 10/);
});

test('TimeoutError says its phase', () => {
  const err = new errors.TimeoutError('tls', 500, 'connect to a:1');
  assert.equal(err.phase, 'tls');
  assert.equal(err.message, 'connect to a:1 timed out after 500 ms (during tls)');
});
