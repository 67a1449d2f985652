/** The curl- and fortio-compatible clients, run as processes against a real httpbin and productpage. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closedPort, ENTRY, json, runClient, startApp, startRecorder, type App } from './helpers.js';

describe('sample clients', () => {
  let httpbin: App;
  let base: string;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-clients-'));
  before(async () => {
    httpbin = await startApp(ENTRY.httpbin);
    base = `http://127.0.0.1:${httpbin.port}`;
  });
  after(async () => {
    await httpbin.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('curl -s -o /dev/null -w prints only the status code', async () => {
    const res = await runClient(ENTRY.curl, ['-s', '-o', '/dev/null', '-w', '%{http_code}\\n', `${base}/status/418`]);
    assert.equal(res.code, 0);
    assert.equal(res.stdout, '418\n');
  });

  test('curl -I with an attached -H prints the status line and headers', async () => {
    const res = await runClient(ENTRY.curl, ['-s', '-I', '-HHost:httpbin.example.com', `${base}/status/200`]);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(res.stdout, /content-length: 0\r\n/i);
    const echoed = JSON.parse((await runClient(ENTRY.curl, ['-sS', '-HHost:httpbin.example.com', `127.0.0.1:${httpbin.port}/headers`])).stdout);
    assert.deepEqual(echoed.headers.Host, ['httpbin.example.com']);
    assert.deepEqual(echoed.headers['User-Agent'], ['curl/8.16.0']);
  });

  test('curl keeps a Bookinfo login session through a cookie jar', async () => {
    const details = await startApp(ENTRY.details);
    const page = await startApp(ENTRY.productpage, { DETAILS_HOSTNAME: '127.0.0.1', DETAILS_SERVICE_PORT: String(details.port), REVIEWS_SERVICE_PORT: String(await closedPort()), REVIEWS_HOSTNAME: '127.0.0.1' });
    try {
      const jar = join(dir, 'sample.cookies');
      const login = await runClient(ENTRY.curl, ['-s', '-c', jar, `http://127.0.0.1:${page.port}/login`, '--data', 'username=jason&passwd=password']);
      assert.equal(login.code, 0);
      assert.match(readFileSync(jar, 'utf8'), /^#HttpOnly_127\.0\.0\.1\tFALSE\t\/\tFALSE\t0\tsession\t\S+$/m);
      const pageRes = await runClient(ENTRY.curl, ['-s', '-b', jar, `http://127.0.0.1:${page.port}/productpage`]);
      assert.ok(pageRes.stdout.includes('Sign out'));
      assert.ok(pageRes.stdout.includes('jason'));
    } finally {
      await Promise.all([details.stop(), page.stop()]);
    }
  });

  test('curl goes through HTTP_PROXY, honouring NO_PROXY', async () => {
    const proxy = await startRecorder((_r, res) => json(res, 200, { via: 'proxy' }));
    try {
      const res = await runClient(ENTRY.curl, ['-s', 'http://httpbin:8000/get?x=1'], { HTTP_PROXY: proxy.url });
      assert.deepEqual(JSON.parse(res.stdout), { via: 'proxy' });
      assert.equal(proxy.requests[0].url, 'http://httpbin:8000/get?x=1');
      assert.equal(proxy.requests[0].headers.host, 'httpbin:8000');
      const direct = await runClient(ENTRY.curl, ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${base}/status/204`], { http_proxy: proxy.url, NO_PROXY: '127.0.0.1' });
      assert.equal(direct.stdout, '204');
      assert.equal(proxy.requests.length, 1);
    } finally {
      await proxy.close();
    }
  });

  test('curl reports failures with curl exit codes and messages', async () => {
    const refused = await runClient(ENTRY.curl, ['-sS', '-w', '%{http_code}', `http://127.0.0.1:${await closedPort()}/`]);
    assert.equal(refused.code, 7);
    assert.equal(refused.stdout, '000');
    assert.match(refused.stderr, /^curl: \(7\) Failed to connect to 127\.0\.0\.1 port \d+ after \d+ ms: Couldn't connect to server$/m);
    const silent = await runClient(ENTRY.curl, ['-s', `http://127.0.0.1:${await closedPort()}/`]);
    assert.equal(silent.code, 7);
    assert.equal(silent.stderr, '');
    const failed = await runClient(ENTRY.curl, ['-sSf', `${base}/status/503`]);
    assert.equal(failed.code, 22);
    assert.match(failed.stderr, /The requested URL returned error: 503/);
    const slow = await runClient(ENTRY.curl, ['-sS', '-m', '0.3', `${base}/delay/3`]);
    assert.equal(slow.code, 28);
    const unknown = await runClient(ENTRY.curl, ['--frobnicate', base]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /option --frobnicate: is unknown/);
  });

  test('curl --resolve connects elsewhere while keeping the Host', async () => {
    const res = await runClient(ENTRY.curl, ['-s', '--resolve', `httpbin.example.com:${httpbin.port}:127.0.0.1`, `http://httpbin.example.com:${httpbin.port}/headers`]);
    assert.deepEqual(JSON.parse(res.stdout).headers.Host, [`httpbin.example.com:${httpbin.port}`]);
  });

  test('fortio load prints the code distribution', async () => {
    const res = await runClient(ENTRY.fortio, ['load', '-c', '2', '-qps', '0', '-n', '20', '-loglevel', 'Warning', `${base}/status/503`]);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^Code 503 : 20 \(100\.0 %\)$/m);
    assert.match(res.stdout, /^Sockets used: 2 \(for perfect keepalive, would be 2\)$/m);
    assert.match(res.stdout, /^All done 20 calls/m);

    const mixed = await runClient(ENTRY.fortio, ['load', '-c=3', '-qps=0', '-n=30', '-loglevel=Error', `${base}/status/200:1,503:1`]);
    const counts = [...mixed.stdout.matchAll(/^Code (\d+) : (\d+) \(([\d.]+) %\)$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
    assert.deepEqual(counts.map(([code]) => code), [200, 503]);
    assert.equal(counts.reduce((sum, [, n]) => sum + n, 0), 30);
    assert.equal(mixed.stderr, '');
  });

  test('fortio counts unreachable targets as code -1 and paces to the requested qps', async () => {
    const res = await runClient(ENTRY.fortio, ['load', '-c', '1', '-qps', '20', '-n', '3', `http://127.0.0.1:${await closedPort()}/`]);
    assert.match(res.stdout, /^Code -1 : 3 \(100\.0 %\)$/m);
    assert.match(res.stdout, /Starting at 20 qps with 1 thread\(s\)/);
  });

  test('fortio curl prints the response with its status line; bad flags are explained', async () => {
    const res = await runClient(ENTRY.fortio, ['curl', '-quiet', `${base}/get`]);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(res.stdout.includes('"method": "GET"'));
    const bad = await runClient(ENTRY.fortio, ['load', '-c', 'two', base]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid value "two" for flag -c/);
  });
});
