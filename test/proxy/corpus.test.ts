/**
 * The regression corpus of hostile and malformed HTTP/1.1 input (test/proxy/corpus/*.json), each
 * sent as raw bytes to live listeners — a sidecar's outbound (`sidecar`), a gateway (`gateway`)
 * and a sidecar's inbound (`inbound`) — in front of a recording backend. A case says what the
 * proxy must answer, whether it closes the connection, how many requests reach the backend and
 * what they carry. The listeners route a `/raw` prefix with `x-route: raw` and everything else
 * with `x-route: all`, so a case can tell which rule took a request.
 *
 * Adding a case is adding a file:
 *
 *   {
 *     "description": "what the input is and what must happen",
 *     "listeners": ["gateway", "inbound"],          (optional; sidecar and gateway by default)
 *     "send": ["raw text", {"repeat": "X-A: b\r\n", "times": 100}],
 *     "end": true,                                   (optional: FIN after sending)
 *     "expect": {
 *       "status": 400,          (the first response's status; null: no response at all)
 *       "closed": true,         (the proxy closes the connection after it)
 *       "forwarded": 0,         (requests that reached the backend; null: not checked)
 *       "backendBytes": 0,      (optional: bytes the backend received, on any connection)
 *       "backendTarget": "/a",  (optional: the request target the forwarded request carries)
 *       "backendHeaders": [["host", "backend"]],     (optional: fields the forwarded request
 *       "backendBody": "hello"                        carries exactly once, and its content)
 *     }
 *   }
 *
 * Strings are latin1 bytes (JSON `\u00XX` escapes for any byte). The listeners' headers timeout
 * is a minute, so an answer that comes is the proxy's verdict on the bytes, not a 408.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { SkiffProxy } from '../../src/proxy/proxy.js';
import { WireClient, startRecordingBackend } from './wire/raw-peers.js';
import type { RecordingBackend } from './wire/raw-peers.js';
import type { Field } from './wire/messages.js';
import { Disposer } from '../helpers/disposer.js';

const CORPUS_DIR = join(repoRoot, 'test', 'proxy', 'corpus');

type Part = string | { repeat: string; times: number };

const LISTENERS = ['sidecar', 'gateway', 'inbound'] as const;
type ListenerName = (typeof LISTENERS)[number];

interface CorpusCase {
  description: string;
  listeners?: ListenerName[];
  send: Part[];
  end?: boolean;
  expect: {
    status: number | null;
    closed: boolean;
    forwarded: number | null;
    backendBytes?: number;
    backendTarget?: string;
    backendHeaders?: Field[];
    backendBody?: string;
  };
}

function load(file: string): CorpusCase {
  const c = JSON.parse(readFileSync(join(CORPUS_DIR, file), 'utf8')) as CorpusCase;
  assert.equal(typeof c.description, 'string', `${file}: description`);
  assert.ok(Array.isArray(c.send), `${file}: send is a list`);
  assert.equal(typeof c.expect, 'object', `${file}: expect`);
  for (const l of c.listeners ?? []) assert.ok((LISTENERS as readonly string[]).includes(l), `${file}: no listener ${JSON.stringify(l)}`);
  return c;
}

function bytesOf(parts: readonly Part[]): Buffer {
  return Buffer.from(parts.map((p) => (typeof p === 'string' ? p : p.repeat.repeat(p.times))).join(''), 'latin1');
}

const files = readdirSync(CORPUS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('hostile input corpus', () => {
  let backend: RecordingBackend;
  let proxy: SkiffProxy;
  const ports = new Map<string, number>();

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startRecordingBackend(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), (r) => r.close());
    proxy = disposer.add(await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 }), (p) => p.close());
    const http = { routeConfig: 'r', requestHeadersTimeoutMs: 60_000 };
    const toBackend = { type: 'route' as const, destinations: [{ cluster: 'backend', weight: 100 }] };
    await proxy.applySnapshot({
      version: '1',
      node: { id: 'sidecar~127.0.0.1~corpus.default~default.svc.cluster.local', kind: 'sidecar' },
      listeners: [
        { name: 'sidecar', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http },
        { name: 'gateway', address: '127.0.0.1', port: 0, direction: 'gateway', protocol: 'http', http },
        { name: 'inbound', address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'http', http },
      ],
      routes: [
        {
          name: 'r',
          virtualHosts: [
            {
              name: 'all',
              domains: ['*'],
              routes: [
                { name: 'raw', match: [{ uri: { prefix: '/raw' } }], action: toBackend, requestHeaders: { set: { 'x-route': 'raw' } } },
                { name: 'all', match: [], action: toBackend, requestHeaders: { set: { 'x-route': 'all' } } },
              ],
            },
          ],
        },
      ],
      clusters: [{ name: 'backend', protocol: 'http1', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });
    for (const name of LISTENERS) ports.set(name, proxy.listenerAddress(name)!.port);
  }));

  after(() => disposer.drain());

  test('the corpus is there', () => {
    assert.ok(files.length > 0, `no cases in ${CORPUS_DIR}`);
  });

  for (const file of files) {
    const c = load(file);
    for (const listener of c.listeners ?? ['sidecar', 'gateway']) {
      test(`${file.replace(/\.json$/, '')} (${listener}): ${c.description}`, async () => {
        const seen = backend.requests.length;
        const bytesBefore = backend.bytesReceived;
        const client = await WireClient.connect(ports.get(listener)!);
        try {
          const bytes = bytesOf(c.send);
          if (bytes.length > 0) client.send(bytes);
          if (c.end === true) client.end();
          const want = c.expect;
          if (want.status === null) {
            const rest = await client.readUntilClose();
            assert.equal(rest.toString('latin1'), '', 'no answer');
          } else {
            const res = await client.readResponse('GET');
            assert.equal(res.status, want.status, res.bytes.toString('latin1'));
            if (want.closed) assert.equal((await client.readUntilClose()).toString('latin1'), '', 'nothing after the answer, then the close');
            else assert.equal(client.closed, false, 'the connection stays open');
          }
          if (want.forwarded !== null) assert.equal(backend.requests.length - seen, want.forwarded, 'requests that reached the backend');
          if (want.backendBytes !== undefined) assert.equal(backend.bytesReceived - bytesBefore, want.backendBytes, 'bytes that reached the backend');
          if (want.backendTarget !== undefined || want.backendHeaders !== undefined || want.backendBody !== undefined) {
            assert.ok(backend.requests.length > seen, 'a request reached the backend');
            const got = backend.requests[backend.requests.length - 1];
            if (want.backendTarget !== undefined) assert.equal(got.startLine.split(' ')[1], want.backendTarget, 'request target at the backend');
            for (const [name, value] of want.backendHeaders ?? []) {
              assert.deepEqual(got.fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v), [value], `${name} at the backend`);
            }
            if (want.backendBody !== undefined) assert.equal(got.body.data.toString('latin1'), want.backendBody);
          }
        } finally {
          client.close();
        }
      });
    }
  }
});
