/**
 * The local runtime without sidecars: real sample processes started from manifests, their ports
 * and environment, readiness gating the registry, crash restarts with backoff, scaling, rolling
 * a changed template, removal, and a stop that leaves no process behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadImageMap, readPodsFile } from '../../src/runtime/index.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';
import { envAppDeployment, eventually, get, isAlive, manifestFile, manifests, repoRoot, withRuntime } from './helpers.js';

const POD_NAME = /^([a-z0-9-]+)-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

describe('local runtime (apps only)', { timeout: 60_000 }, () => {
  test('runs httpbin from its manifest: Kubernetes-style pod name, its own port, its workload instance in the registry, output in the log', async () => {
    await withRuntime({}, async ({ runtime, registry, lines }) => {
      await runtime.sync(manifestFile(join(repoRoot, 'samples/httpbin/httpbin.yaml')));
      await runtime.waitReady(15_000);
      const [pod, ...others] = runtime.pods();
      assert.equal(others.length, 0);
      assert.match(pod.name, POD_NAME);
      assert.equal(POD_NAME.exec(pod.name)![1], 'httpbin');
      assert.equal(pod.deployment, 'httpbin');
      assert.equal(pod.status, 'Running');
      assert.equal(pod.ready, true);
      const port = pod.ports.app[8080];
      assert.ok(port > 0 && port !== 8080, `a port of its own, not the container port (${port})`);

      const answer = await get(`http://127.0.0.1:${port}/headers`);
      assert.equal(answer.status, 200);

      const snap = registry.snapshot();
      assert.deepEqual(snap.services, [], 'the runtime publishes workload instances only; Services come from the Service sync');
      const [w] = snap.workloads;
      assert.equal(w.name, pod.name);
      assert.equal(w.ready, true);
      assert.equal(w.serviceAccount, 'httpbin');
      assert.equal(w.labels.app, 'httpbin');
      assert.equal(w.labels.version, 'v1');
      assert.deepEqual(w.appPorts, { 8080: port });
      assert.deepEqual(w.meshPorts, { 8080: port }, 'without a sidecar the app port is the endpoint');
      assert.equal(w.sidecar, undefined);

      await eventually(() => lines.includes(`[${pod.name}] httpbin listening on ${port}`), 'the app output relayed with the pod prefix');
      assert.match(readFileSync(runtime.logFile(pod.name, 'app'), 'utf8'), new RegExp(`listening on ${port}`));
      const table = readPodsFile(runtimeStateDir(runtime.logFile(pod.name, 'app')));
      assert.equal(table?.pods[0]?.name, pod.name);
    });
  });

  test('passes PORT, PORTS, HOSTNAME and the container env (values, downward API, ConfigMap, Secret, $(VAR))', async () => {
    const text = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: teal}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {token: ${Buffer.from('s3cret').toString('base64')}}
---
${envAppDeployment('envy', {
  container: `        args: ["--flag", "x"]
        ports:
        - {containerPort: 9080, name: http}
        - {containerPort: 9090, name: admin}
        env:
        - {name: GREETING, value: hello}
        - {name: MESSAGE, value: "$(GREETING) world $$(GREETING)"}
        - {name: MY_POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: MY_APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
        - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}
        - {name: PORT, value: "9080"}`,
})}`;
    await withRuntime({}, async ({ runtime }) => {
      await runtime.sync(manifests(text));
      await runtime.waitReady(15_000);
      const [pod] = runtime.pods();
      const { app } = pod.ports;
      assert.equal(Object.keys(app).length, 2);
      const answer = JSON.parse((await get(`http://127.0.0.1:${app[9090]}/env`)).body) as { env: Record<string, string>; argv: string[] };
      const env = answer.env;
      assert.equal(env.PORT, String(app[9080]), 'PORT is the first container port as mapped locally (the runtime wins over the manifest)');
      assert.equal(env.PORTS, `${app[9080]},${app[9090]}`);
      assert.equal(env.HOSTNAME, pod.name);
      assert.equal(env.HOST, '127.0.0.1', 'apps are told to listen on loopback only');
      assert.equal(env.MESSAGE, 'hello world $(GREETING)');
      assert.equal(env.MY_POD, pod.name);
      assert.equal(env.MY_NS, 'default');
      assert.equal(env.MY_IP, '127.0.0.1');
      assert.equal(env.MY_APP, 'envy');
      assert.equal(env.COLOR, 'teal');
      assert.equal(env.TOKEN, 's3cret');
      assert.equal(env.HTTP_PROXY, undefined, 'no sidecar, no proxy');
      assert.deepEqual(answer.argv, ['--flag', 'x'], 'the container args follow the annotation command');
      assert.equal(runtime.execEnv({ name: 'envy' }).HOSTNAME, pod.name);
    });
  });

  test('sample apps listen on loopback only: the machine\'s other addresses do not reach them', async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    if (external === undefined) return t.skip('this machine has no non-loopback IPv4 address to try');
    const text = [readFileSync(join(repoRoot, 'samples/httpbin/httpbin.yaml'), 'utf8'), readFileSync(join(repoRoot, 'samples/tcp-echo/tcp-echo.yaml'), 'utf8')].join('\n---\n');
    await withRuntime({}, async ({ runtime }) => {
      await runtime.sync(manifests(text));
      await runtime.waitReady(15_000);
      const ports = runtime.pods().flatMap((p) => Object.values(p.ports.app));
      assert.ok(ports.length >= 2, `httpbin and tcp-echo run (${ports.join(', ')})`);
      for (const port of ports) {
        assert.equal(await connects('127.0.0.1', port), true, `127.0.0.1:${port} answers`);
        assert.equal(await connects(external, port), false, `${external}:${port} must be refused`);
      }
    });
  });

  test('a readiness probe gates the registry entry', async () => {
    const stateFile = join(tmpdir(), `skiff-ready-${process.pid}-${Date.now()}`);
    const text = envAppDeployment('gated', {
      container: `        ports:
        - {containerPort: 8080, name: web}
        env:
        - {name: READY_FILE, value: "${stateFile}"}
        readinessProbe:
          httpGet: {path: /healthz, port: web}
          periodSeconds: 1
          failureThreshold: 1`,
    });
    await withRuntime({}, async ({ runtime, registry }) => {
      await runtime.sync(manifests(text));
      const name = () => runtime.pods()[0].name;
      await eventually(() => runtime.pods()[0]?.status === 'Running', 'the app runs');
      await eventually(async () => (await get(`http://127.0.0.1:${runtime.pods()[0].ports.app[8080]}/healthz`).catch(() => ({ status: 0 }))).status === 503, 'the app answers, not ready');
      assert.equal(registry.getWorkload('default', name())?.ready, false, 'registered, not ready');
      await assert.rejects(runtime.waitReady(300), /Deployment default\/gated: 0\/1 ready[\s\S]*HTTP probe failed with statuscode: 503/);
      writeFileSync(stateFile, 'ok');
      try {
        await runtime.waitReady(15_000);
        assert.equal(registry.getWorkload('default', name())?.ready, true);
      } finally {
        rmSync(stateFile, { force: true });
      }
      await eventually(() => registry.getWorkload('default', name())?.ready === false, 'a failing probe takes it out again');
    });
  });

  test('a crashing app restarts with growing backoff and shows CrashLoopBackOff', async () => {
    const text = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: crasher}
spec:
  selector: {matchLabels: {app: crasher}}
  template:
    metadata:
      labels: {app: crasher}
      annotations: {skiff.dev/command: "node -e process.exit(3)"}
    spec:
      containers:
      - {name: crasher, image: example.com/crasher, ports: [{containerPort: 80}]}
`;
    await withRuntime({ backoffMs: { initial: 100, max: 400 } }, async ({ runtime, lines }) => {
      await runtime.sync(manifests(text));
      const seen = new Set<string>();
      await eventually(() => {
        const p = runtime.pods()[0];
        seen.add(p.status);
        return p.restarts >= 3;
      }, 'three restarts');
      const pod = runtime.pods()[0];
      assert.ok(seen.has('CrashLoopBackOff'), `statuses seen: ${[...seen].join(', ')}`);
      assert.equal(pod.ready, false);
      const delays = lines.filter((l) => l.includes(pod.name) && l.includes('restarting in')).map((l) => Number(/restarting in (\d+) ms/.exec(l)![1]));
      assert.deepEqual(delays.slice(0, 3), [100, 200, 400], 'the backoff doubles up to its cap');
      assert.ok(lines.some((l) => l.includes('exit code 3')));
      await assert.rejects(runtime.waitReady(200), /crasher-\S+ (CrashLoopBackOff|Running), \d+ restarts/);
    });
  });

  test('scales up and down on sync, rolls a changed template, and removes a deleted Deployment', async () => {
    await withRuntime({}, async ({ runtime, registry }) => {
      const ports = `        ports: [{containerPort: 8080}]`;
      await runtime.sync(manifests(envAppDeployment('web', { replicas: 3, container: ports })));
      await runtime.waitReady(15_000);
      const three = runtime.pods();
      assert.equal(three.length, 3);
      assert.equal(new Set(three.map((p) => p.ports.app[8080])).size, 3, 'each replica has its own port');
      assert.equal(new Set(three.map((p) => p.name)).size, 3);
      assert.equal(registry.snapshot().workloads.filter((w) => w.ready).length, 3);

      await runtime.sync(manifests(envAppDeployment('web', { replicas: 1, container: ports })));
      await runtime.waitReady(15_000);
      const one = runtime.pods();
      assert.equal(one.length, 1);
      assert.equal(registry.snapshot().workloads.length, 1);
      for (const p of three.filter((p) => p.name !== one[0].name)) assert.equal(isAlive(p.pids.app!), false, `${p.name} stopped`);

      await runtime.sync(manifests(envAppDeployment('web', { replicas: 1, container: `${ports}\n        env: [{name: V, value: "2"}]` })));
      await runtime.waitReady(15_000);
      const rolled = runtime.pods();
      assert.equal(rolled.length, 1);
      assert.notEqual(rolled[0].name, one[0].name, 'a new template makes a new pod');
      assert.notEqual(POD_NAME.exec(rolled[0].name)![0].split('-')[1], one[0].name.split('-')[1], 'with a new template hash');
      assert.equal(JSON.parse((await get(`http://127.0.0.1:${rolled[0].ports.app[8080]}/env`)).body).env.V, '2');
      assert.equal(isAlive(one[0].pids.app!), false);

      await runtime.sync([]);
      await runtime.waitReady(15_000);
      assert.deepEqual(runtime.pods(), []);
      assert.deepEqual(registry.snapshot().workloads, []);
      assert.equal(isAlive(rolled[0].pids.app!), false);
    });
  });

  test('stop() stops every process and empties the pod table', async () => {
    let pids: number[] = [];
    let stateDir = '';
    await withRuntime({}, async (t) => {
      stateDir = t.stateDir;
      await t.runtime.sync(manifestFile(join(repoRoot, 'samples/bookinfo/bookinfo.yaml'), (r) => ['details', 'ratings', 'details-v1', 'ratings-v1'].includes(r.metadata.name)));
      await t.runtime.waitReady(15_000);
      assert.equal(t.runtime.pods().length, 2);
      const details = t.runtime.pods().find((p) => p.deployment === 'details-v1')!;
      const book = JSON.parse((await get(`http://127.0.0.1:${details.ports.app[9080]}/details/0`)).body) as { id: number; author: string };
      assert.equal(book.id, 0);
      pids = t.runtime.pods().map((p) => p.pids.app!);
      assert.ok(pids.every(isAlive));
      await t.runtime.stop();
      assert.deepEqual(pids.filter(isAlive), [], 'no process left');
      assert.deepEqual(readPodsFile(stateDir)?.pods, []);
      assert.deepEqual(t.registry.snapshot(), { services: [], workloads: [] });
    });
  });

  test('a workload without a local command waits, its pods showing ImageNotMapped and how to map the image, while the others run; mapping it starts them', async () => {
    const mystery = (annotations: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: mystery}
spec:
  replicas: 2
  selector: {matchLabels: {app: mystery}}
  template:
    metadata: {labels: {app: mystery}${annotations}}
    spec:
      containers: [{name: m, image: "example.com/mystery:2", ports: [{containerPort: 8080}]}]
`;
    // Every replica declares a port: env-app leaves at once without one, which would make the
    // replicas' readiness a race against their exit.
    const fine = envAppDeployment('fine', { container: '        ports: [{containerPort: 8080}]' });
    const text = `${fine}\n---${mystery('')}`;
    await withRuntime({}, async ({ runtime, lines, registry }) => {
      await runtime.sync(manifests(text));
      const waiting = runtime.pods().filter((p) => p.deployment === 'mystery');
      assert.equal(waiting.length, 2, 'one waiting pod per replica');
      for (const p of waiting) {
        assert.match(p.name, /^mystery-[a-z0-9]{10}-[a-z0-9]{5}$/);
        assert.equal(p.status, 'ImageNotMapped');
        assert.equal(p.ready, false);
        assert.equal(p.image, 'example.com/mystery:2');
        assert.match(p.reason ?? '', /Deployment default\/mystery: no local command for image example\.com\/mystery:2: .*skiff up --images FILE.*, or annotate the pod template with skiff\.dev\/command/);
      }
      assert.ok(lines.some((l) => /Deployment default\/mystery: its pods wait \(ImageNotMapped\): /.test(l)), lines.join('\n'));
      // The waiting workload holds no one back, and waiting is no reason to wait for readiness.
      await assert.rejects(runtime.waitReady(15_000), /cannot become ready until the config changes:\n {2}Deployment default\/mystery: 0\/2 ready: ImageNotMapped: /);
      await eventually(() => runtime.pods().some((p) => p.deployment === 'fine' && p.ready), 'the other Deployment runs');
      assert.ok(!registry.snapshot().workloads.some((w) => w.name.startsWith('mystery-')), 'waiting pods have no endpoint');
      // Same template, same waiting pods: a resync does not rename them.
      await runtime.sync(manifests(text));
      assert.deepEqual(runtime.pods().filter((p) => p.deployment === 'mystery').map((p) => p.name), waiting.map((p) => p.name));

      await runtime.sync(manifests(`${fine}\n---${mystery(', annotations: {skiff.dev/command: "node dist/test/runtime/fixtures/env-app.js"}')}`));
      await runtime.waitReady(15_000);
      const running = runtime.pods().filter((p) => p.deployment === 'mystery');
      assert.deepEqual(running.map((p) => p.status), ['Running', 'Running']);
    });
  });

  test('a workload whose env names a ConfigMap that does not exist waits as CreateContainerConfigError, saying which', async () => {
    const text = envAppDeployment('configured', { container: '        envFrom: [{configMapRef: {name: absent}}]' });
    await withRuntime({}, async ({ runtime }) => {
      await runtime.sync(manifests(text));
      const [pod] = runtime.pods();
      assert.equal(pod.status, 'CreateContainerConfigError');
      assert.match(pod.reason ?? '', /ConfigMap default\/absent not found/);
    });
  });

  test('a bare Pod runs under its own name; with restartPolicy Never it completes and is not restarted', async () => {
    const text = `
apiVersion: v1
kind: Pod
metadata:
  name: once
  labels: {app: once}
  annotations: {skiff.dev/command: "node -e console.log('done')"}
spec:
  restartPolicy: Never
  containers: [{name: once, image: example.com/once}]
---
apiVersion: v1
kind: Pod
metadata:
  name: twice
  annotations: {skiff.dev/command: "node -e process.exit(0)"}
spec:
  restartPolicy: OnFailure
  containers: [{name: twice, image: example.com/twice}]
`;
    await withRuntime({ backoffMs: { initial: 50, max: 100 } }, async ({ runtime, registry }) => {
      await runtime.sync(manifests(text));
      await eventually(() => runtime.pods().every((p) => p.status === 'Completed'), 'both pods complete');
      await runtime.waitReady(15_000);
      const pods = runtime.pods();
      assert.deepEqual(pods.map((p) => [p.name, p.deployment, p.status, p.restarts]), [
        ['once', undefined, 'Completed', 0],
        ['twice', undefined, 'Completed', 0],
      ]);
      assert.equal(registry.getWorkload('default', 'once')?.labels.app, 'once');
      assert.equal(readFileSync(runtime.logFile('once', 'app'), 'utf8'), 'done\n');
    });
  });

  test('the ingress gateway refuses to start on a port in use, saying which', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      await withRuntime({ sidecars: true, ingressPort: port }, async ({ runtime }) => {
        await assert.rejects(runtime.sync([]), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
        assert.deepEqual(runtime.pods(), []);
      });
    } finally {
      holder.close();
    }
  });

  test("Istio's own Bookinfo manifest runs through the image map", { skip: skipWithoutIstioSamples }, async () => {
    requireIstioSamples();
    const file = istioSample('bookinfo', 'platform', 'kube', 'bookinfo.yaml');
    const images = loadImageMap(join(repoRoot, 'samples', 'images.yaml'));
    await withRuntime({ images }, async ({ runtime }) => {
      await runtime.sync(manifestFile(file, (r) => r.metadata.name === 'details-v1' || r.metadata.name === 'details'));
      await runtime.waitReady(15_000);
      const [pod] = runtime.pods();
      const book = JSON.parse((await get(`http://127.0.0.1:${pod.ports.app[9080]}/details/1`)).body) as { id: number };
      assert.equal(book.id, 1);
      assert.ok(existsSync(runtime.logFile(pod.name, 'app')));
    });
  });
});

/** `<stateDir>/logs/<ns>/<pod>/app.log` → `<stateDir>`. */
function runtimeStateDir(appLog: string): string {
  return join(appLog, '..', '..', '..', '..');
}

/** True when a TCP connection to host:port is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
