import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Response } from '../../src/client/response.js';
import { dispositionFilename, downloadName, safeName } from '../../src/cli/commands/request-download.js';
import { BINARY_NOTICE, bodyText, isJsonType, statusLine } from '../../src/cli/commands/request-output.js';
import { formatBytes, renderProgress } from '../../src/cli/progress.js';

const tty = true;
const plain = { format: false, color: false };

describe('request output', () => {
  test('a binary body is replaced by the notice on a terminal, and passed through on a pipe', () => {
    const binary = Buffer.from([0x89, 0x50, 0x00, 0x01]);
    assert.equal(bodyText(binary, 'image/png', plain, tty).toString(), BINARY_NOTICE);
    assert.ok(bodyText(binary, 'image/png', plain, false).equals(binary));
  });

  test('JSON is indented when formatting; text gets a final newline on a terminal only', () => {
    const json = Buffer.from('{"a":[1]}');
    assert.equal(
      bodyText(json, 'application/json', { format: true, color: false }, tty).toString(),
      '{\n    "a": [\n        1\n    ]\n}\n',
    );
    assert.equal(bodyText(json, 'application/json', plain, false).toString(), '{"a":[1]}');
    assert.equal(bodyText(Buffer.from('hi'), 'text/plain', plain, tty).toString(), 'hi\n');
    assert.equal(
      bodyText(Buffer.from('{bad'), 'application/json', { format: true, color: false }, tty).toString(),
      '{bad\n',
    );
  });

  test('isJsonType knows +json types and not JSON-looking others', () => {
    assert.ok(isJsonType('application/json; charset=utf-8'));
    assert.ok(isJsonType('application/problem+json'));
    assert.ok(!isJsonType('text/html'));
    assert.ok(!isJsonType('application/jsonp'));
  });

  test('the status line is painted by class only when asked', () => {
    assert.equal(statusLine(404, 'Not Found', false), 'HTTP/1.1 404 Not Found\n');
    assert.equal(statusLine(200, '', true), '\u001b[32mHTTP/1.1 200 OK\u001b[39m\n');
  });
});

describe('download names', () => {
  const res = (url: string, headers: Record<string, string>) =>
    ({ url, header: (name: string) => headers[name] }) as unknown as Response;

  test('Content-Disposition: filename*, quoted and token forms', () => {
    assert.equal(dispositionFilename(`attachment; filename*=UTF-8''na%C3%AFve%20file.txt`), 'naïve file.txt');
    assert.equal(dispositionFilename('attachment; filename="a \\"b\\".csv"'), 'a "b".csv');
    assert.equal(dispositionFilename('attachment; filename=plain.txt'), 'plain.txt');
    assert.equal(dispositionFilename('inline'), undefined);
  });

  test('a name is never a path, hidden, or made of control characters', () => {
    assert.equal(safeName('../../etc/passwd'), 'passwd');
    assert.equal(safeName('..\\..\\win.ini'), 'win.ini');
    assert.equal(safeName('.bashrc'), 'bashrc');
    assert.equal(safeName('a\u0000b\n.txt'), 'ab.txt');
  });

  test('from the URL, with an extension from Content-Type, index for /, -1 when taken', () => {
    const none = () => false;
    assert.equal(downloadName(res('http://h/a/report', { 'content-type': 'text/csv' }), none), 'report.csv');
    assert.equal(downloadName(res('http://h/', { 'content-type': 'text/html' }), none), 'index.html');
    assert.equal(downloadName(res('http://h/x.bin', {}), none), 'x.bin');
    assert.equal(
      downloadName(res('http://h/x', { 'content-disposition': 'attachment; filename="/tmp/evil"' }), none),
      'evil',
    );
    const taken = new Set(['x.bin', 'x.bin-1']);
    assert.equal(
      downloadName(res('http://h/x.bin', {}), (n) => taken.has(n)),
      'x.bin-2',
    );
  });
});

describe('progress', () => {
  test('bytes in powers of 1000, a bar with percent and rate, or no bar without a total', () => {
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1_234_567), '1.2 MB');
    const line = renderProgress({ transferred: 500_000, total: 1_000_000, percent: 50 }, 1000, 80);
    assert.match(line, /^ 50% \[=+>\s+\] 500\.0 kB \/ 1\.0 MB {2}500\.0 kB\/s$/);
    assert.ok(line.length <= 80);
    assert.equal(
      renderProgress({ transferred: 2000, total: undefined, percent: undefined }, 1000),
      '2.0 kB  2.0 kB/s',
    );
  });
});
