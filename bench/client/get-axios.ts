/** axios on Node: its http adapter, through node:http's global Agent (keep-alive since Node 19). */
import axios from 'axios';
import { runGets } from './gets.js';

// #region doc
async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await axios.get<string>(url, { responseType: 'text' });
  return { status: response.status, body: response.data };
}
// #endregion

await runGets(get);
