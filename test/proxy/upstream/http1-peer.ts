/**
 * What the upstream HTTP/1.1 client and pool tests talk to: a real loopback TCP server whose
 * connections keep every byte they receive (latin1 text), so that tests read the exact request
 * bytes and write the exact response bytes; and recorders for what a request hears back.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { Socket } from 'node:net';
import type { HeaderList } from '../../../src/proxy/http/headers.js';
import type { ResetReason, ResponseHandler } from '../../../src/proxy/upstream/pool.js';

/** One accepted connection. */
export class Peer {
  private received = '';
  private readonly waiters: { text: string; count: number; resolve: () => void }[] = [];
  /** Resolves when the connection is gone (the client closed or reset it, or the test did). */
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.received += d.toString('latin1');
      for (const w of [...this.waiters]) {
        if (this.count(w.text) >= w.count) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /** Every byte received so far. */
  text(): string {
    return this.received;
  }

  private count(text: string): number {
    let n = 0;
    for (let i = this.received.indexOf(text); i >= 0; i = this.received.indexOf(text, i + text.length)) n++;
    return n;
  }

  /** Resolves once `text` has been received `count` times in all. */
  waitFor(text: string, count = 1): Promise<void> {
    if (this.count(text) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ text, count, resolve }));
  }

  /** Resolves once `n` request heads have arrived on this connection. */
  heads(n: number): Promise<void> {
    return this.waitFor('\r\n\r\n', n);
  }

  write(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'));
  }
}

/** A loopback server; `respond`, when set, answers each request head as it arrives. */
export class PeerServer {
  readonly peers: Peer[] = [];
  private readonly waiting: { index: number; resolve: (p: Peer) => void }[] = [];
  private readonly server: net.Server;
  port = 0;

  constructor(respond?: (peer: Peer, index: number) => string | null) {
    this.server = net.createServer((s) => {
      const peer = new Peer(s);
      if (respond !== undefined) {
        let answered = 0;
        s.on('data', () => {
          const heads = peer.text().split('\r\n\r\n').length - 1;
          while (answered < heads) {
            const reply = respond(peer, answered++);
            if (reply !== null) peer.write(reply);
          }
        });
      }
      this.peers.push(peer);
      for (const w of this.waiting.filter((x) => x.index === this.peers.length - 1)) w.resolve(peer);
    });
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** The connection accepted `index`-th (0-based), once it is. */
  peer(index: number): Promise<Peer> {
    if (index < this.peers.length) return Promise.resolve(this.peers[index]);
    return new Promise((resolve) => this.waiting.push({ index, resolve }));
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

export interface Head {
  status: number;
  headers: HeaderList;
  contentLength: number;
  endStream: boolean;
}

/** Records what one request hears back; `finished` settles on the response's end or a reset. */
export class Exchange implements ResponseHandler {
  readonly events: string[] = [];
  head: Head | null = null;
  body = '';
  trailers: HeaderList | null = null;
  reset: { reason: ResetReason; afterHeaders: boolean } | null = null;
  upgrade: { status: number; headers: HeaderList; socket: Socket; head: Buffer } | null = null;
  /** What `onResponseData` answers (false asks the stream to pause). */
  accept = true;
  /** Called on each data chunk, before it is recorded. */
  onData: ((chunk: Buffer) => void) | null = null;
  readonly finished: Promise<void>;
  private finish!: () => void;

  constructor() {
    this.finished = new Promise((resolve) => (this.finish = resolve));
  }

  onResponseHead(status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
    this.head = { status, headers, contentLength, endStream };
    this.events.push(`head ${status}`);
  }
  onResponseData(chunk: Buffer): boolean {
    this.onData?.(chunk);
    this.body += chunk.toString('latin1');
    return this.accept;
  }
  onResponseEnd(trailers: HeaderList | null): void {
    this.trailers = trailers;
    this.events.push('end');
    this.finish();
  }
  onUpstreamReset(reason: ResetReason, afterHeaders: boolean): void {
    this.reset = { reason, afterHeaders };
    this.events.push(`reset ${reason}`);
    this.finish();
  }
  onUpstreamDrain(): void {
    this.events.push('drain');
  }
  onUpgrade(status: number, headers: HeaderList, socket: Socket, head: Buffer): void {
    this.upgrade = { status, headers, socket, head };
    this.events.push(`upgrade ${status}`);
    this.finish();
  }
}
