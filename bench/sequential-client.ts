/**
 * Requests one after another on one keep-alive connection: the load of an instruction count, where
 * every run must send the same requests in the same way (wrk's timing-driven load would not).
 * Each response must be a 200 with a Content-Length body.
 */
import net from 'node:net';
import type { Endpoint } from './peers.js';

/** Sends `count` GET requests for `path` with Host `host` to `entry`, each after the last response. */
export async function sequentialRequests(entry: Endpoint, host: string, path: string, count: number): Promise<void> {
  if (count <= 0) return;
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'latin1');
  const socket = net.connect(entry.port, entry.address);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    let done = 0;
    let pending = '';
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.on('connect', () => socket.write(request));
    socket.on('error', fail);
    socket.on('close', () => {
      if (done < count) fail(new Error(`${entry.address}:${entry.port} closed the connection after ${done} of ${count} responses`));
    });
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = pending.slice(0, headEnd);
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (!head.startsWith('HTTP/1.1 200 ') || length === null) {
          fail(new Error(`${entry.address}:${entry.port} answered request ${done + 1} with ${JSON.stringify(head.slice(0, 200))}`));
          return;
        }
        const end = headEnd + 4 + Number(length[1]);
        if (pending.length < end) return;
        pending = pending.slice(end);
        if (++done === count) {
          socket.removeAllListeners('close');
          socket.end();
          resolve();
          return;
        }
        socket.write(request);
      }
    });
  });
}
