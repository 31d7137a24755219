/**
 * @module wirekit/server/web-stream
 * What `app.fetch` and `serve` share: web streams over node Readables, and the hop-by-hop
 * headers that belong to one connection rather than to the message.
 */
import type { Readable } from 'node:stream';

/** Connection-level headers: they describe one hop, not the message, and HTTP/2 forbids them. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** A byte limit on a web stream: past `limit`, the stream errors with what `exceeded()` returns. */
export interface StreamLimit {
  limit: number;
  exceeded: () => Error;
}

/**
 * A web stream over a node Readable that reads only when its reader asks (backpressure both
 * ways). Cancelling it destroys the source (a response: the connection goes, as fetch's does)
 * or drains it (a server request: destroying it would take the connection, and the response
 * with it; node drains unread bodies the same way). With a `limit`, the stream errors once more
 * bytes than that came, and reads nothing more.
 */
export function toWebStream(
  source: Readable,
  onCancel: 'destroy' | 'drain',
  limit?: StreamLimit,
): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Buffer> | undefined;
  let received = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        iterator ??= source.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
        const { done, value } = await iterator.next();
        if (done) return controller.close();
        received += value.length;
        if (limit !== undefined && received > limit.limit) controller.error(limit.exceeded());
        else controller.enqueue(value);
      },
      async cancel() {
        if (onCancel === 'destroy') {
          source.destroy();
          return;
        }
        await iterator?.return?.();
        source.resume();
      },
    },
    { highWaterMark: 0 },
  );
}
