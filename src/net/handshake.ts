/**
 * @module wirekit/net/handshake
 * Waiting on a socket event with a timeout and an AbortSignal: the TLS handshake (connect,
 * startTls) and the flush before a TLS upgrade.
 */
import type { Socket } from 'node:net';
import type * as tls from 'node:tls';
import { AbortError, SocketError, StreamClosedError, TimeoutError } from '../errors.js';

/** Waits until a socket whose buffer was full has flushed it (for the TLS upgrade). */
export function drained(socket: Socket, timeout: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer =
      timeout > 0
        ? setTimeout(() => done(new TimeoutError('tls', timeout, 'flush before TLS')), timeout)
        : undefined;
    const onAbort = () => done(new AbortError(signal?.reason));
    const onClose = () => done(new StreamClosedError('the stream closed before the TLS upgrade'));
    const onDrain = () => done(null);
    function done(err: unknown): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (err === null) resolve();
      else reject(err);
    }
    socket.once('drain', onDrain);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for a TLS socket's handshake event, with a timeout and an AbortSignal. */
export function handshake(
  socket: tls.TLSSocket,
  event: 'secure' | 'secureConnect',
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer =
      timeout > 0
        ? setTimeout(() => done(new TimeoutError('tls', timeout, 'TLS handshake')), timeout)
        : undefined;
    const onAbort = () => done(new AbortError(signal?.reason));
    const onError = (err: unknown) => done(err);
    const onClose = () => done(new SocketError(new Error('closed during the TLS handshake')));
    const onSecure = () => done(null);
    function done(err: unknown): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off(event, onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err === null) resolve();
      else {
        socket.destroy();
        reject(err);
      }
    }
    socket.once(event, onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
