/**
 * What every contender of the server area serves, and what the load generator sends and
 * checks: the route table of the routing case and the 1 KiB JSON document of the echo case.
 */

/** Case 1: `GET /` answers this text. */
export const HELLO = 'Hello World!';

/** Case 2: 20 static routes, 79 routes with two parameters, and the one that is hit: 100. */
export const STATIC_COUNT = 20;
export const TWO_PARAM_COUNT = 79;
/** The path wrk requests in the routing case, and what it must answer. */
export const ROUTES_PATH = '/users/12345/posts/67890';
export const ROUTES_ANSWER = { id: '12345', post: '67890' };

/** Case 3: the path of the echo route. */
export const ECHO_PATH = '/echo';

/**
 * A 1 KiB JSON document (exactly 1,024 bytes as JSON.stringify writes it): nested objects, an
 * array of objects, numbers, booleans and strings, as an API request carries them.
 */
export const PAYLOAD = (() => {
  const document = {
    id: 12345,
    user: { name: 'Ada Lovelace', email: 'ada@example.com', admin: false },
    tags: ['alpha', 'beta', 'gamma', 'delta'],
    items: Array.from({ length: 16 }, (_, i) => ({
      sku: `SKU-${String(i + 1).padStart(4, '0')}`,
      qty: i + 1,
      price: (999 + 100 * i) / 100,
    })),
    note: '',
  };
  document.note = 'x'.repeat(1024 - Buffer.byteLength(JSON.stringify(document)));
  return document;
})();

export type Payload = typeof PAYLOAD;

/** Which case a target or a load run serves. */
export type ServerCase = 'hello' | 'routes' | 'echo';

export function caseArg(): ServerCase {
  const index = process.argv.indexOf('--case');
  const value = index === -1 ? undefined : process.argv[index + 1];
  if (value !== 'hello' && value !== 'routes' && value !== 'echo') {
    throw new Error('--case hello|routes|echo is required');
  }
  return value;
}

export { stringArg } from '../lib/child.js';
