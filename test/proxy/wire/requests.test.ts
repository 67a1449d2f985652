/**
 * Requests on the wire, byte for byte: every method with every body framing (none,
 * `Content-Length: 0`, `Content-Length: n`, chunked with trailers, chunked with only the last
 * chunk), and the header rules of the connection manager (TE, Connection nominations, XFF and
 * x-forwarded-proto, x-request-id, repeated fields, Expect), sent as raw bytes through every path
 * of the wire topology — one hop on the sidecar's outbound and inbound listeners and on the
 * gateway, and two chained proxies as in the mesh. The whole head the backend receives is compared
 * with what Envoy would send (envoy-model.ts), and so is the body.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertHead, forwardedRequest } from './envoy-model.js';
import type { RequestCase } from './envoy-model.js';
import { chunked, headText } from './messages.js';
import type { Field, Message } from './messages.js';
import { WireClient, roundTrip } from './raw-peers.js';
import { startWireTopology } from './topology.js';
import type { Path, WireTopology } from './topology.js';
import { Disposer } from '../../helpers/disposer.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const TARGET = '/wire/items?q=1&r=%2F';
const CONTENT = 'hello wire';

interface BodyForm {
  name: string;
  body: RequestCase['body'];
  fields: Field[];
  bytes: string;
  /** What the backend must read as the content, and its trailers. */
  data: string;
  trailers: Field[];
}

const BODIES: BodyForm[] = [
  { name: 'no body, no length', body: 'none', fields: [], bytes: '', data: '', trailers: [] },
  { name: 'Content-Length: 0', body: 'length', fields: [['Content-Length', '0']], bytes: '', data: '', trailers: [] },
  {
    name: `Content-Length: ${CONTENT.length}`,
    body: 'length',
    fields: [
      ['Content-Type', 'text/plain'],
      ['Content-Length', String(CONTENT.length)],
    ],
    bytes: CONTENT,
    data: CONTENT,
    trailers: [],
  },
  {
    name: 'chunked with trailers',
    body: 'chunked',
    fields: [
      ['Content-Type', 'text/plain'],
      ['Transfer-Encoding', 'chunked'],
      ['Trailer', 'X-Checksum'],
    ],
    bytes: chunked(['hello ', 'wire'], [['X-Checksum', 'c0ffee']]),
    data: CONTENT,
    trailers: [['x-checksum', 'c0ffee']],
  },
  { name: 'chunked, the last chunk only', body: 'chunked', fields: [['Transfer-Encoding', 'chunked']], bytes: chunked([]), data: '', trailers: [] },
];

/** The backend's answer: a small fixed response (head only for HEAD). */
function answer(req: Message): string {
  const method = req.startLine.split(' ')[0];
  return method === 'HEAD' ? 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n' : 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
}

describe('requests on the wire', () => {
  let topo: WireTopology;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    topo = disposer.add(await startWireTopology(answer), (r) => r.close());
  }));

  after(() => disposer.drain());

  /** Sends one request and returns what the backend received for it. */
  async function send(path: Path, method: string, fields: Field[], body: string): Promise<Message> {
    const seen = topo.backend.requests.length;
    const refused = topo.backend.refused.length;
    const res = await roundTrip(path.port, headText(`${method} ${TARGET} HTTP/1.1`, fields) + body, method, path.host);
    assert.deepEqual(topo.backend.refused.slice(refused), [], 'the backend could read the request');
    assert.equal(res.status, 200, `answered: ${res.bytes.toString('latin1')}`);
    assert.equal(topo.backend.requests.length, seen + 1, 'one request reached the backend');
    return topo.backend.requests[seen];
  }

  function clientFields(path: Path, extra: Field[]): Field[] {
    return [['Host', path.host], ['User-Agent', 'wire-test/1.0'], ['Accept', '*/*'], ...extra];
  }

  for (const pathName of ['sidecar outbound', 'sidecar inbound', 'gateway', 'sidecar outbound → sidecar inbound', 'gateway → sidecar inbound']) {
    describe(pathName, () => {
      const path = (): Path => topo.paths.find((p) => p.name === pathName)!;

      for (const method of METHODS) {
        for (const form of BODIES) {
          test(`${method}, ${form.name}`, async () => {
            const p = path();
            const fields = clientFields(p, form.fields);
            const got = await send(p, method, fields, form.bytes);
            assert.equal(got.startLine, `${method} ${TARGET} HTTP/1.1`);
            assertHead(got.fields, forwardedRequest({ method, fields, body: form.body, telemetry: true }, p.hops), 'request head at the backend');
            assert.equal(got.body.data.toString('latin1'), form.data, 'the content');
            assert.deepEqual(got.body.trailers, form.trailers, 'the trailers');
          });
        }
      }

      const headerCases: { name: string; method: string; extra: Field[]; body?: string }[] = [
        { name: 'TE: trailers, deflate passes as te: trailers', method: 'GET', extra: [['TE', 'trailers, deflate']] },
        { name: 'TE without trailers is dropped', method: 'GET', extra: [['TE', 'deflate']] },
        { name: 'fields the Connection header nominates are dropped', method: 'GET', extra: [['Connection', 'keep-alive, X-Hop'], ['X-Hop', 'secret'], ['Keep-Alive', 'timeout=5']] },
        { name: 'a client x-forwarded-for and x-forwarded-proto', method: 'GET', extra: [['X-Forwarded-For', '10.0.0.1'], ['X-Forwarded-Proto', 'https']] },
        { name: 'a client x-request-id is kept', method: 'GET', extra: [['X-Request-Id', 'a5d2c6e0-1b9f-4c3a-9d7e-2f1b0c9a8e7d']] },
        { name: 'repeated fields keep their order and values', method: 'GET', extra: [['Accept-Language', 'en'], ['X-Tag', 'one'], ['Accept-Language', 'fr;q=0.5'], ['X-Tag', 'two']] },
        { name: 'mixed-case names and values as sent', method: 'POST', extra: [['X-MiXeD', 'VaLuE'], ['content-length', '3']], body: 'abc' },
      ];
      for (const c of headerCases) {
        test(c.name, async () => {
          const p = path();
          const fields = clientFields(p, c.extra);
          const got = await send(p, c.method, fields, c.body ?? '');
          assertHead(got.fields, forwardedRequest({ method: c.method, fields, body: c.body === undefined ? 'none' : 'length', telemetry: true }, p.hops), 'request head at the backend');
        });
      }

      test('Expect: 100-continue is answered by the proxy and not forwarded', async () => {
        const p = path();
        const fields = clientFields(p, [['Content-Length', String(CONTENT.length)], ['Expect', '100-continue']]);
        const client = await WireClient.connect(p.port);
        try {
          const seen = topo.backend.requests.length;
          client.send(headText(`PUT ${TARGET} HTTP/1.1`, fields));
          const interim = await client.readResponse('PUT', { interim: true });
          assert.equal(interim.bytes.toString('latin1'), 'HTTP/1.1 100 Continue\r\n\r\n', 'the proxy asks for the body');
          client.send(CONTENT);
          const res = await client.readResponse('PUT');
          assert.equal(res.status, 200);
          await client.checkNothingFollows(p.host);
          assert.equal(topo.backend.requests.length, seen + 1);
          const got = topo.backend.requests[seen];
          assertHead(got.fields, forwardedRequest({ method: 'PUT', fields, body: 'length', telemetry: true }, p.hops), 'request head at the backend');
          assert.equal(got.body.data.toString('latin1'), CONTENT);
        } finally {
          client.close();
        }
      });
    });
  }
});
