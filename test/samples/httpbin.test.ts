/** httpbin as Istio's tasks use it: go-httpbin's response shapes, status codes, delays and access log. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENTRY, eventually, request, startApp, type App } from './helpers.js';

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
});
