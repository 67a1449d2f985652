/**
 * Responses on the wire, byte for byte: what the backend sends (exact bytes: 200/204/304, the
 * answer to HEAD, Content-Length, chunked with and without trailers, close-delimited, several
 * Set-Cookie, with and without date and server, hop-by-hop fields) against the whole response an
 * HTTP/1.1 client reads through every path of the wire topology, compared with what Envoy would
 * send (envoy-model.ts); and the upstream framing errors Envoy answers 502 (two Content-Length
 * fields, a length or a transfer coding on a 204). A 204 the proxy answers itself (a route's direct
 * response) carries no Content-Length either.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertHead, forwardedResponse } from './envoy-model.js';
import type { ResponseCase } from './envoy-model.js';
import { chunked, headText, readHead } from './messages.js';
import type { Field } from './messages.js';
import { SkiffProxy } from '../../../src/proxy/proxy.js';
import { WireClient, roundTrip } from './raw-peers.js';
import type { Answer } from './raw-peers.js';
import { startWireTopology } from './topology.js';
import type { Path, WireTopology } from './topology.js';

const BACKEND_DATE = 'Tue, 01 Dec 2026 10:00:00 GMT';

interface ResponseForm {
  name: string;
  method?: string;
  status: number;
  fields: Field[];
  body: ResponseCase['body'];
  /** The body bytes as the backend frames them. */
  bytes?: string;
  /** The content and trailers the client must read. */
  data?: string;
  trailers?: Field[];
}

const FORMS: ResponseForm[] = [
  {
    name: '200 with Content-Length, date and server from the app',
    status: 200,
    fields: [['Content-Type', 'application/json'], ['Date', BACKEND_DATE], ['Server', 'app/1.2'], ['Content-Length', '11'], ['X-App', 'a']],
    body: 'length',
    bytes: '{"ok":true}',
    data: '{"ok":true}',
  },
  { name: '200 with Content-Length: 0, no date', status: 200, fields: [['Content-Length', '0']], body: 'length', bytes: '', data: '' },
  { name: '204', status: 204, fields: [['X-App', 'gone']], body: 'none' },
  { name: '204 with Content-Length: 0 loses it', status: 204, fields: [['Content-Length', '0'], ['X-App', 'gone']], body: 'none' },
  { name: '304 keeps its Content-Length and validators', status: 304, fields: [['ETag', '"v1"'], ['Cache-Control', 'max-age=60'], ['Content-Length', '1234']], body: 'none' },
  { name: 'the answer to HEAD keeps its Content-Length', method: 'HEAD', status: 200, fields: [['Content-Type', 'text/plain'], ['Content-Length', '1234']], body: 'none' },
  {
    name: 'chunked',
    status: 200,
    fields: [['Content-Type', 'text/plain'], ['Transfer-Encoding', 'chunked']],
    body: 'chunked',
    bytes: chunked(['one ', 'two ', 'three']),
    data: 'one two three',
    trailers: [],
  },
  {
    name: 'chunked with trailers, announced by Trailer',
    status: 200,
    fields: [['Content-Type', 'text/plain'], ['Trailer', 'X-Checksum, X-Count'], ['Transfer-Encoding', 'chunked']],
    body: 'chunked',
    bytes: chunked(['body'], [['X-Checksum', 'abc123'], ['X-Count', '1']]),
    data: 'body',
    trailers: [['x-checksum', 'abc123'], ['x-count', '1']],
  },
  { name: 'close-delimited', status: 200, fields: [['Content-Type', 'text/plain']], body: 'close', bytes: 'until the end', data: 'until the end' },
  {
    name: 'several Set-Cookie, each its own field, in order',
    status: 200,
    fields: [
      ['Set-Cookie', 'a=1; Path=/; Expires=Wed, 09 Jun 2027 10:18:14 GMT'],
      ['Content-Length', '2'],
      ['Set-Cookie', 'b=2; HttpOnly'],
      ['Set-Cookie', 'c=3'],
      ['Vary', 'Accept'],
      ['Vary', 'Cookie'],
    ],
    body: 'length',
    bytes: 'ok',
    data: 'ok',
  },
  {
    name: 'hop-by-hop fields from the app do not pass',
    status: 200,
    fields: [['Connection', 'keep-alive, X-Internal'], ['Keep-Alive', 'timeout=5'], ['X-Internal', 'secret'], ['Content-Length', '2']],
    body: 'length',
    bytes: 'ok',
    data: 'ok',
  },
];

function reason(status: number): string {
  return status === 200 ? 'OK' : status === 204 ? 'No Content' : status === 304 ? 'Not Modified' : 'Whatever';
}

/** The backend answers the form named by the request's path. */
function answer(forms: ResponseForm[]): (req: { startLine: string }) => Answer {
  return (req) => {
    const path = req.startLine.split(' ')[1];
    const form = forms.find((f) => path === `/resp/${encodeURIComponent(f.name)}`);
    if (form === undefined) return 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n';
    const bytes = headText(`HTTP/1.1 ${form.status} ${reason(form.status)}`, form.fields) + (form.bytes ?? '');
    return form.body === 'close' ? { bytes, close: true } : bytes;
  };
}

/** Upstream heads Envoy's client codec refuses: the client gets 502 with Envoy's text. */
const REFUSED: { name: string; head: string }[] = [
  { name: 'two equal Content-Length fields', head: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok' },
  { name: 'a Content-Length list', head: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok' },
  { name: 'two Content-Length fields on a 304', head: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n' },
  { name: 'a non-zero Content-Length on a 204', head: 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n' },
  { name: 'Transfer-Encoding on a 204', head: 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n' },
];

describe('responses on the wire', () => {
  let topo: WireTopology;

  before(async () => {
    const script = answer(FORMS);
    topo = await startWireTopology((req) => {
      const path = req.startLine.split(' ')[1];
      const refused = REFUSED.find((r) => path === `/refused/${encodeURIComponent(r.name)}`);
      return refused === undefined ? script(req) : refused.head;
    });
  });

  after(async () => {
    await topo.close();
  });

  for (const pathName of ['sidecar outbound', 'sidecar inbound', 'gateway', 'sidecar outbound → sidecar inbound', 'gateway → sidecar inbound']) {
    describe(pathName, () => {
      const path = (): Path => topo.paths.find((p) => p.name === pathName)!;

      for (const form of FORMS) {
        test(form.name, async () => {
          const p = path();
          const method = form.method ?? 'GET';
          const res = await roundTrip(p.port, `${method} /resp/${encodeURIComponent(form.name)} HTTP/1.1\r\nHost: ${p.host}\r\n\r\n`, method, p.host);
          assert.equal(res.startLine, `HTTP/1.1 ${form.status} ${reason(form.status)}`);
          assertHead(res.fields, forwardedResponse({ status: form.status, method, fields: form.fields, body: form.body, telemetry: true }, p.hops), 'response head at the client');
          assert.equal(res.body.data.toString('latin1'), form.data ?? '', 'the content');
          assert.deepEqual(res.body.trailers, form.trailers ?? [], 'the trailers');
        });
      }

      for (const r of REFUSED) {
        test(`${r.name}: 502, upstream protocol error`, async () => {
          const p = path();
          const res = await roundTrip(p.port, `GET /refused/${encodeURIComponent(r.name)} HTTP/1.1\r\nHost: ${p.host}\r\n\r\n`, 'GET', p.host);
          assert.equal(res.status, 502, res.bytes.toString('latin1'));
          assert.equal(res.body.data.toString('latin1'), 'upstream connect error or disconnect/reset before headers. reset reason: protocol error');
          assert.equal(readHead(res.bytes)!.fields.filter(([n]) => n === 'content-length').length, 1);
        });
      }
    });
  }
});

describe('a 204 the proxy answers itself', () => {
  let proxy: SkiffProxy;
  let port: number;

  before(async () => {
    proxy = await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 });
    await proxy.applySnapshot({
      version: '1',
      node: { id: 'sidecar~test', kind: 'sidecar' },
      listeners: [{ name: 'out', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http: { routeConfig: 'r' } }],
      routes: [{ name: 'r', virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'empty', match: [], action: { type: 'direct', status: 204 } }] }] }],
      clusters: [],
    });
    port = proxy.listenerAddress('out')!.port;
  });

  after(async () => {
    await proxy.close();
  });

  test('carries no Content-Length', async () => {
    const client = await WireClient.connect(port);
    try {
      // Twice on one connection: the second answer starts right where the first ended.
      for (let i = 0; i < 2; i++) {
        client.send('GET /nothing HTTP/1.1\r\nHost: any\r\n\r\n');
        const res = await client.readResponse('GET');
        assert.equal(res.status, 204);
        assert.deepEqual(res.fields.filter(([n]) => n === 'content-length' || n === 'transfer-encoding'), []);
      }
      assert.equal(client.pending.length, 0);
    } finally {
      client.close();
    }
  });
});
