/** undici.request, the baseline: the engine's own request API, on its global keep-alive Agent. */
import { request } from 'undici';
import { runGets } from './gets.js';

// #region doc
async function get(url: string): Promise<{ status: number; body: string }> {
  const { statusCode, body } = await request(url);
  return { status: statusCode, body: await body.text() };
}
// #endregion

await runGets(get);
