/**
 * Cookies across requests: log in with a form, and the session sends the cookie it got on every
 * later request; the jar is saved to a file on close() and loaded by the next run.
 * Run: npx tsx examples/session-cookies.ts [BASE_URL]   (default: http://www.example.com/)
 *      against examples/form-login.ts: npx tsx examples/session-cookies.ts http://127.0.0.1:5000/
 */
import { Session } from 'wirekit/client';

const base = process.argv[2] ?? process.env.URL ?? 'http://www.example.com/';
const file = process.env.COOKIE_FILE ?? 'cookies.json';

const http = new Session({ baseUrl: base, cookies: { file } });
try {
  if (http.cookies!.list(base).length === 0) {
    const login = await http.post('register.php', {
      form: { username: 'john', password: process.env.PASSWORD ?? 'secret', submit: 'Login' },
    });
    console.log(`login: HTTP ${login.status}`, await login.text());
  } else {
    console.log(`login: skipped, ${file} has the cookie`);
  }
  for (const cookie of http.cookies!.list(base)) console.log(`cookie: ${cookie.key}`);
  const me = await http.get('me');
  console.log('me:', await me.text());
} catch (err) {
  // One line, not a stack: a host that cannot be reached is the usual reason here.
  console.error(`${(err as Error).name}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await http.close(); // saves the jar to the file
}
