/** got: its defaults, through node:http's global Agent (keep-alive since Node 19). */
import got from 'got';
import { runGets } from './gets.js';

// #region doc
async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await got(url);
  return { status: response.statusCode, body: response.body };
}
// #endregion

await runGets(get);
