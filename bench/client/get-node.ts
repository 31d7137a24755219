/** node:http with a keep-alive Agent: what a Node developer writes without a client library. */
import * as http from 'node:http';
import { runGets } from './gets.js';

// #region doc
const agent = new http.Agent({ keepAlive: true });

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}
// #endregion

await runGets(get);
