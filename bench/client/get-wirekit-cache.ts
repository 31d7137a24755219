/**
 * wirekit with its HTTP cache in memory: the server marks the file fresh for a day, so after the
 * first answer the session serves the rest from its cache without a round trip.
 */
import { Session } from 'wirekit/client';
import { runGets } from './gets.js';

// #region doc
const session = new Session({ cache: true });

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await session.get(url);
  return { status: response.status, body: await response.text() };
}
// #endregion

await runGets(get);
