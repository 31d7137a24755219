/**
 * @module wirekit
 * Everything wirekit exports, by module: `wirekit/net`, `wirekit/client`, `wirekit/html`,
 * `wirekit/ws`, and the error classes.
 */
export * from './errors.js';
export * from './net/index.js';
export * from './client/index.js';
export * from './html/index.js';
export * from './ws/index.js';
