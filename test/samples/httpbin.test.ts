/** httpbin as Istio's tasks use it: go-httpbin's response shapes, status codes, delays and access log. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ENTRY, eventually, request, runClient, startApp, type App } from './helpers.js';

/** A GET whose body is kept as bytes. */
function fetchBytes(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('httpbin', () => {
  let app: App;
  let base: string;
  before(async () => {
    app = await startApp(ENTRY.httpbin);
    base = `http://127.0.0.1:${app.port}`;
  });
  after(async () => {
    await app.stop();
  });

  test('/headers renders canonical header names with values in arrays', async () => {
    const res = await request(`${base}/headers`, { headers: { 'x-b3-traceid': 'abc', 'user-agent': 'curl/8.16.0' } });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    const body = JSON.parse(res.body);
    assert.deepEqual(body.headers['X-B3-Traceid'], ['abc']);
    assert.deepEqual(body.headers['User-Agent'], ['curl/8.16.0']);
    assert.deepEqual(body.headers.Host, [`127.0.0.1:${app.port}`]);
  });

  test('/get echoes args, method, origin and URL', async () => {
    const body = JSON.parse((await request(`${base}/get?a=1&a=2&b=x`)).body);
    assert.deepEqual(body.args, { a: ['1', '2'], b: ['x'] });
    assert.equal(body.method, 'GET');
    assert.equal(body.origin, '127.0.0.1');
    assert.equal(body.url, `http://127.0.0.1:${app.port}/get?a=1&a=2&b=x`);
    assert.equal((await request(`${base}/get`, { method: 'POST' })).status, 405);
  });

  test('/ip takes the first X-Forwarded-For hop, else the socket address', async () => {
    assert.deepEqual(JSON.parse((await request(`${base}/ip`)).body), { origin: '127.0.0.1' });
    assert.deepEqual(JSON.parse((await request(`${base}/ip`, { headers: { 'x-forwarded-for': '10.1.2.3, 10.0.0.1' } })).body), { origin: '10.1.2.3' });
  });

  test('/status answers the requested code; 418 is a teapot', async () => {
    const teapot = await request(`${base}/status/418`);
    assert.equal(teapot.status, 418);
    assert.equal(teapot.body, "I'm a teapot!");
    assert.equal(teapot.headers['x-more-info'], 'http://tools.ietf.org/html/rfc2324');
    assert.equal((await request(`${base}/status/503`)).status, 503);
    assert.equal((await request(`${base}/status/302`)).headers.location, '/redirect/1');
    const seen = new Set<number>();
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add((await request(`${base}/status/200,503`)).status);
    assert.deepEqual([...seen].sort(), [200, 503]);
    for (let i = 0; i < 5; i++) assert.equal((await request(`${base}/status/200:0,504:1`)).status, 504);
    const bad = await request(`${base}/status/abc`);
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).status_code, 400);
  });

  test('/delay waits, then echoes; more than 10 s is refused', async () => {
    const res = await request(`${base}/delay/0.2`);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).url, `http://127.0.0.1:${app.port}/delay/0.2`);
    assert.equal((await request(`${base}/delay/300ms`)).status, 200);
    assert.equal((await request(`${base}/delay/11`)).status, 400);
    assert.equal((await request(`${base}/delay/soon`)).status, 400);
  });

  test('/anything echoes any method with its body; /response-headers sets headers', async () => {
    const res = await request(`${base}/anything/deep/path?q=1`, { method: 'PUT', body: '{"k":[1,2]}', headers: { 'content-type': 'application/json' } });
    const body = JSON.parse(res.body);
    assert.equal(body.method, 'PUT');
    assert.deepEqual(body.json, { k: [1, 2] });
    assert.equal(body.data, '{"k":[1,2]}');
    const form = JSON.parse((await request(`${base}/anything`, { method: 'POST', body: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).body);
    assert.deepEqual(form.form, { a: ['1'], b: ['2'] });
    const rh = await request(`${base}/response-headers?X-Test=yes&X-Test=again`);
    assert.equal(rh.headers['x-test'], 'yes, again');
    assert.deepEqual(JSON.parse(rh.body), { 'X-Test': ['yes', 'again'] });
  });

  test('/user-agent, /uuid and unknown paths', async () => {
    assert.deepEqual(JSON.parse((await request(`${base}/user-agent`, { headers: { 'user-agent': 'ua/1' } })).body), { 'user-agent': 'ua/1' });
    assert.match((JSON.parse((await request(`${base}/uuid`)).body) as { uuid: string }).uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const missing = await request(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { status_code: 404, error: 'Not Found' });
  });

  test('writes a combined-format access log line per request', async () => {
    await request(`${base}/headers`);
    const line = /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/headers HTTP\/1\.1" 200 \d+ "-" "-"$/m;
    await eventually(() => line.test(app.stdout()));
    assert.match(app.stdout(), /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/headers HTTP\/1\.1" 200 \d+ "-" "-"$/m);
  });

  test('the kennethreitz flavour renders header values as strings', async () => {
    const old = await startApp(ENTRY.httpbin, { HTTPBIN_COMPAT: 'kennethreitz' });
    try {
      const body = JSON.parse((await request(`http://127.0.0.1:${old.port}/headers`, { headers: { 'x-a': 'b' } })).body);
      assert.equal(body.headers['X-A'], 'b');
    } finally {
      await old.stop();
    }
  });

  test('/hostname answers go-httpbin, or the pod name with -use-real-hostname / USE_REAL_HOSTNAME', async () => {
    assert.deepEqual(JSON.parse((await request(`${base}/hostname`)).body), { hostname: 'go-httpbin' });
    const real = await startApp(ENTRY.httpbin, { HOSTNAME: 'httpbin-7d9f8c-abcde' }, ['-use-real-hostname']);
    const byEnv = await startApp(ENTRY.httpbin, { HOSTNAME: 'httpbin-7d9f8c-fghij', USE_REAL_HOSTNAME: 'true' });
    try {
      assert.deepEqual(JSON.parse((await request(`http://127.0.0.1:${real.port}/hostname`)).body), { hostname: 'httpbin-7d9f8c-abcde' });
      assert.deepEqual(JSON.parse((await request(`http://127.0.0.1:${byEnv.port}/hostname`)).body), { hostname: 'httpbin-7d9f8c-fghij' });
    } finally {
      await Promise.all([real.stop(), byEnv.stop()]);
    }
  });

  test('flags as go-httpbin takes them: -max-duration raises the /delay bound; a bad flag is named', async () => {
    const patient = await startApp(ENTRY.httpbin, {}, ['-max-duration', '600s']);
    try {
      const res = await request(`http://127.0.0.1:${patient.port}/delay/0.1`);
      assert.equal(res.status, 200);
    } finally {
      await patient.stop();
    }
    assert.equal((await request(`${base}/delay/11`)).status, 400);
    const bad = await runClient(ENTRY.httpbin, ['-max-duration', 'forever']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^httpbin: -max-duration=forever is not a duration/);
  });

  test('/headers, /ip and /user-agent answer any method; /post echoes the body and refuses GET', async () => {
    const posted = await request(`${base}/headers`, { method: 'POST', headers: { 'x-a': 'b' } });
    assert.equal(posted.status, 200);
    assert.deepEqual(JSON.parse(posted.body).headers['X-A'], ['b']);
    const body = JSON.parse((await request(`${base}/post?q=1`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } })).body);
    assert.deepEqual(Object.keys(body as object), ['args', 'headers', 'method', 'origin', 'url', 'data', 'files', 'form', 'json']);
    assert.equal(body.data, 'hello');
    assert.deepEqual(body.args, { q: ['1'] });
    const empty = await request(`${base}/post`, { method: 'POST', headers: { 'content-length': '0' } });
    assert.equal(empty.status, 200);
    assert.equal((await request(`${base}/post`)).status, 405);
  });

  test('/cookies reflects the request; /cookies/set and /cookies/delete redirect with Set-Cookie', async () => {
    assert.deepEqual(JSON.parse((await request(`${base}/cookies`, { headers: { cookie: 'b=2; a=1' } })).body), { a: '1', b: '2' });
    const set = await request(`${base}/cookies/set?user=jason&k=v`);
    assert.equal(set.status, 302);
    assert.equal(set.headers.location, '/cookies');
    assert.deepEqual(set.headers['set-cookie'], ['user=jason; HttpOnly', 'k=v; HttpOnly']);
    const deleted = await request(`${base}/cookies/delete?user`);
    assert.match(deleted.headers['set-cookie']?.[0] ?? '', /^user=; Expires=.+ GMT; Max-Age=0; HttpOnly$/);
  });

  test('/redirect/{n} walks relative hops to /get; absolute=true and /redirect-to as go-httpbin does', async () => {
    const first = await request(`${base}/redirect/3`);
    assert.equal(first.status, 302);
    assert.equal(first.headers.location, '/relative-redirect/2');
    assert.equal((await request(`${base}/relative-redirect/1`)).headers.location, '/get');
    assert.equal((await request(`${base}/redirect/2?absolute=true`)).headers.location, `http://127.0.0.1:${app.port}/absolute-redirect/1`);
    assert.equal((await request(`${base}/redirect/0`)).status, 400);
    const to = await request(`${base}/redirect-to?url=http://example.com/x&status_code=307`);
    assert.equal(to.status, 307);
    assert.equal(to.headers.location, 'http://example.com/x');
    assert.equal((await request(`${base}/redirect-to`)).status, 400);
    const followed = await runClient(ENTRY.curl, ['-sL', '-w', '%{num_redirects}', `${base}/redirect/3`]);
    assert.match(followed.stdout, /"url": "http:\/\/127\.0\.0\.1:\d+\/get"[\s\S]*\}\n3$/);
  });

  test('/bytes/{n} sends n bytes, the same ones for the same seed; /stream-bytes chunks them', async () => {
    const a = await fetchBytes(`${base}/bytes/64?seed=42`);
    const b = await fetchBytes(`${base}/bytes/64?seed=42`);
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/octet-stream');
    assert.equal(a.headers['content-length'], '64');
    assert.equal(a.body.length, 64);
    assert.deepEqual(a.body, b.body);
    assert.notDeepEqual((await fetchBytes(`${base}/bytes/64?seed=43`)).body, a.body);
    const streamed = await fetchBytes(`${base}/stream-bytes/3000?chunk_size=1000&seed=42`);
    assert.equal(streamed.headers['transfer-encoding'], 'chunked');
    assert.equal(streamed.body.length, 3000);
    assert.equal((await request(`${base}/bytes/2000000`)).status, 400);
  });

  test('/stream/{n} sends n JSON lines with ids, clamped to 100', async () => {
    const res = await request(`${base}/stream/3?x=1`);
    const lines = res.body.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number; args: unknown; url: string });
    assert.deepEqual(lines.map((l) => l.id), [0, 1, 2]);
    assert.deepEqual(lines[0].args, { x: ['1'] });
    assert.equal((await request(`${base}/stream/500`)).body.trimEnd().split('\n').length, 100);
  });

  test('/basic-auth and /bearer challenge until given credentials', async () => {
    const denied = await request(`${base}/basic-auth/user/passwd`);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['www-authenticate'], 'Basic realm="Fake Realm"');
    const auth = `Basic ${Buffer.from('user:passwd').toString('base64')}`;
    assert.deepEqual(JSON.parse((await request(`${base}/basic-auth/user/passwd`, { headers: { authorization: auth } })).body), { authorized: true, user: 'user' });
    assert.equal((await request(`${base}/hidden-basic-auth/user/passwd`)).status, 404);
    assert.equal((await request(`${base}/bearer`)).headers['www-authenticate'], 'Bearer');
    assert.deepEqual(JSON.parse((await request(`${base}/bearer`, { headers: { authorization: 'Bearer abc' } })).body), { authenticated: true, token: 'abc' });
  });

  test('every answer carries CORS headers; OPTIONS is a preflight', async () => {
    const plain = await request(`${base}/get`);
    assert.equal(plain.headers['access-control-allow-origin'], '*');
    assert.equal(plain.headers['access-control-allow-credentials'], 'true');
    const pre = await request(`${base}/anything`, { method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-headers': 'x-custom' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://a.example');
    assert.equal(pre.headers['access-control-allow-headers'], 'x-custom');
    assert.match(pre.headers['access-control-allow-methods'] ?? '', /GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS/);
  });

  test('/gzip, /base64, /unstable and /robots.txt', async () => {
    const zipped = await fetchBytes(`${base}/gzip`);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(JSON.parse(gunzipSync(zipped.body).toString()).gzipped, true);
    assert.equal((await request(`${base}/base64/aGVsbG8gd29ybGQ=`)).body, 'hello world');
    assert.equal((await request(`${base}/base64/encode/hello`)).body, 'aGVsbG8=');
    assert.equal((await request(`${base}/unstable?failure_rate=1`)).status, 500);
    assert.equal((await request(`${base}/unstable?failure_rate=0`)).status, 200);
    assert.equal((await request(`${base}/robots.txt`)).body, 'User-agent: *\nDisallow: /deny\n');
  });

  test('the kennethreitz flavour wraps /cookies and has no /hostname', async () => {
    const old = await startApp(ENTRY.httpbin, { HTTPBIN_COMPAT: 'kennethreitz' });
    try {
      const oldBase = `http://127.0.0.1:${old.port}`;
      assert.deepEqual(JSON.parse((await request(`${oldBase}/cookies`, { headers: { cookie: 'a=1' } })).body), { cookies: { a: '1' } });
      assert.equal((await request(`${oldBase}/hostname`)).status, 404);
    } finally {
      await old.stop();
    }
  });
});
