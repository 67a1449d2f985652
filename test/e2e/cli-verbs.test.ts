/**
 * The CLI verbs an Istio and kubectl user reaches for, against a real mesh (`skiff up --detach`
 * with httpbin and curl): each verb's output and exit status as the user sees them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';

let mesh: Mesh;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-cli-verbs-'));
  mesh = await startMesh({ files: [join(repoRoot, 'samples/httpbin/httpbin.yaml'), join(repoRoot, 'samples/curl/curl.yaml')] });
});

after(async () => {
  await mesh?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const httpbinRoute = (subset?: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - httpbin
  http:
  - route:
    - destination:
        host: httpbin
${subset !== undefined ? `        subset: ${subset}\n` : ''}`;

interface ConfigItem {
  resource: { kind: string; metadata: { name: string; namespace?: string } };
  messages: { code: string; level: string; message: string }[];
}

test('skiff analyze: the live mesh with no arguments, files merged over it, --use-kube=false for files alone; the dashboard says the same', async () => {
  const clean = await mesh.skiff(['analyze']);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.equal(clean.stdout, '✔ No validation issues found when analyzing namespace: default.\n');

  // httpbin runs: a VirtualService naming it is fine when analyzed with the live config...
  const vs = await file('vs.yaml', httpbinRoute());
  const merged = await mesh.skiff(['analyze', '-f', vs]);
  assert.equal(merged.code, 0, merged.stdout + merged.stderr);
  assert.doesNotMatch(merged.stdout, /IST0101/);
  // ...and not alone.
  const alone = await mesh.skiff(['analyze', '--use-kube=false', '-f', vs]);
  assert.equal(alone.code, 79, alone.stdout);
  assert.match(alone.stdout, /^Error \[IST0101\] \(VirtualService default\/httpbin .*vs\.yaml:\d+\) Referenced host not found: "httpbin"$/m);

  // A live mistake is reported by the CLI and by the dashboard's Config view alike.
  await mesh.apply(httpbinRoute('v9'));
  const cli = await mesh.skiff(['analyze', '-A', '-o', 'json']);
  assert.equal(cli.code, 79, cli.stdout + cli.stderr);
  const cliMessages = (JSON.parse(cli.stdout) as { code: string; level: string; message: string; resource?: string; origin?: unknown }[]).filter((m) => m.resource !== undefined);
  assert.ok(cliMessages.some((m) => m.code === 'IST0101' && m.resource === 'VirtualService/default/httpbin' && m.origin === undefined), cli.stdout);
  assert.ok(mesh.dashboardUrl !== undefined, mesh.upOutput);
  const res = await fetch(`${mesh.dashboardUrl}/api/config`);
  assert.equal(res.status, 200);
  const items = ((await res.json()) as { items: ConfigItem[] }).items;
  const key = (r: ConfigItem['resource']): string => [r.kind, r.metadata.namespace, r.metadata.name].filter((p) => p !== undefined && p !== '').join('/');
  const fromDashboard = items.flatMap((i) => i.messages.map((m) => `${key(i.resource)} ${m.code} ${m.level} ${m.message}`)).sort();
  const fromCli = cliMessages.map((m) => `${m.resource} ${m.code} ${m.level} ${m.message}`).sort();
  assert.deepEqual(fromCli, fromDashboard);
  await mesh.delete(httpbinRoute('v9'));
});

const mystery = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: mystery
spec:
  selector:
    matchLabels: {app: mystery}
  template:
    metadata:
      labels: {app: mystery}
    spec:
      containers:
      - name: mystery
        image: example.com/mystery:2
`;

test('a Deployment whose image maps to no local program: its pod waits as ImageNotMapped, get deploy shows 0/1, describe says how to fix it', async () => {
  await mesh.apply(mystery);
  const pods = await mesh.skiff(['get', 'pods']);
  assert.equal(pods.code, 0, pods.stderr);
  assert.match(pods.stdout, /^mystery-[a-z0-9]{10}-[a-z0-9]{5}\s+0\/1\s+ImageNotMapped: example\.com\/mystery:2\s+0\s+\S+\s+<none>$/m);
  const deploy = await mesh.skiff(['get', 'deploy', 'mystery']);
  assert.equal(deploy.code, 0, deploy.stderr);
  assert.match(deploy.stdout, /^mystery\s+0\/1\s+1\s+0\s+\S+$/m);

  const described = await mesh.skiff(['describe', 'deploy', 'mystery']);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /^Replicas:\s+1 desired \| 1 updated \| 1 total \| 0 available \| 1 unavailable$/m);
  assert.match(described.stdout, /^ {2}Warning\s+ImageNotMapped\s+skiff-runtime\s+Deployment default\/mystery: no local command for image example\.com\/mystery:2: add it to an image map given with skiff up --images FILE \(the default is samples\/images\.yaml\), or annotate the pod template with skiff\.dev\/command: "<program and arguments>"$/m);
  const pod = await mesh.skiff(['describe', 'pod', 'mystery']);
  assert.equal(pod.code, 0, pod.stderr);
  assert.match(pod.stdout, /^Status:\s+Pending$/m);
  assert.match(pod.stdout, /^ {4}State:\s+Waiting\n {6}Reason:\s+ImageNotMapped\n {6}Message:\s+Deployment default\/mystery: no local command/m);
  const none = await mesh.skiff(['describe', 'pod', 'nothing-like-it']);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'Error from server (NotFound): pods "nothing-like-it" not found\n');

  await mesh.delete(mystery);
  await eventually(async () => !(await mesh.skiff(['get', 'pods'])).stdout.includes('mystery-'), 'the waiting pod goes with its Deployment');
});

const HTTPBIN_CLUSTER = 'outbound|8000||httpbin.default.svc.cluster.local';

async function httpbinEndpoints(): Promise<string[]> {
  const r = await mesh.skiff(['proxy-config', 'endpoints', 'deploy/curl']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.endsWith(HTTPBIN_CLUSTER));
}

test('endpoints removed by a scale-down leave proxy-config endpoints once drained, without another config change', async () => {
  const httpbin = join(repoRoot, 'samples/httpbin/httpbin.yaml');
  const { readFile } = await import('node:fs/promises');
  const manifest = await readFile(httpbin, 'utf8');
  await mesh.apply(manifest.replace('replicas: 1', 'replicas: 2'));
  await mesh.waitReady();
  await mesh.settle();
  await eventually(async () => (await httpbinEndpoints()).length === 2, 'the client sees both httpbin endpoints');
  // Requests through the client's sidecar leave pooled connections to both endpoints.
  for (let i = 0; i < 4; i++) {
    const r = await mesh.exec('deploy/curl', 'default', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://httpbin:8000/get']);
    assert.equal(r.stdout, '200', r.stderr);
  }
  await mesh.apply(manifest);
  await eventually(async () => {
    const lines = await httpbinEndpoints();
    return lines.length === 1 && /HEALTHY/.test(lines[0]);
  }, 'the removed endpoint is gone from the list once drained', 15_000);
});
