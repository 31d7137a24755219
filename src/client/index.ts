/**
 * @module wirekit/client
 * An HTTP client on undici, like aiohttp's ClientSession: `Session` (pools, keep-alive, cookies,
 * redirects, timeouts, decompression) and the `Response` it resolves to.
 */
export type { EncodedBody, MultipartBlob, MultipartFields, MultipartFile, MultipartValue } from './body.js';
export type { CacheState } from './cache.js';
export { cacheDefaults, type CacheOptions, type RequestCacheMode } from './cache-options.js';
export { Cookies } from './cookies.js';
export { MAX_CONTENT_ENCODINGS } from './decompress.js';
export {
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type DownloadTarget,
  downloadDefaults,
} from './download.js';
export type {
  AfterResponseHook,
  BeforeRedirectHook,
  BeforeRequestHook,
  BeforeRetryHook,
  HookRequest,
  Hooks,
  RedirectInfo,
  RetryInfo,
} from './hooks.js';
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
export type { ProxyOption } from './proxy.js';
export { REDIRECT_BODY_HEADERS, REDIRECT_CREDENTIAL_HEADERS } from './redirects.js';
export { Response, type ResponseHeaders } from './response.js';
export {
  type BackoffFunction,
  type BackoffOptions,
  retryDefaults,
  type RetryOption,
  type RetryOptions,
} from './retry.js';
export { Session, type VerbOptions } from './session.js';
export type { Timings } from './timings.js';
