/**
 * @module wirekit/server
 * An HTTP server framework on node:http: routing, middleware, body readers with limits, static
 * files, cookies, streaming and a graceful close.
 */
export {
  App,
  type AppOptions,
  appDefaults,
  type ErrorHandler,
  type Handler,
  type Middleware,
  type RouteOptions,
} from './app.js';
export {
  type BodyOptions,
  bodyDefaults,
  bodyStream,
  type FormOptions,
  readBytes,
  readForm,
  readJson,
  readText,
} from './body.js';
export { safeJsonParse } from '../http/json.js';
export { Context } from './context.js';
export { type CookieOptions, Cookies } from './cookies.js';
export {
  badRequest,
  conflict,
  contentTooLarge,
  forbidden,
  HttpError,
  type HttpErrorOptions,
  internalError,
  methodNotAllowed,
  notFound,
  serviceUnavailable,
  unauthorized,
  unprocessable,
  unsupportedMediaType,
} from './errors.js';
export { type FetchHandler, type ServeOptions, serve, serveDefaults } from './serve.js';
export {
  type FieldPart,
  type FilePart,
  type MultipartOptions,
  type MultipartReader,
  multipartDefaults,
  type Part,
  readMultipart,
  type SavedFile,
} from './multipart.js';
export { type AccessLogOptions, accessLog } from './log.js';
export { type MetricsOptions, metrics } from './metrics.js';
export { type AppServer, type ListenOptions, listenDefaults } from './listen.js';
export { FileResult, Redirect } from './respond.js';
export { type SendFileOptions, sendFile, sendFileDefaults } from './send-file.js';
export { createStatic, type StaticHandler, type StaticOptions, staticDefaults } from './static.js';
export { type WebSocketHandler, type WebSocketRouteOptions, wsRouteDefaults } from '../ws/server.js';
