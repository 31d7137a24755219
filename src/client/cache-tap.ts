/**
 * @module wirekit/client/cache-tap
 * A response body that copies its chunks for the cache as the caller reads them: it pulls from
 * the wire only when the caller pulls, and hands the bytes over only once the body ended whole.
 */
import { Readable } from 'node:stream';

/** A body with undici's `dump()`, which the session uses to drop a body and keep the connection. */
export type DumpableBody = Readable & { dump(options?: { limit: number }): Promise<unknown> };

function ignore(): void {}

/**
 * Wraps `raw`: what is read through it is also recorded, up to `limit` bytes; `onEnd` gets the
 * whole body when `raw` ended normally and within the limit. Destroying, dumping or an error
 * records nothing.
 */
export class CacheTap extends Readable {
  readonly #raw: DumpableBody;
  readonly #limit: number;
  readonly #onEnd: (body: Buffer) => void;
  #chunks: Buffer[] | undefined = [];
  #size = 0;

  constructor(raw: DumpableBody, limit: number, onEnd: (body: Buffer) => void) {
    super();
    this.#raw = raw;
    this.#limit = limit;
    this.#onEnd = onEnd;
    // Paused first, so listening does not start the flow: the caller's reads drive it.
    raw.pause();
    raw.on('data', this.#data);
    raw.on('end', this.#end);
    raw.on('error', this.#error);
    // As undici does for its bodies: an error on a body nobody reads is nobody's (the readers
    // the caller attaches still get it).
    this.on('error', ignore);
  }

  readonly #data = (chunk: Buffer): void => {
    if (this.#chunks !== undefined) {
      this.#size += chunk.length;
      if (this.#size > this.#limit) this.#chunks = undefined;
      else this.#chunks.push(chunk);
    }
    if (!this.push(chunk)) this.#raw.pause();
  };

  readonly #end = (): void => {
    const chunks = this.#chunks;
    this.#chunks = undefined;
    this.push(null);
    if (chunks !== undefined)
      this.#onEnd(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size));
  };

  readonly #error = (err: Error): void => {
    this.#chunks = undefined;
    this.destroy(err);
  };

  override _read(): void {
    this.#raw.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#chunks = undefined;
    if (!this.#raw.readableEnded && !this.#raw.destroyed) this.#raw.destroy(err ?? undefined);
    callback(err);
  }

  /** Drops the rest of the body as undici does (the connection stays reusable); stores nothing. */
  dump(options?: { limit: number }): Promise<unknown> {
    this.#chunks = undefined;
    const raw = this.#raw;
    raw.off('data', this.#data);
    raw.off('end', this.#end);
    raw.off('error', this.#error);
    raw.on('error', ignore);
    const done = raw.dump(options);
    this.push(null);
    this.resume();
    return done;
  }
}
