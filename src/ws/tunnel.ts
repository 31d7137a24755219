/**
 * @module wirekit/ws/tunnel
 * WebSockets through an HTTP(S) proxy: an http.Agent whose connections are CONNECT tunnels
 * (for ws: targets too, since an upgrade cannot travel in a forward proxy's absolute form),
 * with TLS to the target inside the tunnel for wss:.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { ConnectError, formatHostPort, ProxyError } from '../errors.js';
import { basicAuth } from '../http/basic-auth.js';

/** Longest proxy answer head to a CONNECT, in bytes. */
const MAX_HEAD = 16 * 1024;

type ConnectionCallback = (err: Error | null, socket?: Duplex) => void;

/** An agent that opens each connection as a CONNECT tunnel through `proxy`. */
export class TunnelAgent extends http.Agent {
  readonly #proxy: URL;
  readonly #proxyTls: tls.ConnectionOptions | undefined;

  /**
   * @param proxy `http://[user:pass@]host:port` or `https://...`
   * @param secure whether the target is wss: (TLS inside the tunnel)
   * @param proxyTls node:tls options for an https: proxy itself
   */
  constructor(proxy: URL, secure: boolean, proxyTls?: tls.ConnectionOptions) {
    super({ keepAlive: false });
    if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
      throw new TypeError(`a WebSocket proxy must be http or https, got ${proxy.protocol}`);
    }
    this.#proxy = proxy;
    this.#proxyTls = proxyTls;
    // https.request checks that its agent speaks https.
    (this as { protocol?: string }).protocol = secure ? 'https:' : 'http:';
  }

  override createConnection(
    options: http.ClientRequestArgs & tls.ConnectionOptions,
    callback: ConnectionCallback,
  ): undefined {
    const proxy = this.#proxy;
    const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');
    const proxyPort = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80);
    const name = formatHostPort(proxyHost, proxyPort);
    const host = String(options.host ?? options.hostname ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port);
    const secure = (this as { protocol?: string }).protocol === 'https:';
    const socket: net.Socket =
      proxy.protocol === 'https:'
        ? tls.connect({
            ...this.#proxyTls,
            host: proxyHost,
            port: proxyPort,
            servername: net.isIP(proxyHost) ? undefined : proxyHost,
          })
        : net.connect({ host: proxyHost, port: proxyPort });
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      socket.destroy();
      callback(err);
    };
    socket.once('error', (err) => fail(new ConnectError(proxyHost, proxyPort, err)));
    socket.once('close', () =>
      fail(new ProxyError(name, undefined, 'closed the connection before the tunnel opened')),
    );
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_HEAD)
          fail(new ProxyError(name, undefined, 'sent an endless answer to CONNECT'));
        return;
      }
      // Not paused: the http client's own listener (added on the next tick, before any more I/O)
      // must find the socket flowing.
      socket.off('data', onData);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, end))?.[1] ?? 0);
      if (status !== 200) {
        fail(
          new ProxyError(
            name,
            status || undefined,
            `refused the CONNECT tunnel to ${formatHostPort(host, port)} with ${status || 'a malformed answer'}`,
          ),
        );
        return;
      }
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      done = true;
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      if (!secure) return callback(null, socket);
      callback(
        null,
        tls.connect({
          ...options,
          socket,
          servername: options.servername ?? (net.isIP(host) ? undefined : host),
        } as tls.ConnectionOptions),
      );
    };
    socket.on('data', onData);
    const target = formatHostPort(host, port);
    const auth =
      proxy.username === '' && proxy.password === ''
        ? ''
        : `Proxy-Authorization: ${basicAuth(decodeURIComponent(proxy.username), decodeURIComponent(proxy.password))}\r\n`;
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
    return undefined;
  }
}
