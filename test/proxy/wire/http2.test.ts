/**
 * HTTP/2 clients on the wire: h2c requests with END_STREAM on the HEADERS frame, with and without
 * `content-length`, with DATA of known and unknown length, an empty final DATA frame, and trailers,
 * as the HTTP/1.1 backend receives them (exact bytes) through every path of the wire topology;
 * and the response header list an HTTP/2 client reads.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http2';
import { assertHead, forwardedRequest, forwardedResponse } from './envoy-model.js';
import type { RequestCase } from './envoy-model.js';
import type { Field, Message } from './messages.js';
import { startWireTopology } from './topology.js';
import type { Path, WireTopology } from './topology.js';
import { Disposer } from '../../helpers/disposer.js';

interface H2Reply {
  status: number;
  /** The response fields as received, pseudo-headers left out. */
  fields: Field[];
  body: string;
  trailers: Field[];
}

function pairs(raw: readonly string[]): Field[] {
  const out: Field[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!raw[i].startsWith(':')) out.push([raw[i], raw[i + 1]]);
  return out;
}

/** One h2c request on its own session. `data` undefined sends END_STREAM on HEADERS. */
async function h2Request(port: number, headers: OutgoingHttpHeaders, data: string[] | undefined, trailers?: OutgoingHttpHeaders): Promise<H2Reply> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<H2Reply>((resolve, reject) => {
      session.on('error', reject);
      const req = session.request(headers, { endStream: data === undefined, waitForTrailers: trailers !== undefined });
      let status = 0;
      let fields: Field[] = [];
      let got: Field[] = [];
      const chunks: Buffer[] = [];
      req.on('response', (_h: unknown, _flags: unknown, raw: string[]) => {
        status = Number(raw[raw.indexOf(':status') + 1]);
        fields = pairs(raw);
      });
      req.on('trailers', (_h: unknown, _flags: unknown, raw: string[]) => {
        got = pairs(raw);
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ status, fields, body: Buffer.concat(chunks).toString('latin1'), trailers: got }));
      req.on('error', reject);
      if (trailers !== undefined) req.on('wantTrailers', () => req.sendTrailers(trailers));
      if (data !== undefined) {
        for (const d of data) req.write(d);
        req.end();
      }
    });
  } finally {
    session.close();
  }
}

interface H2Case {
  name: string;
  method: string;
  headers: Field[];
  /** DATA frames; undefined: END_STREAM on the HEADERS frame. */
  data?: string[];
  trailers?: Field[];
  body: RequestCase['body'];
  content: string;
}

const CASES: H2Case[] = [
  { name: 'GET, END_STREAM on HEADERS', method: 'GET', headers: [], body: 'none', content: '' },
  { name: 'DELETE, END_STREAM on HEADERS', method: 'DELETE', headers: [], body: 'none', content: '' },
  { name: 'POST, END_STREAM on HEADERS, no content-length', method: 'POST', headers: [], body: 'none', content: '' },
  { name: 'POST, END_STREAM on HEADERS, content-length: 0', method: 'POST', headers: [['content-length', '0']], body: 'length', content: '' },
  { name: 'PUT with content-length and DATA', method: 'PUT', headers: [['content-type', 'text/plain'], ['content-length', '11']], data: ['hello', ' world'], body: 'length', content: 'hello world' },
  { name: 'PATCH with DATA and no content-length', method: 'PATCH', headers: [['content-type', 'text/plain']], data: ['hello', ' world'], body: 'chunked', content: 'hello world' },
  { name: 'POST with an empty DATA frame carrying END_STREAM', method: 'POST', headers: [], data: [], body: 'chunked', content: '' },
  { name: 'POST with DATA and trailers', method: 'POST', headers: [['te', 'trailers']], data: ['abc'], trailers: [['x-checksum', 'c0ffee']], body: 'chunked', content: 'abc' },
];

describe('HTTP/2 clients on the wire', () => {
  let topo: WireTopology;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    topo = disposer.add(await startWireTopology((req: Message) => {
      if (req.startLine.startsWith('HEAD ')) return 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n';
      return 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2; Path=/\r\nContent-Length: 2\r\n\r\nok';
    }), (r) => r.close());
  }));

  after(() => disposer.drain());

  for (const pathName of ['sidecar outbound', 'sidecar inbound', 'gateway', 'sidecar outbound → sidecar inbound', 'gateway → sidecar inbound']) {
    describe(pathName, () => {
      const path = (): Path => topo.paths.find((p) => p.name === pathName)!;

      for (const c of CASES) {
        test(c.name, async () => {
          const p = path();
          const seen = topo.backend.requests.length;
          const refused = topo.backend.refused.length;
          const headers: OutgoingHttpHeaders = { ':method': c.method, ':scheme': 'http', ':authority': p.host, ':path': '/h2/items?x=1' };
          for (const [n, v] of [['user-agent', 'wire-test/1.0'], ...c.headers]) headers[n] = v;
          const trailers = c.trailers === undefined ? undefined : Object.fromEntries(c.trailers);
          const reply = await h2Request(p.port, headers, c.data, trailers);
          assert.deepEqual(topo.backend.refused.slice(refused), [], 'the backend could read the request');
          assert.equal(reply.status, 200);
          assert.equal(topo.backend.requests.length, seen + 1);
          const got = topo.backend.requests[seen];
          assert.equal(got.startLine, `${c.method} /h2/items?x=1 HTTP/1.1`);
          // The backend sees :authority as host, first, as Envoy's HTTP/1 codec writes it.
          const sent: Field[] = [['host', p.host], ['user-agent', 'wire-test/1.0'], ...c.headers];
          assertHead(got.fields, forwardedRequest({ method: c.method, fields: sent, body: c.body, telemetry: true }, p.hops), 'request head at the backend');
          assert.equal(got.body.data.toString('latin1'), c.content);
          assert.deepEqual(got.body.trailers, c.trailers ?? []);
        });
      }

      test('the response header list an HTTP/2 client reads', async () => {
        const p = path();
        const reply = await h2Request(p.port, { ':method': 'GET', ':scheme': 'http', ':authority': p.host, ':path': '/h2/response' }, undefined);
        assert.equal(reply.status, 200);
        assert.equal(reply.body, 'ok');
        const fields: Field[] = [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2; Path=/'], ['Content-Length', '2']];
        assertHead(reply.fields, forwardedResponse({ status: 200, method: 'GET', fields, body: 'length', telemetry: true }, p.hops), 'response at the HTTP/2 client');
      });
    });
  }
});
