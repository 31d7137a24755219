/**
 * @module wirekit
 * Everything wirekit exports, by module: `wirekit/net`, and the error classes.
 */
export * from './errors.js';
export * from './net/index.js';
