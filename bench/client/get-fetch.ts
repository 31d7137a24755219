/** The global fetch of Node (undici's WHATWG fetch), on its global keep-alive Agent. */
import { runGets } from './gets.js';

// #region doc
async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}
// #endregion

await runGets(get);
