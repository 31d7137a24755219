/**
 * The seed's BeautifulSoup loop (`for link in soup.find_all('a'): print(link['href'])`): every
 * `<a href>` of a page, resolved against the page's URL (and its `<base href>`).
 * Run: npx tsx examples/links.ts [URL]   (default: http://www.example.com)
 */
import { Session } from 'wirekit/client';

const url = process.argv[2] ?? process.env.URL ?? 'http://www.example.com';

const http = new Session();
try {
  const res = await http.get(url);
  res.raiseForStatus();
  // `link.raw` is the href as written; `link.url` the absolute URL it points to.
  for (const link of await res.links({ tags: ['a'] })) console.log(link.url);
} catch (err) {
  // One line, not a stack: a host that cannot be reached is the usual reason here.
  console.error(`${(err as Error).name}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await http.close();
}
