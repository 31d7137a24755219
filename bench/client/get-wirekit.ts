/** wirekit: a Session with its defaults (cookie jar, redirects, decompression), from the built package. */
import { Session } from 'wirekit/client';
import { runGets } from './gets.js';

// #region doc
const session = new Session();

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await session.get(url);
  return { status: response.status, body: await response.text() };
}
// #endregion

await runGets(get);
