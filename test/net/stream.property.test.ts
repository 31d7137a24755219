/**
 * Properties of the Stream reader: however the bytes are cut into chunks, and whether the reads
 * wait for them or find them buffered, the reader returns the same lines, records and bytes.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { IncompleteReadError, LimitExceededError } from '../../src/errors.js';
import { Stream } from '../../src/net/index.js';
import { socketPair, within } from './tcp-helpers.js';

const T = { timeout: 120_000 };

// ---- inputs --------------------------------------------------------------------------------

/** Text made of the tokens that matter to a line reader, plus arbitrary strings. */
const text = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '\r\n', '\r', 'a', 'b', '|', 'é', '🎉', '\u0000'),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 60 },
  )
  .map((tokens) => Buffer.from(tokens.join('')));

/** Either such text or raw bytes (invalid UTF-8 included). */
const bytes = fc.oneof(
  text,
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
);

/** A way to deliver bytes: where to cut them, and after which chunks to let the reader run. */
const delivery = fc.record({
  cuts: fc.array(fc.nat(), { maxLength: 20 }),
  yields: fc.array(fc.boolean(), { maxLength: 21 }),
});
type Delivery = { cuts: number[]; yields: boolean[] };

const separators = fc.constantFrom('\n', '\r\n', 'aa', 'aba', '||', '\r\n\r\n', 'é');

function chunksOf(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, data.length]) {
    if (point > start) chunks.push(data.subarray(start, point));
    start = point;
  }
  return chunks;
}

/**
 * A Stream fed by hand through an in-memory duplex, so chunk boundaries are exact: each chunk
 * is one 'data' event. Between chunks the feeder either lets the event loop turn (the reader
 * waits for data) or not (the data is buffered before the reader asks).
 */
function fedStream(data: Buffer, { cuts, yields }: Delivery, limit?: number): Stream {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const stream = new Stream(socket as unknown as Socket, limit === undefined ? {} : { limit });
  void (async () => {
    const chunks = chunksOf(data, cuts);
    for (let i = 0; i < chunks.length; i++) {
      socket.push(chunks[i]);
      if (yields[i]) await new Promise((resolve) => setImmediate(resolve));
      else await Promise.resolve();
    }
    socket.push(null);
  })();
  return stream;
}

// ---- reference models ----------------------------------------------------------------------

function referenceLines(data: Buffer): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const index = data.indexOf(0x0a, start);
    if (index === -1) break;
    const end = index > start && data[index - 1] === 0x0d ? index - 1 : index;
    lines.push(data.toString('utf8', start, end));
    start = index + 1;
  }
  if (start < data.length) lines.push(data.toString('utf8', start));
  return lines;
}

function referenceRecords(data: Buffer, separator: Buffer): { records: Buffer[]; rest: Buffer } {
  const records: Buffer[] = [];
  let start = 0;
  for (;;) {
    const index = data.indexOf(separator, start);
    if (index === -1) break;
    records.push(data.subarray(start, index + separator.length));
    start = index + separator.length;
  }
  return { records, rest: data.subarray(start) };
}

async function readAllLines(stream: Stream): Promise<string[]> {
  const lines: string[] = [];
  for (let line = await stream.readLine(); line !== null; line = await stream.readLine()) lines.push(line);
  return lines;
}

// ---- properties ----------------------------------------------------------------------------

describe('Stream reader properties', () => {
  test('readLine returns the same lines however the bytes are split', T, async () => {
    await fc.assert(
      fc.asyncProperty(bytes, delivery, async (data, how) => {
        const lines = await within(readAllLines(fedStream(data, how)), 5_000, 'readLine loop');
        assert.deepEqual(lines, referenceLines(data));
      }),
    );
  });

  test('lines() yields the same lines however the bytes are split', T, async () => {
    await fc.assert(
      fc.asyncProperty(bytes, delivery, async (data, how) => {
        const lines: string[] = [];
        await within(
          (async () => {
            for await (const line of fedStream(data, how).lines()) lines.push(line);
          })(),
          5_000,
          'lines()',
        );
        assert.deepEqual(lines, referenceLines(data));
      }),
    );
  });

  test('readUntil returns the same records, then the rest in IncompleteReadError', T, async () => {
    await fc.assert(
      fc.asyncProperty(bytes, delivery, separators, async (data, how, sep) => {
        const separator = Buffer.from(sep);
        const expected = referenceRecords(data, separator);
        const stream = fedStream(data, how);
        const records: Buffer[] = [];
        const err = await within(
          (async () => {
            for (;;) records.push(await stream.readUntil(separator));
          })(),
          5_000,
          'readUntil loop',
        ).catch((e: unknown) => e);
        assert.ok(err instanceof IncompleteReadError, String(err));
        assert.deepEqual(records, expected.records);
        assert.deepEqual(err.partial, expected.rest);
      }),
    );
  });

  test('readExactly returns the same bytes for any sequence of sizes', T, async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes,
        delivery,
        fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 30 }),
        async (data, how, sizes) => {
          const stream = fedStream(data, how);
          let offset = 0;
          for (const size of sizes) {
            if (offset + size <= data.length) {
              const got = await within(stream.readExactly(size), 5_000, 'readExactly');
              assert.deepEqual(got, data.subarray(offset, offset + size));
              offset += size;
            } else {
              const err = await within(stream.readExactly(size), 5_000, 'readExactly').catch(
                (e: unknown) => e,
              );
              assert.ok(err instanceof IncompleteReadError, String(err));
              assert.deepEqual(err.partial, data.subarray(offset));
              assert.equal(err.expected, size);
              return;
            }
          }
          assert.deepEqual(await within(stream.readAll(), 5_000, 'readAll'), data.subarray(offset));
        },
      ),
    );
  });

  test('any mix of read, readExactly and readUntil consumes every byte once, in order', T, async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('read' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('exactly' as const), n: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('until' as const), sep: separators }),
    );
    await fc.assert(
      fc.asyncProperty(bytes, delivery, fc.array(op, { maxLength: 30 }), async (data, how, ops) => {
        const stream = fedStream(data, how);
        const parts: Buffer[] = [];
        for (const o of ops) {
          const step =
            o.kind === 'read'
              ? stream.read(o.n)
              : o.kind === 'exactly'
                ? stream.readExactly(o.n)
                : stream.readUntil(o.sep);
          const got = await within(step, 5_000, o.kind).catch((e: unknown) => e);
          if (got instanceof IncompleteReadError) parts.push(got.partial);
          else if (Buffer.isBuffer(got)) {
            if (o.kind === 'read') assert.ok(got.length <= o.n);
            if (o.kind === 'exactly') assert.equal(got.length, o.n);
            if (o.kind === 'until')
              assert.ok(got.subarray(-Buffer.from(o.sep).length).equals(Buffer.from(o.sep)));
            parts.push(got);
          } else throw got;
        }
        parts.push(await within(stream.readAll(), 5_000, 'readAll'));
        assert.deepEqual(Buffer.concat(parts), data);
      }),
    );
  });

  test(
    'readUntil and readLine honour any limit, and the bytes stay readable after LimitExceededError',
    T,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          bytes,
          delivery,
          fc.oneof(separators, fc.constant(null)),
          fc.integer({ min: 1, max: 40 }),
          async (data, how, sep, limit) => {
            const stream = fedStream(data, how, limit);
            const separator = Buffer.from(sep ?? '\n');
            let offset = 0;
            for (;;) {
              const index = data.indexOf(separator, offset);
              const end = index === -1 ? data.length : index + separator.length;
              const step: Promise<unknown> = sep === null ? stream.readLine() : stream.readUntil(separator);
              const got = await within(step, 5_000, 'read').catch((e: unknown) => e);
              if (end - offset > limit) {
                // Over the limit: rejected, and every byte from here on can still be read.
                assert.ok(got instanceof LimitExceededError, `${String(got)} at ${offset}`);
                assert.equal(got.limit, limit);
                assert.deepEqual(await within(stream.readAll(), 5_000, 'readAll'), data.subarray(offset));
                return;
              }
              if (sep === null) {
                if (offset === data.length) {
                  assert.equal(got, null);
                  return;
                }
                assert.equal(typeof got, 'string');
              } else if (index === -1) {
                assert.ok(got instanceof IncompleteReadError, String(got));
                assert.deepEqual(got.partial, data.subarray(offset));
                return;
              } else assert.deepEqual(got, data.subarray(offset, end));
              offset = end;
            }
          },
        ),
      );
    },
  );

  test(
    'over a real loopback socket, lines() returns the same lines however the writes are split',
    T,
    async () => {
      await fc.assert(
        fc.asyncProperty(text, delivery, async (data, { cuts, yields }) => {
          const [client, server] = await socketPair();
          try {
            const stream = new Stream(client);
            const writing = (async () => {
              const chunks = chunksOf(data, cuts);
              for (const [i, chunk] of chunks.entries()) {
                server.write(chunk);
                if (yields[i]) await new Promise((resolve) => setTimeout(resolve, 1));
              }
              server.end();
            })();
            const lines: string[] = [];
            await within(
              (async () => {
                for await (const line of stream.lines()) lines.push(line);
              })(),
              10_000,
              'lines() over a socket',
            );
            await writing;
            assert.deepEqual(lines, referenceLines(data));
          } finally {
            client.destroy();
            server.destroy();
          }
        }),
        { numRuns: 40 },
      );
    },
  );
});
