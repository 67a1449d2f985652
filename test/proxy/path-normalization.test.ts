/**
 * Path normalisation on live listeners, one per mesh config option, in front of a route table
 * where `/admin` is answered 403 by the proxy (standing for a policy on that path) and everything
 * else goes to a backend that echoes the path it got: each spelling of `/admin` either reaches
 * the policy or goes upstream as sent, as the option decides. HTTP/2 requests are normalised the
 * same way, and a listener's option changes with the snapshot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, Echo, TestProxy } from './helpers.js';
import { h2connect, h2request, type H2Reply } from './http2-helpers.js';
import type { PathNormalization, ProxySnapshot } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';

const OPTIONS: readonly PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

function snapshotWith(backendPort: number, option: (name: PathNormalization) => PathNormalization = (o) => o): ProxySnapshot {
  return snapshot({
    listeners: OPTIONS.map((o) => httpListener(o, 'r', { http: { routeConfig: 'r', pathNormalization: option(o) } })),
    routes: [
      routeConfig('r', [
        {
          name: 'all',
          domains: ['*'],
          routes: [{ name: 'admin', match: [{ uri: { prefix: '/admin' } }], action: { type: 'direct', status: 403, body: 'policy' } }, forward('all', 'backend')],
        },
      ]),
    ],
    clusters: [cluster('backend', [backendPort], { protocol: 'http1' })],
  });
}

/** One HTTP/2 GET of `path` on a fresh session. */
async function h2get(port: number, path: string): Promise<H2Reply> {
  const session = await h2connect(port);
  try {
    return await h2request(session, { ':method': 'GET', ':path': path, ':authority': 'backend', ':scheme': 'http' });
  } finally {
    session.close();
  }
}

/** What a request on `listener` came to: the policy's 403, the path the backend saw, or another status. */
async function outcome(proxy: TestProxy, listener: PathNormalization, path: string): Promise<string> {
  const r = await request(proxy.port(listener), path);
  if (r.status === 403) return 'policy';
  if (r.status !== 200) return `status ${r.status}`;
  return (JSON.parse(r.body) as Echo).url;
}

describe('path normalisation on live listeners', () => {
  let backend: Backend;
  let proxy: TestProxy;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend(echo('backend')), (r) => r.close());
    proxy = disposer.add(await startProxy(snapshotWith(backend.port)), (r) => r.close());
  }));

  after(() => disposer.drain());

  // [path, what NONE, BASE, MERGE_SLASHES and DECODE_AND_MERGE_SLASHES each make of it]
  const table: [string, string, string, string, string][] = [
    ['/admin', 'policy', 'policy', 'policy', 'policy'],
    ['/public/../admin', '/public/../admin', 'policy', 'policy', 'policy'],
    ['/public/%2e%2e/admin', '/public/%2e%2e/admin', 'policy', 'policy', 'policy'],
    ['/%61dmin', '/%61dmin', 'policy', 'policy', 'policy'],
    ['/public\\..\\admin', '/public\\..\\admin', 'policy', 'policy', 'policy'],
    ['//admin', '//admin', '//admin', 'policy', 'policy'],
    ['/public/..%2fadmin', '/public/..%2fadmin', '/public/..%2fadmin', '/public/..%2fadmin', 'policy'],
    ['/public%2f..%2fadmin', '/public%2f..%2fadmin', '/public%2f..%2fadmin', '/public%2f..%2fadmin', 'policy'],
    ['/a/./b//c?q=/../admin', '/a/./b//c?q=/../admin', '/a/b//c?q=/../admin', '/a/b/c?q=/../admin', '/a/b/c?q=/../admin'],
    ['/a%zz', '/a%zz', 'status 400', 'status 400', 'status 400'],
    ['/a%00', 'status 400', 'status 400', 'status 400', 'status 400'],
  ];
  for (const [path, ...want] of table) {
    test(`${path}: ${OPTIONS.map((o, i) => `${o} → ${want[i]}`).join(', ')}`, async () => {
      for (let i = 0; i < OPTIONS.length; i++) assert.equal(await outcome(proxy, OPTIONS[i], path), want[i], OPTIONS[i]);
    });
  }

  test('HTTP/2 requests are normalised before routing and go upstream normalised', async () => {
    assert.equal((await h2get(proxy.port('BASE'), '/public/../admin')).status, 403);
    const r = await h2get(proxy.port('BASE'), '/x/%2e/y/../z#f');
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body.toString()) as Echo).url, '/x/z');
    assert.equal((await h2get(proxy.port('BASE'), '/a%zz')).status, 400);
  });

  test("a listener's option is the one of the snapshot in force", async () => {
    assert.equal(await outcome(proxy, 'NONE', '/public/../admin'), '/public/../admin');
    await proxy.proxy.applySnapshot({ ...snapshotWith(backend.port, () => 'DECODE_AND_MERGE_SLASHES'), version: '2' });
    try {
      assert.equal(await outcome(proxy, 'NONE', '/public/../admin'), 'policy');
      assert.equal(await outcome(proxy, 'NONE', '/public/..%2fadmin'), 'policy');
    } finally {
      await proxy.proxy.applySnapshot({ ...snapshotWith(backend.port), version: '3' });
    }
    assert.equal(await outcome(proxy, 'NONE', '/public/../admin'), '/public/../admin');
  });

  test('a refused path is counted and recorded as a local 400', async () => {
    const n = proxy.records.length;
    assert.equal(await outcome(proxy, 'BASE', '/bad%'), 'status 400');
    const rec = proxy.records.slice(n).find((r) => r.status === 400);
    assert.ok(rec !== undefined, 'a record of the 400');
    assert.equal(rec.details, 'path_normalization_failed');
    assert.equal(rec.path, '/bad%', 'the record keeps the path as sent');
  });
});
