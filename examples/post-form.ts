/**
 * The seed's register POST: `username=john&password=...&submit=Login`, urlencoded.
 * Run: npx tsx examples/post-form.ts [URL]   (default: the seed's http://www.example.com/register.php)
 *      PASSWORD=secret npx tsx examples/post-form.ts http://127.0.0.1:5000/register.php
 *      (against examples/form-login.ts)
 */
import { Session } from 'wirekit/client';

const url = process.argv[2] ?? process.env.URL ?? 'http://www.example.com/register.php';

const http = new Session();
try {
  // `form` sets Content-Type: application/x-www-form-urlencoded and the Content-Length.
  const res = await http.post(url, {
    form: { username: 'john', password: process.env.PASSWORD ?? '<PASSWORD>', submit: 'Login' },
  });
  console.log(`HTTP ${res.status} ${res.statusText}`);
  console.log(await res.text());
  if (!res.ok) process.exitCode = 1;
} catch (err) {
  // One line, not a stack: a host that cannot be reached is the usual reason here.
  console.error(`${(err as Error).name}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await http.close();
}
