/**
 * Who may use skiffd's API, against a real skiffd in this process: its token file (mode 0600,
 * kept across restarts, replaced when others could read it), requests without the token or with
 * another, a Host that is not a loopback name with the API's port, a foreign Origin, a POST that
 * is not JSON; a browser's cross-site POST changes nothing and stops nothing; the span collector
 * takes proxies' spans without the token; the CLI calls it with the token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import { apiRequest, SkiffdApiError } from '../../src/cli/skiffd-client.js';
import { runSkiff } from '../helpers/cli.js';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One raw request to the API: every header as given, nothing added but content-length. */
function raw(apiUrl: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const all = { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
    const req = request({ host: url.hostname, port: url.port, method, path, headers: all, agent: false, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const VS = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: planted\nspec:\n  hosts: [planted]\n  http:\n  - route:\n    - destination:\n        host: planted\n';

describe("skiffd's API: token, Host, Origin and content type", () => {
  let dir = '';
  let skiffd: Skiffd;
  let host = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-api-access-'));
    skiffd = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false });
    host = new URL(skiffd.apiUrl).host;
  });
  after(async () => {
    await skiffd.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const auth = (): Record<string, string> => ({ host, authorization: `Bearer ${skiffd.apiToken}` });

  test('the token lives in <state-dir>/api-token, readable by its owner only', async () => {
    const file = join(dir, 'api-token');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await readFile(file, 'utf8')).trim(), skiffd.apiToken);
    assert.match(skiffd.apiToken, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
  });

  test('without the token, or with another, every endpoint answers 401 naming the token file', async () => {
    for (const path of ['/api/v1/status', '/api/v1/resources', '/api/v1/proxy-status', '/api/v1/pods', '/api/v1/graph', '/api/v1/traces']) {
      const none = await raw(skiffd.apiUrl, 'GET', path, { host });
      assert.equal(none.status, 401, path);
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="skiffd"');
      assert.match(none.body, /skiffd's API needs its token: send \\"Authorization: Bearer <token>\\" with the token in .*api-token/);
      const wrong = await raw(skiffd.apiUrl, 'GET', path, { host, authorization: `Bearer ${'x'.repeat(43)}` });
      assert.equal(wrong.status, 401, path);
      assert.match(wrong.body, /refuses this token/);
    }
    assert.equal((await raw(skiffd.apiUrl, 'GET', '/api/v1/status', auth())).status, 200);
  });

  test('a Host other than 127.0.0.1, localhost or [::1] with the API port is refused with 403', async () => {
    const port = new URL(skiffd.apiUrl).port;
    for (const bad of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1:${Number(port) + 1}`, '127.0.0.1', `127.0.0.2:${port}`, '']) {
      const res = await raw(skiffd.apiUrl, 'GET', '/api/v1/status', { ...auth(), host: bad });
      assert.equal(res.status, 403, `Host "${bad}"`);
      assert.match(res.body, new RegExp(`skiffd's API answers to 127\\.0\\.0\\.1:${port}, localhost:${port}, \\[::1\\]:${port} only`));
    }
    for (const good of [`localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      assert.equal((await raw(skiffd.apiUrl, 'GET', '/api/v1/status', { ...auth(), host: good })).status, 200, `Host "${good}"`);
    }
  });

  test('a foreign Origin is refused with 403 even with the token; the API\'s own origin passes', async () => {
    for (const origin of ['http://attacker.example', 'null', `https://${host}`, 'http://localhost']) {
      const res = await raw(skiffd.apiUrl, 'GET', '/api/v1/resources', { ...auth(), origin });
      assert.equal(res.status, 403, `Origin ${origin}`);
      assert.match(res.body, /refuses requests from other origins/);
    }
    assert.equal((await raw(skiffd.apiUrl, 'GET', '/api/v1/status', { ...auth(), origin: `http://${host}` })).status, 200);
  });

  test('a POST that is not application/json is refused with 415 and applies nothing', async () => {
    const before = skiffd.config.resourceVersion;
    const body = JSON.stringify({ files: [{ name: 'vs.yaml', text: VS }] });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const res = await raw(skiffd.apiUrl, 'POST', '/api/v1/apply', { ...auth(), ...(type !== undefined ? { 'content-type': type } : {}) }, body);
      assert.equal(res.status, 415, `content-type ${type}`);
      assert.match(res.body, /\/api\/v1\/apply takes an application\/json body/);
    }
    assert.equal(skiffd.config.resourceVersion, before);
    const json = await raw(skiffd.apiUrl, 'POST', '/api/v1/apply', { ...auth(), 'content-type': 'application/json; charset=utf-8' }, body);
    assert.equal(json.status, 200, json.body);
    assert.equal(skiffd.config.list({ name: 'planted' }).length, 1);
    await apiRequest(skiffd, 'POST', '/api/v1/delete', { files: [{ name: 'vs.yaml', text: VS }] });
  });

  test("a web page's cross-site POST (text/plain, foreign Origin, no token) applies nothing and stops nothing", async () => {
    const before = skiffd.config.resourceVersion;
    const form = JSON.stringify({ files: [{ name: 'x.yaml', text: VS }] });
    for (const path of ['/api/v1/apply', '/api/v1/delete', '/api/v1/shutdown']) {
      const res = await raw(skiffd.apiUrl, 'POST', path, { host, origin: 'http://attacker.example', 'content-type': 'text/plain;charset=UTF-8' }, form);
      assert.equal(res.status, 403, path);
    }
    // The preflight a browser sends before a JSON POST from another origin gets no approval.
    const preflight = await raw(skiffd.apiUrl, 'OPTIONS', '/api/v1/apply', { host, origin: 'http://attacker.example', 'access-control-request-method': 'POST' });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(skiffd.config.resourceVersion, before, 'nothing applied');
    const status = await apiRequest(skiffd, 'GET', '/api/v1/status');
    assert.equal((status as { pid: number }).pid, process.pid, 'skiffd still answers');
  });

  test('the span collector takes Zipkin spans without the token, but not from another origin or as text', async () => {
    const spans = JSON.stringify([{ traceId: '0af7651916cd43dd8448eb211c80319c', id: '00f067aa0ba902b7', name: 'x', timestamp: 1_700_000_000_000_000, duration: 5, localEndpoint: { serviceName: 'a' } }]);
    const ok = await raw(skiffd.apiUrl, 'POST', '/api/v2/spans', { host, 'content-type': 'application/json' }, spans);
    assert.equal(ok.status, 202, ok.body);
    assert.equal((await raw(skiffd.apiUrl, 'POST', '/api/v2/spans', { host, 'content-type': 'text/plain' }, spans)).status, 415);
    assert.equal((await raw(skiffd.apiUrl, 'POST', '/api/v2/spans', { host, origin: 'http://attacker.example', 'content-type': 'application/json' }, spans)).status, 403);
  });

  test('the CLI sends the token: skiff get reads through the API', async () => {
    await apiRequest(skiffd, 'POST', '/api/v1/apply', { files: [{ name: 'vs.yaml', text: VS }] });
    const got = await runSkiff(['get', 'vs', '--state-dir', dir]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /^planted\b/m);
    await apiRequest(skiffd, 'POST', '/api/v1/delete', { files: [{ name: 'vs.yaml', text: VS }] });
  });

  test('a client without the token is told which file it could not read', async () => {
    const err = await apiRequest({ apiUrl: skiffd.apiUrl, apiTokenFile: join(dir, 'api-token') }, 'GET', '/api/v1/status').then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SkiffdApiError);
    assert.equal(err.status, 401);
    assert.match(err.message, /cannot read skiffd's API token .*api-token/);
  });
});

describe('the token file across restarts', () => {
  test('a restarted skiffd keeps a private token; one others could read is replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-api-token-'));
    try {
      const first = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false });
      const token = first.apiToken;
      await first.stop();
      const second = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false });
      assert.equal(second.apiToken, token, 'clients holding the token stay valid');
      await second.stop();
      await chmod(join(dir, 'api-token'), 0o644);
      const third = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false });
      assert.notEqual(third.apiToken, token, 'a token others could read is no secret');
      assert.equal((await stat(join(dir, 'api-token'))).mode & 0o777, 0o600);
      await third.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a token file given to skiffd (a mounted Secret) is read as it is, and a malformed one refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-api-token-'));
    try {
      const secret = join(dir, 'mounted-token');
      await writeFile(secret, 'k8s-secret-token-0123456789\n', { mode: 0o640 });
      const d = await startSkiffd({ stateDir: join(dir, 'state'), apiPort: 0, pushPort: 0, dashboardPort: false, apiTokenFile: secret });
      assert.equal(d.apiToken, 'k8s-secret-token-0123456789');
      assert.equal((await readFile(secret, 'utf8')), 'k8s-secret-token-0123456789\n', 'never rewritten');
      await d.stop();
      await writeFile(secret, 'has spaces in it\n');
      await assert.rejects(
        startSkiffd({ stateDir: join(dir, 'state'), apiPort: 0, pushPort: 0, dashboardPort: false, apiTokenFile: secret }),
        /the API token file .*mounted-token must hold one token of 16 to 512 characters/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
