/**
 * The fallback backend when nginx is not installed: a Node server on raw sockets answering every
 * request head with the same 1 KB body (requests without bodies only, pipelining allowed).
 *
 *   node dist/bench/node-backend.js PORT ADDRESS [ADDRESS...]
 */
import net from 'node:net';
import { BODY_BYTES } from './backend.js';

const body = Buffer.alloc(BODY_BYTES, 0x78);
const response = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n`), body]);

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  let pending = '';
  socket.on('data', (d: Buffer) => {
    pending += d.toString('latin1');
    let answers = 0;
    let end: number;
    while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
      pending = pending.slice(end + 4);
      answers++;
    }
    // One write per batch of pipelined requests.
    if (answers === 1) socket.write(response);
    else if (answers > 1) socket.write(Buffer.concat(Array.from({ length: answers }, () => response)));
  });
  socket.on('error', () => socket.destroy());
}

const [portArg, ...addresses] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || addresses.length === 0) {
  process.stderr.write('usage: node-backend.js PORT ADDRESS [ADDRESS...]\n');
  process.exit(2);
}
let bound = 0;
for (const address of addresses) {
  net.createServer(serve).listen(port, address, () => {
    if (++bound === addresses.length) process.stdout.write(`listening ${addresses.join(',')}:${port}\n`);
  });
}
