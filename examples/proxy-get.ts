/**
 * The seed's `proxies` dict: every request of the session goes through one proxy, credentials in
 * its URL (sent as Proxy-Authorization; for https targets the proxy gets a CONNECT tunnel).
 * Run: PROXY=http://user:pass@proxyserver:3128 npx tsx examples/proxy-get.ts [URL]
 *      (default URL: the seed's http://www.example.com; PROXY=env reads HTTP_PROXY/HTTPS_PROXY)
 */
import { Session } from 'wirekit/client';

const url = process.argv[2] ?? process.env.URL ?? 'http://www.example.com';
const proxy = process.env.PROXY ?? 'http://user:pass@proxyserver:3128';

const http = new Session({ proxy });
try {
  const res = await http.get(url);
  console.log(
    `HTTP ${res.status} ${res.statusText} via ${new URL(proxy === 'env' ? 'http://env' : proxy).host}`,
  );
  console.log(await res.text());
} catch (err) {
  // One line, not a stack: a host that cannot be reached is the usual reason here.
  console.error(`${(err as Error).name}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await http.close();
}
