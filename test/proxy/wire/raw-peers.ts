/**
 * Raw peers for wire tests: a TCP backend that records the exact bytes of every request it
 * receives and answers with exact scripted bytes, and a client connection that sends exact bytes
 * and reads back exact responses. Neither uses node:http, so nothing is merged, reordered,
 * re-cased or dropped between the wire and the test.
 */
import net from 'node:net';
import { once } from 'node:events';
import { readBody, readHead, requestFraming, responseFraming } from './messages.js';
import type { Message } from './messages.js';

/** What the backend answers: the bytes, and whether it closes the connection after them. */
export type Answer = string | Buffer | { bytes: string | Buffer; close: boolean };

/** Decides the answer to one request (its bytes as received). */
export type Script = (request: Message) => Answer;

export interface RecordingBackend {
  port: number;
  /** Every request received, in order. */
  readonly requests: Message[];
  /** Requests whose framing the backend could not read (e.g. two Content-Length fields), with why. */
  readonly refused: { head: string; reason: string }[];
  /** Connections accepted so far. */
  connections: number;
  /** Bytes received so far, on every connection, whether or not they made a request. */
  bytesReceived: number;
  /** The answer script; tests replace it between cases. */
  script: Script;
  close(): Promise<void>;
}

/** A path every test connection may use to check what follows a response (see `WireClient.checkNothingFollows`). */
export const SENTINEL_PATH = '/__wire_sentinel';
const SENTINEL_BODY = 'sentinel';
const SENTINEL_ANSWER = `HTTP/1.1 200 OK\r\ncontent-length: ${SENTINEL_BODY.length}\r\n\r\n${SENTINEL_BODY}`;

export async function startRecordingBackend(script: Script): Promise<RecordingBackend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    backend.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let closed = false;
    const consume = (ended: boolean): void => {
      while (!closed) {
        const head = readHead(buf);
        if (head === null) return;
        let framing;
        try {
          framing = requestFraming(head.fields);
        } catch (err) {
          // Answered as a strict server would, and kept for the test to report.
          backend.refused.push({ head: buf.toString('latin1', 0, head.size), reason: (err as Error).message });
          closed = true;
          socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
          return;
        }
        const read = readBody(buf, head.size, framing, ended);
        if (read === null) return;
        const message: Message = { ...head, body: read.body, bytes: Buffer.from(buf.subarray(0, read.end)) };
        buf = buf.subarray(read.end);
        const sentinel = message.startLine.split(' ')[1] === SENTINEL_PATH;
        if (!sentinel) backend.requests.push(message);
        const answer = sentinel ? SENTINEL_ANSWER : backend.script(message);
        if (typeof answer === 'string' || Buffer.isBuffer(answer)) socket.write(answer);
        else {
          socket.write(answer.bytes);
          if (answer.close) {
            closed = true;
            socket.end();
          }
        }
      }
    };
    socket.on('data', (chunk: Buffer) => {
      backend.bytesReceived += chunk.length;
      buf = Buffer.concat([buf, chunk]);
      consume(false);
    });
    socket.on('end', () => {
      consume(true);
      if (!closed) socket.end();
    });
  });
  const backend: RecordingBackend = {
    port: 0,
    requests: [],
    refused: [],
    connections: 0,
    bytesReceived: 0,
    script,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  backend.port = (server.address() as net.AddressInfo).port;
  return backend;
}

/** A response as the client read it. */
export interface RawResponse extends Message {
  status: number;
  /** Interim (1xx) responses that came before it. */
  interim: Message[];
}

/**
 * One client connection speaking raw bytes. Reads are explicit: `readResponse` parses exactly one
 * response off what has arrived (waiting for more as needed), leaving anything after it for the
 * next read.
 */
export class WireClient {
  private buf = Buffer.alloc(0);
  private ended = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<WireClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new WireClient(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until more bytes arrive or the peer closes; throws after `timeoutMs` as a safety net. */
  private async more(timeoutMs: number, what: string): Promise<void> {
    if (this.ended) throw new Error(`connection closed while waiting for ${what}; received so far: ${JSON.stringify(this.buf.toString('latin1'))}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received so far: ${JSON.stringify(this.buf.toString('latin1'))}`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Half-closes: sends FIN after what was written. */
  end(): void {
    this.socket.end();
  }

  /** Bytes received and not yet read as a response. */
  get pending(): Buffer {
    return this.buf;
  }

  /**
   * Reads one final response (after any 1xx) to a request made with `method`; with `interim`,
   * returns the first response read, a 1xx one included.
   */
  async readResponse(method: string, opts: { interim?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const interim: Message[] = [];
    for (;;) {
      const head = readHead(this.buf);
      if (head !== null) {
        const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(head.startLine);
        if (m === null) throw new Error(`not a status line: ${JSON.stringify(head.startLine)}`);
        const status = Number(m[1]);
        const read = readBody(this.buf, head.size, responseFraming(method, status, head.fields), this.ended);
        if (read !== null) {
          const message: Message = { ...head, body: read.body, bytes: Buffer.from(this.buf.subarray(0, read.end)) };
          this.buf = this.buf.subarray(read.end);
          if (status >= 100 && status < 200 && status !== 101 && opts.interim !== true) {
            interim.push(message);
            continue;
          }
          return { ...message, status, interim };
        }
      }
      await this.more(timeoutMs, 'complete response');
    }
  }

  /** Waits for the peer to close; resolves to the bytes that arrived and were not read as a response. */
  async readUntilClose(timeoutMs = 10_000): Promise<Buffer> {
    while (!this.ended) await this.more(timeoutMs, 'the connection to close').catch((err: Error) => {
      if (!this.ended) throw err;
    });
    return this.buf;
  }

  get closed(): boolean {
    return this.ended;
  }

  /**
   * Proves nothing stray followed the last response: either the connection closed cleanly, or a
   * next request on it gets exactly the sentinel answer as the very next bytes.
   */
  async checkNothingFollows(host: string): Promise<'closed' | 'kept alive'> {
    if (this.ended) {
      if (this.buf.length > 0) throw new Error(`bytes after the response: ${JSON.stringify(this.buf.toString('latin1'))}`);
      return 'closed';
    }
    this.send(`GET ${SENTINEL_PATH} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    let res: RawResponse;
    try {
      res = await this.readResponse('GET');
    } catch (err) {
      if (this.ended && this.buf.length === 0) return 'closed';
      throw err;
    }
    if (res.status !== 200 || res.body.data.toString('latin1') !== SENTINEL_BODY) {
      throw new Error(`stray bytes after the response: the next response read was ${JSON.stringify(res.bytes.toString('latin1'))}`);
    }
    return 'kept alive';
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends one request on a fresh connection and reads its response; checks nothing stray follows it. */
export async function roundTrip(port: number, request: string | Buffer, method: string, host: string): Promise<RawResponse> {
  const client = await WireClient.connect(port);
  try {
    client.send(request);
    const res = await client.readResponse(method);
    await client.checkNothingFollows(host);
    return res;
  } finally {
    client.close();
  }
}
