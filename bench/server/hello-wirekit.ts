/** Hello, wirekit: the route a user writes, importing the built package by name. */
import { App } from 'wirekit/server';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = new App();
app.get('/', () => 'Hello World!');
const server = await app.listen({ port: 0 });
// #endregion

report('listening', { port: server.port });
exitWithRunner();
