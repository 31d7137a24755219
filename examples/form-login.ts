/**
 * The seed's urlencoded POST: `username=john&password=...&submit=Login` to a login page, and a
 * session cookie once it succeeds.
 * Run: npx tsx examples/form-login.ts   then:
 *      curl -i -d 'username=john&password=secret&submit=Login' http://127.0.0.1:5000/register.php
 */
import { pathToFileURL } from 'node:url';
import { App, unauthorized } from 'wirekit/server';

// A demo user table; a real app stores password hashes, never passwords.
const users = new Map([['john', 'secret']]);

const app = new App({ cookieSecret: process.env.COOKIE_SECRET ?? 'change me' });

app.get(
  '/',
  () =>
    new Response(
      '<form method="post" action="/register.php"><input name="username"><input name="password" type="password"><input type="submit" name="submit" value="Login"></form>',
      { headers: { 'content-type': 'text/html; charset=utf-8' } },
    ),
);

// POST /register.php with Content-Type: application/x-www-form-urlencoded
app.post('/register.php', async (ctx) => {
  const { username, password } = await ctx.form();
  if (typeof username !== 'string' || users.get(username) !== password)
    throw unauthorized('wrong user or password');
  ctx.cookies.set('user', username, { signed: true, maxAge: 3600 });
  return { welcome: username };
});

app.get('/me', (ctx) => ({ user: ctx.cookies.get('user', { signed: true }) ?? null }));

export default app;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await app.listen({ port: Number(process.env.PORT ?? 5000) });
  console.log(`Running on ${server.url}`);
  process.once('SIGINT', () => void server.close({ timeout: 2_000 }));
  process.once('SIGTERM', () => void server.close({ timeout: 2_000 }));
}
