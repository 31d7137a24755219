/**
 * @module wirekit/client
 * An HTTP client on undici, like aiohttp's ClientSession: `Session` (pools, keep-alive, cookies,
 * redirects, timeouts, decompression) and the `Response` it resolves to.
 */
export type { EncodedBody, MultipartBlob, MultipartFields, MultipartFile, MultipartValue } from './body.js';
export { Cookies } from './cookies.js';
export { MAX_CONTENT_ENCODINGS } from './decompress.js';
export {
  type BodyInput,
  type CookiesOption,
  defaultRequestHeaders,
  type HeadersInput,
  type QueryInput,
  type RedirectOptions,
  type RequestOptions,
  type SessionOptions,
  sessionDefaults,
  type TimeoutOptions,
} from './options.js';
export { REDIRECT_BODY_HEADERS, REDIRECT_CREDENTIAL_HEADERS } from './redirects.js';
export { Response, type ResponseHeaders } from './response.js';
export { Session, type VerbOptions } from './session.js';
export type { Timings } from './timings.js';
