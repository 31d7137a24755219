import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { readBytes } from '../../src/server/body.js';
import { HttpError } from '../../src/server/errors.js';
import {
  multipartDefaults,
  readMultipart,
  type MultipartOptions,
  type Part,
} from '../../src/server/multipart.js';
import { sleep } from '../helpers.js';
import { send, serve, type TestServer, within } from './body-helpers.js';

const T = { timeout: 30_000 };
const MiB = 1024 * 1024;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wirekit-multipart-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface PartSpec {
  name?: string;
  filename?: string;
  type?: string;
  data?: string | Buffer;
  /** Replaces the whole header block of the part. */
  head?: string;
}

/** A multipart/form-data body by hand, so the tests can also build broken ones. */
function multipart(boundary: string, parts: PartSpec[], end = `--${boundary}--\r\n`): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    let head = part.head;
    if (head === undefined) {
      head = `Content-Disposition: form-data`;
      if (part.name !== undefined) head += `; name="${part.name}"`;
      if (part.filename !== undefined) head += `; filename="${part.filename}"`;
      head += '\r\n';
      if (part.type !== undefined) head += `Content-Type: ${part.type}\r\n`;
    }
    pieces.push(
      Buffer.from(`--${boundary}\r\n${head}\r\n`),
      Buffer.from(part.data ?? ''),
      Buffer.from('\r\n'),
    );
  }
  pieces.push(Buffer.from(end));
  return Buffer.concat(pieces);
}

const B = 'wirekit-boundary-42';
const formType = (boundary = B) => ({ 'content-type': `multipart/form-data; boundary=${boundary}` });

type Summary =
  | { kind: 'field'; name: string; value: string; mimeType: string }
  | { kind: 'file'; name: string; filename: string; mimeType: string; size: number; sha: string };

/** Reads every part (files through toTempFile) and always cleans up, as the app will. */
async function summarize(req: IncomingMessage, options: MultipartOptions): Promise<Summary[]> {
  const form = readMultipart(req, options);
  try {
    const parts: Summary[] = [];
    for await (const part of form) {
      if (part.kind === 'field') {
        parts.push({ kind: 'field', name: part.name, value: part.value, mimeType: part.mimeType });
      } else {
        const saved = await part.toTempFile();
        const data = await readFile(saved.path);
        assert.equal(data.length, saved.size);
        const { name, filename, mimeType } = part;
        parts.push({ kind: 'file', name, filename, mimeType, size: saved.size, sha: sha(data) });
      }
    }
    return parts;
  } finally {
    await form.cleanup();
  }
}

/** A server that summarizes each multipart request into `dir`, plus a check that it is empty. */
async function uploadServer(
  t: TestContext,
  options: MultipartOptions = {},
): Promise<{ server: TestServer; dir: string; assertClean: () => Promise<void> }> {
  const dir = await scratch(t);
  const server = await serve(t, (req) => summarize(req, { tmpDir: dir, ...options }));
  return {
    server,
    dir,
    assertClean: async () => assert.deepEqual(await readdir(dir), [], 'temp files left behind'),
  };
}

async function thrown(server: TestServer, status: number, pattern?: RegExp): Promise<HttpError> {
  const outcome = await server.outcome();
  assert.ok(outcome.error instanceof HttpError, `expected an HttpError, got ${String(outcome.error)}`);
  assert.equal(outcome.error.status, status, outcome.error.message);
  if (pattern) assert.match(outcome.error.message, pattern);
  return outcome.error;
}

describe('readMultipart options', () => {
  test('the defaults object has every key with its default', () => {
    assert.deepEqual(multipartDefaults, {
      limit: 64 * MiB,
      maxParts: 1000,
      maxFileSize: 10 * MiB,
      maxFieldSize: MiB,
      maxFields: 1000,
      maxFiles: 10,
      tmpDir: tmpdir(),
    });
  });

  test('nonsense options are a TypeError or RangeError', () => {
    const req = { headers: formType() } as IncomingMessage;
    assert.throws(() => readMultipart(req, { maxParts: -1 }), RangeError);
    assert.throws(() => readMultipart(req, { maxFileSize: 1.5 }), RangeError);
    assert.throws(() => readMultipart(req, { limit: '10' as unknown as number }), TypeError);
    assert.throws(() => readMultipart(req, { tmpDir: '' }), TypeError);
    assert.throws(() => readMultipart(req, 7 as unknown as MultipartOptions), TypeError);
  });
});

describe('readMultipart', () => {
  test('fields and files from fetch FormData arrive in order, byte for byte', T, async (t) => {
    const { server, assertClean } = await uploadServer(t);
    const big = randomBytes(3 * MiB);
    const form = new FormData();
    form.append('title', 'héllo ✓');
    form.append('doc', new Blob([big], { type: 'application/pdf' }), 'report.pdf');
    form.append('tags', 'a');
    form.append('tags', 'b');
    form.append('note', new Blob(['small']), 'note.txt');
    const res = await within(fetch(server.url, { method: 'POST', body: form }), 10_000, 'fetch');
    assert.equal(res.status, 200);
    const { value } = (await res.json()) as { value: Summary[] };
    assert.deepEqual(value, [
      { kind: 'field', name: 'title', value: 'héllo ✓', mimeType: 'text/plain' },
      {
        kind: 'file',
        name: 'doc',
        filename: 'report.pdf',
        mimeType: 'application/pdf',
        size: big.length,
        sha: sha(big),
      },
      { kind: 'field', name: 'tags', value: 'a', mimeType: 'text/plain' },
      { kind: 'field', name: 'tags', value: 'b', mimeType: 'text/plain' },
      {
        kind: 'file',
        name: 'note',
        filename: 'note.txt',
        mimeType: 'application/octet-stream',
        size: 5,
        sha: sha(Buffer.from('small')),
      },
    ]);
    await assertClean();
  });

  test('a file name loses its directories and keeps its UTF-8; filename* is read too', T, async (t) => {
    const { server } = await uploadServer(t);
    const body = multipart(B, [
      { name: 'a', filename: '../../etc/pässwd', data: 'x' },
      { name: 'b', filename: 'C:\\Users\\me\\photo.jpg', data: 'y' },
      { head: `Content-Disposition: form-data; name="c"; filename*=UTF-8''%E2%9C%93.txt\r\n`, data: 'z' },
      { name: 'd', type: 'application/octet-stream', data: 'no name given' },
    ]);
    const reply = await send(server, '/', { body, headers: formType() });
    const files = (reply.json.value as Summary[]).map((part) =>
      part.kind === 'file' ? part.filename : null,
    );
    assert.deepEqual(files, ['pässwd', 'photo.jpg', '✓.txt', '']);
  });

  test(
    'a file read through its stream, and a file left unread is skipped for the next part',
    T,
    async (t) => {
      const server = await serve(t, async (req) => {
        const form = readMultipart(req);
        const seen: string[] = [];
        try {
          for await (const part of form) {
            if (part.kind === 'field') seen.push(`${part.name}=${part.value}`);
            else if (part.name === 'read') {
              const chunks: Buffer[] = [];
              for await (const chunk of part.stream) chunks.push(chunk as Buffer);
              seen.push(`read:${sha(Buffer.concat(chunks))}`);
            } else if (part.name === 'skip') {
              await part.skip();
              seen.push('skipped');
            } else {
              seen.push(`ignored:${part.name}`);
            }
          }
        } finally {
          await form.cleanup();
        }
        return seen;
      });
      const data = randomBytes(500_000);
      const body = multipart(B, [
        { name: 'ignored', filename: 'a.bin', data: randomBytes(700_000) },
        { name: 'f1', data: 'one' },
        { name: 'read', filename: 'b.bin', data },
        { name: 'skip', filename: 'c.bin', data: randomBytes(300_000) },
        { name: 'last', filename: 'd.bin', data: randomBytes(200_000) },
        { name: 'f2', data: 'two' },
      ]);
      const reply = await send(server, '/', { body, headers: formType() });
      assert.deepEqual(reply.json.value, [
        'ignored:ignored',
        'f1=one',
        `read:${sha(data)}`,
        'skipped',
        'ignored:last',
        'f2=two',
      ]);
    },
  );

  test(
    'a file skipped by moving on cannot be saved or read later: an error, not an empty file',
    T,
    async (t) => {
      const server = await serve(t, async (req) => {
        const form = readMultipart(req);
        const files: Part[] = [];
        try {
          for await (const part of form) files.push(part);
        } finally {
          await form.cleanup();
        }
        const file = files[0]!;
        assert.equal(file.kind, 'file');
        await assert.rejects(file.toTempFile(), TypeError);
        await assert.rejects(async () => {
          for await (const chunk of file.stream) void chunk;
        }, /skipped/);
        return files.length;
      });
      const body = multipart(B, [
        { name: 'a', filename: 'a', data: randomBytes(100_000) },
        { name: 'b', data: 'x' },
      ]);
      assert.equal((await send(server, '/', { body, headers: formType() })).json.value, 2);
    },
  );

  test('a file may be saved once; a second save or a save after skip() is a TypeError', T, async (t) => {
    const dir = await scratch(t);
    const server = await serve(t, async (req) => {
      const form = readMultipart(req, { tmpDir: dir });
      try {
        for await (const part of form) {
          if (part.kind !== 'file') continue;
          if (part.name === 'save') {
            const first = part.toTempFile();
            await assert.rejects(part.saveTo(dir), TypeError);
            assert.equal((await first).size, 3);
          } else {
            await part.skip();
            await assert.rejects(part.toTempFile(), TypeError);
          }
        }
      } finally {
        await form.cleanup();
      }
      return 'ok';
    });
    const body = multipart(B, [
      { name: 'save', filename: 'a', data: 'abc' },
      { name: 'skip', filename: 'b', data: 'def' },
    ]);
    assert.equal((await send(server, '/', { body, headers: formType() })).json.value, 'ok');
  });

  test('saves left running while the loop moves on complete byte for byte', T, async (t) => {
    const dir = await scratch(t);
    const server = await serve(t, async (req) => {
      const form = readMultipart(req, { tmpDir: dir });
      try {
        const saves: Promise<{ path: string }>[] = [];
        for await (const part of form) if (part.kind === 'file') saves.push(part.toTempFile());
        return await Promise.all(saves.map(async (save) => sha(await readFile((await save).path))));
      } finally {
        await form.cleanup();
      }
    });
    const files = [randomBytes(400_000), randomBytes(10), randomBytes(900_000)];
    const body = multipart(
      B,
      files.map((data, i) => ({ name: `f${i}`, filename: `f${i}`, data })),
    );
    const reply = await send(server, '/', { body, headers: formType() });
    assert.deepEqual(reply.json.value, files.map(sha));
    assert.deepEqual(await readdir(dir), []);
  });

  test('leaving a file stream early with break still lets the next parts arrive', T, async (t) => {
    const server = await serve(t, async (req) => {
      const form = readMultipart(req);
      const seen: string[] = [];
      try {
        for await (const part of form) {
          if (part.kind === 'field') seen.push(part.value);
          else for await (const chunk of part.stream) if (chunk) break;
        }
      } finally {
        await form.cleanup();
      }
      return seen;
    });
    const body = multipart(B, [
      { name: 'a', filename: 'a', data: randomBytes(1_000_000) },
      { name: 'b', data: 'after' },
    ]);
    assert.deepEqual((await send(server, '/', { body, headers: formType() })).json.value, ['after']);
  });

  test('a body of only the closing delimiter has no parts', T, async (t) => {
    const { server } = await uploadServer(t);
    const reply = await send(server, '/', { body: multipart(B, []), headers: formType() });
    assert.deepEqual(reply.json.value, []);
  });

  test('a gzip-encoded multipart body is decoded', T, async (t) => {
    const { server } = await uploadServer(t);
    const body = zlib.gzipSync(multipart(B, [{ name: 'a', data: 'b' }]));
    const reply = await send(server, '/', { body, headers: { ...formType(), 'content-encoding': 'gzip' } });
    assert.deepEqual(reply.json.value, [{ kind: 'field', name: 'a', value: 'b', mimeType: 'text/plain' }]);
  });

  test('saveTo writes a temp file that survives cleanup only once moved away', T, async (t) => {
    const dir = await scratch(t);
    const keep = await scratch(t);
    const server = await serve(t, async (req) => {
      const form = readMultipart(req, { tmpDir: dir });
      const paths: string[] = [];
      try {
        for await (const part of form) {
          if (part.kind !== 'file') continue;
          const saved = await part.saveTo(dir);
          assert.equal((await stat(saved.path)).mode & 0o777, 0o600);
          if (part.name === 'keep') {
            await rename(saved.path, join(keep, 'kept.bin'));
            paths.push(join(keep, 'kept.bin'));
          } else {
            paths.push(saved.path);
          }
        }
      } finally {
        await form.cleanup();
      }
      return paths;
    });
    const body = multipart(B, [
      { name: 'keep', filename: 'k', data: 'kept' },
      { name: 'drop', filename: 'd', data: 'dropped' },
    ]);
    assert.equal((await send(server, '/', { body, headers: formType() })).status, 200);
    assert.deepEqual(await readdir(dir), []);
    assert.equal(await readFile(join(keep, 'kept.bin'), 'utf8'), 'kept');
  });

  test('readMultipart twice on one request is a 500 that does not expose its message', T, async (t) => {
    const server = await serve(t, async (req) => {
      const form = readMultipart(req);
      try {
        return readMultipart(req);
      } finally {
        await form.cleanup();
      }
    });
    const reply = await send(server, '/', { body: multipart(B, []), headers: formType() });
    assert.equal(reply.status, 500);
    const error = await thrown(server, 500);
    assert.equal(error.expose, false);
  });

  test('readMultipart after readBytes parses the cached bytes', T, async (t) => {
    const dir = await scratch(t);
    const server = await serve(t, async (req) => {
      await readBytes(req);
      return summarize(req, { tmpDir: dir });
    });
    const reply = await send(server, '/', {
      body: multipart(B, [{ name: 'a', data: 'b' }]),
      headers: formType(),
    });
    assert.equal((reply.json.value as Summary[])[0]?.kind, 'field');
  });
});

describe('readMultipart limits', () => {
  test('a file of exactly maxFileSize passes and one byte more is a 413, never a cut file', T, async (t) => {
    const { server, assertClean } = await uploadServer(t, { maxFileSize: 100_000 });
    const exact = multipart(B, [{ name: 'f', filename: 'f', data: Buffer.alloc(100_000) }]);
    const ok = await send(server, '/', { body: exact, headers: formType() });
    assert.equal((ok.json.value as { size: number }[])[0]?.size, 100_000);
    await server.outcome();
    const over = multipart(B, [{ name: 'f', filename: 'f', data: Buffer.alloc(100_001) }]);
    assert.equal((await send(server, '/', { body: over, headers: formType() })).status, 413);
    await thrown(server, 413, /file f is larger than 100000 bytes/);
    await assertClean();
  });

  test('a file stream read by hand errors with the 413 instead of ending', T, async (t) => {
    let ended = false;
    let received = 0;
    const server = await serve(t, async (req) => {
      const form = readMultipart(req, { maxFileSize: 50_000 });
      try {
        for await (const part of form) {
          if (part.kind !== 'file') continue;
          part.stream.on('end', () => (ended = true));
          for await (const chunk of part.stream) received += (chunk as Buffer).length;
        }
      } finally {
        await form.cleanup();
      }
    });
    const body = multipart(B, [{ name: 'f', filename: 'f', data: Buffer.alloc(200_000) }]);
    assert.equal((await send(server, '/', { body, headers: formType() })).status, 413);
    await thrown(server, 413);
    assert.equal(ended, false);
    assert.ok(received <= 50_001, `received ${received}`);
  });

  test('a field of exactly maxFieldSize passes and one byte more is a 413', T, async (t) => {
    const { server } = await uploadServer(t, { maxFieldSize: 1000 });
    const exact = multipart(B, [{ name: 'f', data: 'x'.repeat(1000) }]);
    assert.equal((await send(server, '/', { body: exact, headers: formType() })).status, 200);
    await server.outcome();
    const over = multipart(B, [{ name: 'f', data: 'x'.repeat(1001) }]);
    assert.equal((await send(server, '/', { body: over, headers: formType() })).status, 413);
    await thrown(server, 413, /field f is larger than 1000 bytes/);
  });

  test('maxFiles, maxFields and maxParts: at the limit passes, one more is a 413', T, async (t) => {
    const cases: [MultipartOptions, (n: number) => PartSpec[], number, RegExp][] = [
      [
        { maxFiles: 2 },
        (n) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, filename: 'x', data: 'x' })),
        2,
        /files/,
      ],
      [
        { maxFields: 3 },
        (n) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, data: 'x' })),
        3,
        /fields/,
      ],
      [
        { maxParts: 4 },
        (n) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, data: 'x' })),
        4,
        /parts/,
      ],
      [
        { maxParts: 2 },
        (n) =>
          Array.from({ length: n }, (_, i) => ({ name: `f${i}`, filename: 'x', data: 'x'.repeat(3000) })),
        2,
        /parts/,
      ],
    ];
    for (const [options, parts, limit, pattern] of cases) {
      const { server, assertClean } = await uploadServer(t, options);
      const at = await send(server, '/', { body: multipart(B, parts(limit)), headers: formType() });
      assert.equal(at.status, 200, JSON.stringify(options));
      await server.outcome();
      const over = await send(server, '/', { body: multipart(B, parts(limit + 1)), headers: formType() });
      assert.equal(over.status, 413, JSON.stringify(options));
      await thrown(server, 413, pattern);
      await assertClean();
    }
  });

  test('parts without a Content-Disposition still count toward maxParts', T, async (t) => {
    const { server } = await uploadServer(t, { maxParts: 3 });
    const parts = Array.from({ length: 5 }, () => ({ head: 'Content-Type: text/plain\r\n', data: 'x' }));
    assert.equal((await send(server, '/', { body: multipart(B, parts), headers: formType() })).status, 413);
    await thrown(server, 413, /parts/);
  });

  test('10 000 parts are a 413 under the defaults, quickly', T, async (t) => {
    const { server } = await uploadServer(t);
    const parts = Array.from({ length: 10_000 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
    const started = Date.now();
    const reply = await send(server, '/', { body: multipart(B, parts), headers: formType() });
    assert.equal(reply.status, 413);
    await thrown(server, 413, /more than 1000/);
    assert.ok(Date.now() - started < 2_000);
  });

  test('a body over the total limit is a 413, and the temp file under way is removed', T, async (t) => {
    const { server, assertClean } = await uploadServer(t, { limit: 100_000, maxFileSize: MiB });
    const body = multipart(B, [{ name: 'f', filename: 'f', data: Buffer.alloc(300_000) }]);
    assert.equal((await send(server, '/', { body, headers: formType(), chunked: true })).status, 413);
    await thrown(server, 413, /100000-byte limit/);
    await assertClean();
  });
});

describe('readMultipart malformed bodies', () => {
  const cases: [string, Buffer | string, Record<string, string>, number, RegExp?][] = [
    [
      'a body cut off before its closing boundary',
      multipart(B, [{ name: 'a', data: 'b' }], `--${B.slice(0, 5)}`),
      formType(),
      400,
      /Unexpected end of form/,
    ],
    [
      'a file cut off mid-data',
      multipart(B, [{ name: 'a', filename: 'a', data: 'abc' }]).subarray(0, 90),
      formType(),
      400,
    ],
    [
      'a part header line that starts with a space',
      multipart(B, [{ head: ' Content-Disposition: form-data; name="a"\r\n', data: 'b' }]),
      formType(),
      400,
      /Malformed part header/,
    ],
    ['a part with an empty name', multipart(B, [{ name: '', data: 'b' }]), formType(), 400, /no name/],
    ['a part with no name', multipart(B, [{ data: 'b' }]), formType(), 400, /no name/],
    [
      'a file part with an empty name',
      multipart(B, [
        { name: '', filename: 'f', data: 'b'.repeat(5000) },
        { name: 'x', data: 'y' },
      ]),
      formType(),
      400,
      /no name/,
    ],
    [
      'a part header over 16 KiB',
      multipart(B, [{ head: `Content-Disposition: form-data; name="${'n'.repeat(17_000)}"\r\n`, data: 'b' }]),
      formType(),
      400,
    ],
    ['a body with no boundary in it at all', 'just some bytes', formType(), 400],
    [
      'a Content-Type without a boundary',
      multipart(B, []),
      { 'content-type': 'multipart/form-data' },
      400,
      /boundary/,
    ],
    [
      'a boundary longer than 70 characters',
      multipart('b'.repeat(71), []),
      formType('b'.repeat(71)),
      400,
      /boundary/,
    ],
    [
      'a Content-Type that is not multipart/form-data',
      multipart(B, []),
      { 'content-type': `multipart/mixed; boundary=${B}` },
      415,
    ],
    ['no Content-Type', multipart(B, []), {}, 415],
  ];
  for (const [what, body, headers, status, pattern] of cases) {
    test(`${what} is a ${status}`, T, async (t) => {
      const { server, assertClean } = await uploadServer(t);
      const reply = await send(server, '/', { body, headers });
      assert.equal(reply.status, status, reply.text);
      await thrown(server, status, pattern);
      await assertClean();
    });
  }

  test(
    'any mangling of a valid body is a 200, 400 or 413 in bounded time, and leaves no temp file',
    T,
    async (t) => {
      // Tight limits too, so that limit errors meet parse errors in the middle of a part.
      const servers = await Promise.all([
        uploadServer(t, { maxFileSize: 2000, maxParts: 20 }),
        uploadServer(t, { maxFileSize: 300, maxFieldSize: 4, maxParts: 3, maxFiles: 1, maxFields: 1 }),
      ]);
      const valid = multipart(B, [
        { name: 'title', data: 'hello' },
        { name: 'file', filename: 'a.txt', type: 'text/plain', data: 'x'.repeat(500) },
        { name: 'other', data: 'world' },
        { name: 'file2', filename: 'b.bin', data: 'y'.repeat(200) },
      ]);
      const mangled = fc.oneof(
        fc.integer({ min: 0, max: valid.length }).map((at) => valid.subarray(0, at)),
        fc
          .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 8,
          })
          .map((edits) => {
            const copy = Buffer.from(valid);
            for (const [at, byte] of edits) copy[at] = byte;
            return copy;
          }),
        fc
          .tuple(fc.nat(valid.length), fc.uint8Array({ minLength: 1, maxLength: 64 }))
          .map(([at, bytes]) => Buffer.concat([valid.subarray(0, at), bytes, valid.subarray(at)])),
        fc
          .tuple(
            fc.nat(valid.length),
            fc.constantFrom(`\r\n--${B}\r\n`, `\r\n--${B}--`, '\r\n\r\n', ' ', '\r\n '),
          )
          .map(([at, text]) => Buffer.concat([valid.subarray(0, at), Buffer.from(text), valid.subarray(at)])),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...servers), mangled, async ({ server, assertClean }, body) => {
          const reply = await within(send(server, '/', { body, headers: formType() }), 5_000, 'reply');
          assert.ok([200, 400, 413].includes(reply.status), `${reply.status}: ${reply.text}`);
          await server.outcome();
          await assertClean();
        }),
        { numRuns: 300 },
      );
    },
  );
});

describe('readMultipart temp files', () => {
  test('a client that goes away mid-upload leaves no temp file', T, async (t) => {
    const { server, dir, assertClean } = await uploadServer(t);
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    const head = multipart(B, [{ name: 'f', filename: 'big.bin', data: '' }]).subarray(
      0,
      -`\r\n--${B}--\r\n`.length,
    );
    socket.write(
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${B}\r\n` +
        `Content-Length: ${5 * MiB}\r\n\r\n`,
    );
    socket.write(head);
    socket.write(randomBytes(256 * 1024));
    // Wait until the temp file exists and has data, so the abort hits a save under way.
    await within(
      (async () => {
        for (;;) {
          const [sub] = await readdir(dir);
          if (sub !== undefined) {
            const [file] = await readdir(join(dir, sub));
            if (file !== undefined && (await stat(join(dir, sub, file)).catch(() => undefined))?.size) return;
          }
          await sleep(10);
        }
      })(),
      5_000,
      'temp file',
    );
    socket.destroy();
    await thrown(server, 400, /cut short/);
    await assertClean();
  });

  test('cleanup mid-iteration stops reading, answers, and removes files saved so far', T, async (t) => {
    const dir = await scratch(t);
    let savedPath = '';
    const server = await serve(t, async (req) => {
      const form = readMultipart(req, { tmpDir: dir });
      try {
        for await (const part of form) {
          if (part.kind === 'file') {
            savedPath = (await part.toTempFile()).path;
            return 'stopped after the first file';
          }
        }
      } finally {
        await form.cleanup();
      }
    });
    const body = multipart(B, [
      { name: 'first', filename: 'a', data: 'aaa' },
      { name: 'second', filename: 'b', data: randomBytes(2 * MiB) },
    ]);
    const reply = await send(server, '/', { body, headers: formType() });
    assert.equal(reply.json.value, 'stopped after the first file');
    assert.notEqual(savedPath, '');
    assert.deepEqual(await readdir(dir), []);
  });

  test('cleanup waits for a save still under way and removes its file', T, async (t) => {
    const dir = await scratch(t);
    let saving: Promise<unknown> | undefined;
    const server = await serve(t, async (req) => {
      const form = readMultipart(req, { tmpDir: dir });
      try {
        for await (const part of form) {
          if (part.kind === 'file') {
            saving = part.toTempFile();
            saving.catch(() => {});
            return 'left without awaiting the save';
          }
        }
      } finally {
        await form.cleanup();
      }
    });
    const body = multipart(B, [{ name: 'f', filename: 'a', data: randomBytes(2 * MiB) }]);
    await send(server, '/', { body, headers: formType(), chunked: true });
    assert.ok(saving);
    await assert.rejects(saving);
    assert.deepEqual(await readdir(dir), []);
  });

  test('after an error in the handler, cleanup removes every file', T, async (t) => {
    const dir = await scratch(t);
    const server = await serve(t, async (req) => {
      const form = readMultipart(req, { tmpDir: dir });
      try {
        const parts: Part[] = [];
        for await (const part of form) {
          parts.push(part);
          if (part.kind === 'file') await part.toTempFile();
          if (parts.length === 2) throw new Error('handler bug');
        }
      } finally {
        await form.cleanup();
      }
    });
    const body = multipart(B, [
      { name: 'a', filename: 'a', data: 'aaa' },
      { name: 'b', filename: 'b', data: 'bbb' },
      { name: 'c', filename: 'c', data: 'ccc' },
    ]);
    assert.equal((await send(server, '/', { body, headers: formType() })).status, 500);
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('readMultipart interop', () => {
  test('python3-requests uploads fields and files', T, async (t) => {
    const probe = spawnSync('python3', ['-c', 'import requests'], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status !== 0) {
      const message = 'python3-requests is not installed (apt-get install python3-requests, or run .ci/run)';
      if (process.env.CI === 'true') throw new Error(message);
      return t.skip(message);
    }
    const { server, assertClean } = await uploadServer(t);
    const script = `
import sys, requests
r = requests.post(sys.argv[1],
    data={'title': 'h\\u00e9llo', 'n': '1'},
    files={'doc': ('report.txt', b'x' * 100000, 'text/plain'),
           'bin': ('b.bin', bytes(range(256)) * 1000, 'application/octet-stream')},
    timeout=10)
sys.stdout.write(str(r.status_code) + '\\n' + r.text)
`;
    const child = spawn('python3', ['-c', script, server.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill());
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    const code = await within(new Promise((resolve) => child.on('close', resolve)), 20_000, 'python3');
    assert.equal(code, 0);
    const [status, json] = [out.slice(0, out.indexOf('\n')), out.slice(out.indexOf('\n') + 1)];
    assert.equal(status, '200');
    const parts = (JSON.parse(json) as { value: Summary[] }).value;
    const byName = new Map(parts.map((part) => [part.name, part]));
    assert.deepEqual(byName.get('title'), {
      kind: 'field',
      name: 'title',
      value: 'héllo',
      mimeType: 'text/plain',
    });
    assert.deepEqual(byName.get('doc'), {
      kind: 'file',
      name: 'doc',
      filename: 'report.txt',
      mimeType: 'text/plain',
      size: 100_000,
      sha: sha(Buffer.alloc(100_000, 'x')),
    });
    const bin = Buffer.alloc(256_000);
    for (let i = 0; i < bin.length; i++) bin[i] = i % 256;
    assert.equal((byName.get('bin') as { sha: string }).sha, sha(bin));
    await assertClean();
  });
});
