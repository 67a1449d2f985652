/**
 * The runtime with sidecars and the ingress gateway, configured by a real push server and the
 * translation: an app reaches another service by name through its HTTP_PROXY, a command run with
 * a workload's exec env does the same, the gateway routes by Gateway + VirtualService, every
 * replica's traffic passes its sidecar's inbound port, and clients that ignore HTTP_PROXY reach
 * services through their sidecar's local service ports.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Resource } from '../../src/api/types.js';
import { isWorkloadResource } from '../../src/config/store-keys.js';
import { BootstrapTokenAuthenticator, MeshCa, WorkloadCertificates } from '../../src/controlplane/ca/index.js';
import { createPushServer } from '../../src/controlplane/push/index.js';
import { proxyTarget } from '../../src/controlplane/skiffd-targets.js';
import { proxiesSynced } from '../../src/controlplane/skiffd.js';
import { translate } from '../../src/controlplane/translate/index.js';
import { MemoryRegistry } from '../../src/registry/memory.js';
import { ServiceSync } from '../../src/registry/service-sync.js';
import { readPodsFile } from '../../src/runtime/index.js';
import type { LocalRuntime } from '../../src/runtime/index.js';
import { runSkiff } from '../helpers/cli.js';
import { allocatePorts } from '../../src/runtime/ports.js';
import { eventually, get, isAlive, manifestFile, manifests, repoRoot, withRuntime } from './helpers.js';
import type { TestRuntime } from './helpers.js';

const bookinfo = join(repoRoot, 'samples/bookinfo/bookinfo.yaml');

function run(argv: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `resources` on a runtime with sidecars whose proxies are configured by a real push server
 * and the translation; `fn` runs once every pod is ready and every proxy has its snapshot.
 */
async function withMesh(resources: Resource[], fn: (t: TestRuntime, ingressPort: number) => Promise<void>): Promise<void> {
  const config = resources.filter((r) => !isWorkloadResource(r));
  const registry = new MemoryRegistry();
  let runtime: LocalRuntime | undefined;
  // As skiffd does: a mesh CA signs each proxy's certificate for the pod its credential names, so
  // the hops between sidecars are Istio mutual TLS.
  const caDir = mkdtempSync(join(tmpdir(), 'skiff-mesh-ca-'));
  const certificates = new WorkloadCertificates({
    ca: await MeshCa.selfSigned(caDir, 'cluster.local'),
    authenticator: new BootstrapTokenAuthenticator((token) => runtime?.identityOfCredential?.(token)),
    trustDomain: () => 'cluster.local',
    ttlMs: 3_600_000,
  });
  const push = createPushServer({
    certificates: (proxy, request) => certificates.issue({ node: proxy.node, ...(request.credential !== undefined ? { credential: request.credential } : {}) }, request.csr),
    debounceMs: 20,
    snapshotFor: (proxy) => translate({ config, registry: registry.snapshot(), proxy: proxyTarget(proxy, registry.snapshot(), runtime?.gateways() ?? []) }),
  });
  await push.listen(0, '127.0.0.1');
  const stopWatching = registry.onChange(() => push.pushAll('registry'));
  const [ingressPort] = await allocatePorts(1);
  try {
    await withRuntime({ registry, sidecars: true, controlPlaneUrl: push.url!, ingressPort, ingressPorts: {} }, async (t) => {
      runtime = t.runtime;
      // As skiffd does: the Services through the registry's Service sync, the pods through the runtime.
      new ServiceSync(registry).sync(resources);
      await t.runtime.sync(resources.filter(isWorkloadResource));
      await t.runtime.waitReady(40_000);
      // Ready pods have a snapshot; the one with every endpoint may still be on its way (a push
      // after the last registry change), as skiffd's own readiness knows.
      await proxiesSynced(push, () => [], Date.now() + 20_000);
      await fn(t, ingressPort);
    });
  } finally {
    stopWatching();
    await push.close();
    rmSync(caDir, { recursive: true, force: true });
  }
}

describe('local runtime with sidecars and the ingress gateway', { timeout: 90_000 }, () => {
  test('apps reach services by name through their sidecars; the gateway routes by Gateway and VirtualService', async () => {
    const resources: Resource[] = [
      ...manifestFile(bookinfo, (r) => ['details', 'details-v1', 'productpage', 'productpage-v1', 'bookinfo-details', 'bookinfo-productpage'].includes(r.metadata.name)),
      ...manifestFile(join(repoRoot, 'samples/httpbin/httpbin.yaml')),
      ...manifestFile(join(repoRoot, 'samples/httpbin/httpbin-gateway.yaml')),
      ...manifestFile(join(repoRoot, 'samples/curl/curl.yaml')),
    ];
    await withMesh(resources, async (t, ingressPort) => {
      const pods = t.runtime.pods();
      assert.deepEqual(pods.map((p) => p.deployment).sort(), ['curl', 'details-v1', 'httpbin', 'istio-ingressgateway', 'productpage-v1']);
      const gatewayPod = pods.find((p) => p.kind === 'gateway')!;
      assert.equal(gatewayPod.namespace, 'istio-system');
      for (const w of t.registry.snapshot().workloads) {
        assert.ok(w.sidecar, `${w.name} has a sidecar`);
        assert.equal(w.sidecar.proxyId, `${w.name}.${w.namespace}`);
        for (const [containerPort, meshPort] of Object.entries(w.meshPorts)) assert.notEqual(meshPort, w.appPorts[Number(containerPort)], 'mesh traffic arrives at the sidecar, not the app');
      }
      assert.deepEqual(t.runtime.gateways()[0].portMap[80], ingressPort);

      // productpage → details by name, through productpage's HTTP_PROXY (its sidecar).
      const productpage = pods.find((p) => p.deployment === 'productpage-v1')!;
      const viaApp = await get(`http://127.0.0.1:${productpage.ports.app[9080]}/api/v1/products/0`);
      assert.equal(viaApp.status, 200, viaApp.body);
      assert.equal((JSON.parse(viaApp.body) as { author: string }).author, 'William Shakespeare');

      // A command with curl's exec env: HTTP_PROXY is curl's sidecar, as in `kubectl exec deploy/curl -- curl ...`.
      const env = t.runtime.execEnv({ name: 'curl' });
      const curlPod = pods.find((p) => p.deployment === 'curl')!;
      assert.equal(env.HTTP_PROXY, `http://127.0.0.1:${curlPod.ports.outbound}`);
      const direct = await run([process.execPath, 'dist/samples/curl/src/main.js', '-s', 'http://httpbin:8000/headers'], env);
      assert.equal(direct.code, 0, direct.stderr);
      assert.match(direct.stdout, /"Host": \[\s*"httpbin:8000"\s*\]/);
      // The same through the CLI, by namespace-qualified name as Istio's task pages write it.
      await eventually(() => readPodsFile(t.stateDir)?.pods.find((p) => p.deployment === 'curl')?.ready === true, 'the pod table lists curl');
      const curl = await runSkiff(['exec', 'deploy/curl', '-n', 'default', '--state-dir', t.stateDir, '--', 'curl', '-s', 'http://httpbin.default.svc.cluster.local:8000/headers']);
      assert.equal(curl.code, 0, curl.stderr);
      assert.match(curl.stdout, /"Host": \[\s*"httpbin.default.svc.cluster.local:8000"\s*\]/);

      // The ingress gateway, configured by httpbin-gateway.yaml.
      await eventually(async () => (await get(`http://127.0.0.1:${ingressPort}/status/418`, { headers: { host: 'httpbin.example.com' } }).catch(() => ({ status: 0 }))).status === 418, 'the gateway routes to httpbin');

      // Traffic passes the server's sidecar: a request to httpbin's mesh port gets its answer.
      const httpbin = pods.find((p) => p.deployment === 'httpbin')!;
      const inbound = await get(`http://127.0.0.1:${httpbin.ports.mesh[8080]}/status/200`);
      assert.equal(inbound.status, 200);

      const pids = t.runtime.pods().flatMap((p) => [p.pids.app, p.pids.proxy]).filter((p): p is number => p !== undefined);
      assert.equal(pids.length, 9, 'four apps, four sidecars, one gateway');
      await t.runtime.stop();
      assert.deepEqual(pids.filter(isAlive), [], 'stop() leaves no process');
    });
  });

  test('clients that ignore HTTP_PROXY reach services through their sidecar\'s local service ports, routed as the mesh routes', async () => {
    // A VirtualService that marks every request it routes: the mark shows the mesh's routes were applied.
    const marked = manifests(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts: [httpbin]
  http:
  - headers:
      request:
        set: {x-routed-by: httpbin-vs}
    route:
    - destination: {host: httpbin}
`);
    const resources: Resource[] = [
      ...manifestFile(join(repoRoot, 'samples/httpbin/httpbin.yaml')),
      ...manifestFile(join(repoRoot, 'samples/tcp-echo/tcp-echo.yaml')),
      ...manifestFile(join(repoRoot, 'samples/curl/curl.yaml')),
      ...marked,
    ];
    await withMesh(resources, async (t) => {
      const env = t.runtime.execEnv({ name: 'curl' });
      const curlPod = t.runtime.pods().find((p) => p.deployment === 'curl')!;
      const local = curlPod.ports.services ?? [];
      const httpbinPort = local.find((s) => s.service === 'httpbin' && s.port === 8000)?.localPort;
      assert.ok(httpbinPort !== undefined, `a local port for httpbin:8000 (${JSON.stringify(local)})`);
      assert.equal(env.HTTPBIN_SERVICE_LOCAL_HOST, '127.0.0.1');
      assert.equal(env.HTTPBIN_SERVICE_LOCAL_PORT, String(httpbinPort));
      assert.equal(env.HTTPBIN_SERVICE_LOCAL_PORT_HTTP, String(httpbinPort));
      assert.equal(env.TCP_ECHO_SERVICE_LOCAL_PORT_TCP_OTHER, String(local.find((s) => s.service === 'tcp-echo' && s.port === 9001)?.localPort));
      assert.equal(env.HTTPBIN_SERVICE_PORT, undefined, "Kubernetes' own variable would send HTTP_PROXY clients to the wrong port");

      // Node's http client ignores HTTP_PROXY: it connects where the variables say.
      const headers = await new Promise<string>((resolve, reject) => {
        http
          .get({ host: env.HTTPBIN_SERVICE_LOCAL_HOST, port: Number(env.HTTPBIN_SERVICE_LOCAL_PORT), path: '/headers', agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
      const echoed = (JSON.parse(headers) as { headers: Record<string, string[]> }).headers;
      assert.deepEqual(echoed['X-Routed-By'], ['httpbin-vs'], 'the VirtualService route was applied');
      assert.ok(echoed['X-Request-Id'] !== undefined, 'the request passed a sidecar');

      // A TCP service port: a line to tcp-echo through the local port comes back prefixed.
      const echo = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(env.TCP_ECHO_SERVICE_LOCAL_PORT), '127.0.0.1');
        let got = '';
        socket.setEncoding('utf8').on('data', (d: string) => (got += d));
        socket.on('error', reject);
        socket.on('close', () => resolve(got));
        socket.end('ping\n');
      });
      assert.equal(echo, 'hello ping\n');
    });
  });
});
