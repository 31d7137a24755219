/**
 * @module wirekit/server/drain
 * Waiting for a response's buffer to drain, shared by the streaming writers.
 */
import type { ServerResponse } from 'node:http';

/** Resolves when `res` can take more, or is gone (closed: nothing more will be written). */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
