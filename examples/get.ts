/**
 * The seed's GET, with the browser headers it sends, printing the status, the headers and the body.
 * Run: npx tsx examples/get.ts [URL]   (default: the seed's http://www.example.com/path/to/file)
 */
import { Session } from 'wirekit/client';

const url = process.argv[2] ?? process.env.URL ?? 'http://www.example.com/path/to/file';

// Host and Connection: keep-alive are undici's job; Accept-Encoding: gzip, deflate, br is a default.
const browser = new Session({
  headers: {
    'Upgrade-Insecure-Requests': '1',
    'User-Agent':
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/80.0.3987.163 Safari/537.36',
    'Accept-Language': 'zh-CN,zh;q=0.9',
  },
});

try {
  const res = await browser.get(url);
  console.log(`HTTP ${res.status} ${res.statusText}`);
  for (const [name, value] of Object.entries(res.headers)) console.log(`${name}: ${String(value)}`);
  console.log();
  // Decoded (gzip, br...) and in the page's charset.
  console.log(await res.text());
} catch (err) {
  // One line, not a stack: a host that cannot be reached is the usual reason here.
  console.error(`${(err as Error).name}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
