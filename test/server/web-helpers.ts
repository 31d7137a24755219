/** Shared by the app.fetch and serve tests. */

export const T = { timeout: 20_000 };

/** What `ms` of waiting looks like as a promise. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise and the function that resolves it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A web body of `total` bytes in 64 KiB chunks, produced only as it is read. */
export function bodyOf(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      const n = Math.min(65_536, total - sent);
      if (n === 0) return controller.close();
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(97));
    },
  });
}
