/**
 * The dashboard server over real HTTP against a recording `DashboardSources`: the page and its
 * files, Cytoscape.js from its package, how each JSON endpoint's parameters reach the source, and
 * what bad requests and failing sources get (400, 403, 404, 405, 500) without the server ever
 * failing. What the endpoints answer on a real skiffd is in api.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { startDashboard } from '../../src/dashboard/server.js';
import type { Dashboard } from '../../src/dashboard/server.js';
import { FakeSources, TRACE_ID } from './fake-sources.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let dashboard: Dashboard;
const sources = new FakeSources();

before(async () => {
  dashboard = await startDashboard({ sources, port: 0 });
});
after(async () => {
  await dashboard.close();
});

/** One request with the path sent exactly as given (no URL normalisation on our side). */
function send(path: string, opts: { method?: string; host?: string; origin?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { host: opts.host ?? `127.0.0.1:${dashboard.port}`, ...(opts.origin !== undefined ? { origin: opts.origin } : {}) };
    const req = request({ host: '127.0.0.1', port: dashboard.port, path, method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function json(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await send(path);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, `${path} answers JSON`);
  return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> };
}

describe('dashboard server: the page and its files', () => {
  test('/ is the single-page app, which loads Cytoscape, its stylesheet and its modules', async () => {
    const res = await send('/');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/html/);
    assert.match(res.body, /<title>Skiff dashboard<\/title>/);
    for (const ref of ['/vendor/cytoscape.min.js', '/style.css', '/app.js']) assert.ok(res.body.includes(`"${ref}"`), `the page refers to ${ref}`);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
  });

  test('the browser modules, the stylesheet and Cytoscape.js are served with their types', async () => {
    for (const [path, type] of [
      ['/app.js', /^text\/javascript/],
      ['/graph.js', /^text\/javascript/],
      ['/traces.js', /^text\/javascript/],
      ['/style.css', /^text\/css/],
      ['/vendor/cytoscape.min.js', /^text\/javascript/],
    ] as const) {
      const res = await send(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers['content-type'] ?? '', type, path);
      assert.ok(res.body.length > 100, `${path} has content`);
    }
    assert.match((await send('/vendor/cytoscape.min.js')).body, /cytoscape/i);
  });

  test('every module the page imports is served', async () => {
    const pending = ['/app.js'];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const path = pending.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await send(path);
      assert.equal(res.status, 200, `${path} (imported) is served`);
      for (const m of res.body.matchAll(/^import [^;]*?from '\.\/([\w-]+\.js)';$/gm)) pending.push(`/${m[1]}`);
    }
    assert.ok(seen.has('/graph.js') && seen.has('/util.js'), `the modules were followed: ${[...seen].join(', ')}`);
  });

  test('HEAD answers the headers without a body', async () => {
    const res = await send('/style.css', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    assert.ok(Number(res.headers['content-length']) > 0);
  });

  test('paths outside the shipped files are 404, traversal included', async () => {
    for (const path of ['/nope', '/index.htm', '/../package.json', '/%2e%2e/%2e%2e/package.json', '/..%2f..%2fpackage.json', '/vendor/', '/vendor/cytoscape.js', '/tsconfig.json', '/api', '/api/', '/api/nope', '/api/graph/x', '/api/config/x']) {
      const res = await send(path);
      assert.equal(res.status, 404, `${path} → ${res.status} ${res.body}`);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/, path);
    }
  });

  test('writing methods are refused with 405; other hosts, other ports and other origins with 403', async () => {
    const post = await send('/api/graph', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    for (const host of ['attacker.example:20001', `attacker.example:${dashboard.port}`, `127.0.0.1:${dashboard.port + 1}`, '127.0.0.1']) {
      const rebound = await send('/api/config', { host });
      assert.equal(rebound.status, 403, `Host "${host}"`);
      assert.match(rebound.body, /answers to 127\.0\.0\.1:\d+, localhost:\d+, \[::1\]:\d+ only/);
      assert.ok(!rebound.body.includes('IST0101'), 'nothing of the config is answered to another host');
    }
    const foreign = await send('/api/config', { origin: 'http://attacker.example' });
    assert.equal(foreign.status, 403);
    assert.match((JSON.parse(foreign.body) as { error: string }).error, /refuses requests from other origins \(Origin "http:\/\/attacker\.example"\)/);
    assert.ok(!foreign.body.includes('IST0101'));
    assert.equal((await send('/api/config', { origin: `http://127.0.0.1:${dashboard.port}` })).status, 200, 'its own page');
    assert.equal((await send('/', { host: `localhost:${dashboard.port}` })).status, 200);
    assert.equal((await send('/', { host: `[::1]:${dashboard.port}` })).status, 200);
  });
});

describe('dashboard server: the JSON endpoints', () => {
  test('/api/graph: namespace and window reach the source, parsed', async () => {
    assert.equal((await json('/api/graph')).status, 200);
    assert.deepEqual(sources.graphQueries.at(-1), {});

    assert.equal((await json('/api/graph?namespace=other&window=5m')).status, 200);
    assert.deepEqual(sources.graphQueries.at(-1), { namespaces: ['other'], windowSeconds: 300 });

    await json('/api/graph?namespace=default,other&namespace=default&window=90');
    assert.deepEqual(sources.graphQueries.at(-1), { namespaces: ['default', 'other'], windowSeconds: 90 });
  });

  test('/api/ratelimits: namespace and window reach the source as the graph\'s do; bad ones are 400', async () => {
    const res = await json('/api/ratelimits?namespace=default&window=10m');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { windowSeconds: 600, proxies: [] });
    assert.deepEqual(sources.rateLimitQueries.at(-1), { namespaces: ['default'], windowSeconds: 600 });
    const asked = sources.rateLimitQueries.length;
    const bad = await json('/api/ratelimits?window=soon');
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /^window: /);
    assert.equal(sources.rateLimitQueries.length, asked);
  });

  test('bad graph parameters are 400 naming the parameter, and the source is not asked', async () => {
    const asked = sources.graphQueries.length;
    for (const [query, word] of [
      ['window=soon', 'window'],
      ['window=0', 'window'],
      ['window=2d', 'window'],
      ['namespace=Not_A_Namespace', 'namespace'],
    ]) {
      const res = await json(`/api/graph?${query}`);
      assert.equal(res.status, 400, query);
      assert.match(String(res.body.error), new RegExp(`^${word}: `), query);
    }
    assert.equal(sources.graphQueries.length, asked);
  });

  test('/api/traces: limit (default 50) and service reach the source; a bad limit is 400', async () => {
    assert.equal((await json('/api/traces')).status, 200);
    assert.deepEqual(sources.traceQueries.at(-1), { limit: 50 });
    assert.equal((await json('/api/traces?limit=5&service=nobody.default')).status, 200);
    assert.deepEqual(sources.traceQueries.at(-1), { limit: 5, service: 'nobody.default' });
    for (const limit of ['0', '-1', '1.5', 'many', '100000']) {
      const res = await json(`/api/traces?limit=${limit}`);
      assert.equal(res.status, 400, `limit=${limit}`);
      assert.match(String(res.body.error), /^limit: /);
    }
  });

  test('/api/traces/<id>: ids are hex of any case; one the source does not know is 404, a malformed one 400', async () => {
    const one = await json(`/api/traces/${TRACE_ID}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.traceId, TRACE_ID);
    assert.equal((await json(`/api/traces/${TRACE_ID.toUpperCase()}`)).status, 200, 'ids are hex, any case');
    const unknown = await json('/api/traces/0123456789abcdef');
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.body.error), /no trace 0123456789abcdef/);
    for (const bad of ['not-hex', '%zz', 'a'.repeat(33), `${TRACE_ID}/spans`]) assert.equal((await json(`/api/traces/${bad}`)).status, 400, bad);
  });

  test('a failing source is a 500 with its message, and the server goes on answering', async () => {
    sources.failWith = new Error('metrics store unavailable');
    try {
      for (const path of ['/api/graph', '/api/traces', `/api/traces/${TRACE_ID}`, '/api/config', '/api/proxies', '/api/ratelimits']) {
        const res = await json(path);
        assert.equal(res.status, 500, path);
        assert.equal(res.body.error, 'metrics store unavailable', path);
      }
    } finally {
      sources.failWith = undefined;
    }
    assert.equal((await json('/api/proxies')).status, 200);
  });
});

describe('dashboard server: listening', () => {
  test('a taken port is refused with EADDRINUSE; close() is idempotent', async () => {
    await assert.rejects(startDashboard({ sources, port: dashboard.port }), { code: 'EADDRINUSE' });
    const other = await startDashboard({ sources, port: 0 });
    assert.match(other.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await other.close();
    await other.close();
  });
});
