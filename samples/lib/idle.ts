/**
 * A process that does nothing until it is asked to stop: the local stand-in for client
 * containers whose command is `sleep infinity` (curl, sleep), which exist only to `exec` into.
 */
import { exitOnSignals } from './app-server.js';

const timer = setInterval(() => undefined, 1 << 30);
process.stdout.write('idle: waiting for SIGTERM\n');
exitOnSignals('idle', (done) => {
  clearInterval(timer);
  done();
});
