/**
 * A stand-in trace collector for the Skiff rows (tracing at 1 %): accepts Zipkin v2 JSON (or any) POSTs on
 * loopback, answers 202 and counts what arrived, so exporting spans costs the proxy what it would
 * against a real collector and the report can show that spans did arrive.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TraceSink {
  url: string;
  posts: number;
  bytes: number;
  close(): Promise<void>;
}

export async function startTraceSink(): Promise<TraceSink> {
  const sink: TraceSink = {
    url: '',
    posts: 0,
    bytes: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    req.on('data', (d: Buffer) => (sink.bytes += d.length));
    req.on('end', () => {
      sink.posts++;
      res.writeHead(202).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/spans`;
  return sink;
}
