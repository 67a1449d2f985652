/**
 * skiffd's HTTP API, against a real skiffd (config only, ports 0) in this process: apply with
 * created/configured/unchanged and whole refusal, listing with filters, the watch stream, status,
 * pods, proxies, error answers, and shutdown.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import { SkiffdApiError, apiRequest } from '../../src/cli/skiffd-client.js';
import type { ApplyResponse, ResourceList, SkiffdStatus } from '../../src/controlplane/api-types.js';

let dir = '';
let skiffd: Skiffd;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-api-'));
  skiffd = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false, debounceMs: 10 });
});
after(async () => {
  await skiffd.stop();
  await rm(dir, { recursive: true, force: true });
});

const vs = (name: string, host: string, extra = ''): string =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ${name}\n${extra}spec:\n  hosts: [${host}]\n  http:\n  - route:\n    - destination:\n        host: ${host}\n`;

const apply = (text: string, namespace?: string): Promise<unknown> =>
  apiRequest(skiffd, 'POST', '/api/v1/apply', { files: [{ name: 'in.yaml', text }], ...(namespace ? { namespace } : {}) });

test('skiffd.json names the API and push URLs and this pid', async () => {
  const info = JSON.parse(await readFile(join(dir, 'skiffd.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(info, { apiUrl: skiffd.apiUrl, pushUrl: skiffd.pushUrl, pid: process.pid });
});

test('apply: created, unchanged, configured, each with its kubectl reference', async () => {
  const first = (await apply(`${vs('a', 'a')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n    name: http\n`)) as ApplyResponse;
  assert.equal(first.ok, true);
  if (!first.ok) return;
  assert.deepEqual(first.applied.map((a) => `${a.ref} ${a.action}`), ['virtualservice.networking.istio.io/a created', 'service/a created']);
  const again = (await apply(vs('a', 'a'))) as ApplyResponse;
  assert.deepEqual(again.ok && again.applied.map((a) => a.action), ['unchanged']);
  const changed = (await apply(vs('a', 'b'))) as ApplyResponse;
  assert.deepEqual(changed.ok && changed.applied.map((a) => a.action), ['configured']);
});

test('apply: one invalid resource refuses the whole input with 422 and positioned findings', async () => {
  const before = skiffd.config.resourceVersion;
  const err = await apply(`${vs('fresh', 'fresh')}---\n${vs('broken', 'broken').replace('hosts: [broken]', 'hosts: 3')}`).then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SkiffdApiError);
  assert.equal(err.status, 422);
  const body = err.body as { ok: false; findings: Array<{ severity: string; file: string; line: number; resource: string }> };
  assert.equal(body.ok, false);
  const e = body.findings.find((f) => f.severity === 'error');
  assert.equal(e?.file, 'in.yaml');
  assert.equal(e?.resource, 'VirtualService/default/broken');
  assert.equal(e?.line, 17);
  assert.equal(skiffd.config.resourceVersion, before, 'nothing applied');
  assert.equal(skiffd.config.list({ name: 'fresh' }).length, 0);
});

test('resources: filtered by kind (any of its names), namespace and name', async () => {
  await apply(vs('other', 'other'), 'ns2');
  const all = (await apiRequest(skiffd, 'GET', '/api/v1/resources')) as ResourceList;
  assert.ok(all.items.length >= 3);
  assert.equal(all.resourceVersion, skiffd.config.resourceVersion);
  const vsOnly = (await apiRequest(skiffd, 'GET', '/api/v1/resources?kind=vs')) as ResourceList;
  assert.deepEqual(vsOnly.items.map((r) => `${r.metadata.namespace}/${r.metadata.name}`), ['default/a', 'ns2/other']);
  const inNs2 = (await apiRequest(skiffd, 'GET', '/api/v1/resources?kind=virtualservices&namespace=ns2&name=other')) as ResourceList;
  assert.equal(inNs2.items.length, 1);
  await assert.rejects(apiRequest(skiffd, 'GET', '/api/v1/resources?kind=nosuch'), (e: unknown) => e instanceof SkiffdApiError && e.status === 400 && /unknown kind "nosuch"/.test(e.message));
});

test('watch: replays changes after a version, then streams new ones as they happen', async () => {
  const from = skiffd.config.resourceVersion;
  await apply(vs('w1', 'w1'));
  const lines: Array<{ type: string; resource: { metadata: { name: string } }; resourceVersion: number }> = [];
  const url = new URL(`/api/v1/watch?resourceVersion=${from}`, skiffd.apiUrl);
  const got = new Promise<void>((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${skiffd.apiToken}` } }, (res) => {
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, nl)) as (typeof lines)[number]);
          buf = buf.slice(nl + 1);
          if (lines.length === 1) void apply(vs('w2', 'w2')).catch(reject);
          if (lines.length === 2) {
            req.destroy();
            resolve();
          }
        }
      });
    });
    req.on('error', (e) => (lines.length >= 2 ? undefined : reject(e)));
    req.end();
  });
  await got;
  assert.deepEqual(lines.map((l) => [l.type, l.resource.metadata.name, l.resourceVersion]), [
    ['ADDED', 'w1', from + 1],
    ['ADDED', 'w2', from + 2],
  ]);
});

test('status, pods and proxies answer without a runtime; unknown paths and methods are errors', async () => {
  const status = (await apiRequest(skiffd, 'GET', '/api/v1/status')) as SkiffdStatus;
  assert.equal(status.pid, process.pid);
  assert.equal(status.runtime, false);
  assert.equal(status.ready, true);
  assert.deepEqual(await apiRequest(skiffd, 'GET', '/api/v1/pods'), { pods: [] });
  assert.deepEqual(status.leftOut, [], 'every resource is in force');
  assert.deepEqual(await apiRequest(skiffd, 'GET', '/api/v1/proxies'), { proxies: [], leftOut: [] });
  assert.deepEqual(await apiRequest(skiffd, 'GET', '/api/v1/proxy-status'), { proxies: [], leftOut: [] });
  await assert.rejects(apiRequest(skiffd, 'GET', '/api/v1/nothing'), (e: unknown) => e instanceof SkiffdApiError && e.status === 404);
  await assert.rejects(apiRequest(skiffd, 'GET', '/api/v1/apply'), (e: unknown) => e instanceof SkiffdApiError && e.status === 405);
  await assert.rejects(apiRequest(skiffd, 'POST', '/api/v1/apply', { files: 'x' }), (e: unknown) => e instanceof SkiffdApiError && e.status === 400 && /files must be/.test(e.message));
});

test('delete: by files and by identity; a missing resource is reported as not deleted', async () => {
  const byFile = (await apiRequest(skiffd, 'POST', '/api/v1/delete', { files: [{ name: 'd.yaml', text: vs('w1', 'w1') }] })) as { deleted: Array<{ ref: string; deleted: boolean }> };
  assert.deepEqual(byFile.deleted.map((d) => [d.ref, d.deleted]), [['virtualservice.networking.istio.io/w1', true]]);
  const byId = (await apiRequest(skiffd, 'POST', '/api/v1/delete', {
    targets: [{ group: 'networking.istio.io', kind: 'VirtualService', namespace: 'default', name: 'w1' }],
  })) as { deleted: Array<{ deleted: boolean }> };
  assert.deepEqual(byId.deleted.map((d) => d.deleted), [false]);
});

test('shutdown: answered, then skiffd stops, releases its ports and removes skiffd.json', async () => {
  const other = await mkdtemp(join(tmpdir(), 'skiff-api-stop-'));
  const d = await startSkiffd({ stateDir: other, apiPort: 0, pushPort: 0, dashboardPort: false });
  try {
    assert.deepEqual(await apiRequest(d, 'POST', '/api/v1/shutdown'), { stopping: true });
    await d.stopped;
    assert.equal(existsSync(join(other, 'skiffd.json')), false);
    await assert.rejects(apiRequest(d, 'GET', '/api/v1/status'), /cannot reach skiffd/);
  } finally {
    await d.stop();
    await rm(other, { recursive: true, force: true });
  }
});
