/**
 * @module wirekit
 * Everything wirekit exports, by module: `wirekit/net`, `wirekit/client`, and the error classes.
 */
export * from './errors.js';
export * from './net/index.js';
export * from './client/index.js';
