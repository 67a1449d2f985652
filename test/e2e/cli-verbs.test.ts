/**
 * The CLI verbs an Istio and kubectl user reaches for, against a real mesh (`skiff up --detach`
 * with httpbin and curl): each verb's output and exit status as the user sees them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, runSkiff, skiffBin } from '../helpers/cli.js';
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

const httpbinRule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
  subsets:
  - name: v1
    labels: { version: v1 }
`;

test('skiff get: several kinds at once, all, ns, -l, --show-labels, -o jsonpath, pods as Pod objects', async () => {
  await mesh.apply(httpbinRoute());
  await mesh.apply(httpbinRule);

  const both = await mesh.skiff(['get', 'vs,dr']);
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stdout, /^NAME\s+GATEWAYS\s+HOSTS\s+AGE\nvirtualservice\.networking\.istio\.io\/httpbin\s+\[httpbin\]\s+\S+\n\nNAME\s+HOST\s+AGE\ndestinationrule\.networking\.istio\.io\/httpbin\s+httpbin\s+\S+\n$/);

  const all = await mesh.skiff(['get', 'all']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^pod\/httpbin-[a-z0-9-]+\s+2\/2\s+Running\s/m);
  assert.match(all.stdout, /^pod\/curl-[a-z0-9-]+\s+2\/2\s+Running\s/m);
  assert.match(all.stdout, /^service\/httpbin\s+ClusterIP\s+8000\/TCP\s+\S+$/m);
  assert.match(all.stdout, /^deployment\.apps\/httpbin\s+1\/1\s+1\s+1\s+\S+$/m);

  const ns = await mesh.skiff(['get', 'ns']);
  assert.equal(ns.code, 0, ns.stderr);
  assert.deepEqual(ns.stdout.split('\n').filter((l) => l !== '').map((l) => l.split(/\s+/).slice(0, 2).join(' ')), ['NAME STATUS', 'default Active', 'istio-system Active']);

  const selected = await mesh.skiff(['get', 'pods', '-l', 'app=httpbin,version in (v1)', '-o', 'name']);
  assert.equal(selected.code, 0, selected.stderr);
  assert.match(selected.stdout, /^pod\/httpbin-[a-z0-9]+-[a-z0-9]+\n$/);
  const none = await mesh.skiff(['get', 'pods', '--selector', 'app=nothing']);
  assert.equal(none.code, 0);
  assert.equal(none.stdout, '');
  assert.equal(none.stderr, 'No resources found in default namespace.\n');
  const badSelector = await mesh.skiff(['get', 'pods', '-l', 'app=httpbin,,x']);
  assert.notEqual(badSelector.code, 0);
  assert.match(badSelector.stderr, /found an empty requirement in selector "app=httpbin,,x"/);

  const labels = await mesh.skiff(['get', 'svc', 'httpbin', '--show-labels']);
  assert.equal(labels.code, 0, labels.stderr);
  assert.match(labels.stdout, /^NAME\s+TYPE\s+PORT\(S\)\s+AGE\s+LABELS\nhttpbin\s+ClusterIP\s+8000\/TCP\s+\S+\s+app=httpbin,service=httpbin\n$/);

  const hosts = await mesh.skiff(['get', 'vs', 'httpbin', '-o', 'jsonpath={.spec.hosts[0]}']);
  assert.equal(hosts.code, 0, hosts.stderr);
  assert.equal(hosts.stdout, 'httpbin');
  const names = await mesh.skiff(['get', 'pods', '-o', 'jsonpath={range .items[*]}{.metadata.labels.app}{"\\n"}{end}']);
  assert.equal(names.code, 0, names.stderr);
  assert.deepEqual(names.stdout.split('\n').filter((l) => l !== '').sort(), ['curl', 'httpbin']);
  const badTemplate = await mesh.skiff(['get', 'pods', '-o', 'jsonpath={.items[*]']);
  assert.notEqual(badTemplate.code, 0);
  assert.match(badTemplate.stderr, /error parsing jsonpath \{\.items\[\*\], unclosed action/);

  const json = await mesh.skiff(['get', 'pods', '-l', 'app=httpbin', '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const podList = JSON.parse(json.stdout) as { kind: string; items: { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels: Record<string, string> }; status: { phase: string; podIP: string; containerStatuses: { name: string; ready: boolean; state: Record<string, unknown> }[] } }[] };
  assert.equal(podList.kind, 'List');
  assert.equal(podList.items.length, 1);
  const [pod] = podList.items;
  assert.equal(pod.kind, 'Pod');
  assert.equal(pod.metadata.namespace, 'default');
  assert.deepEqual({ app: pod.metadata.labels.app, version: pod.metadata.labels.version }, { app: 'httpbin', version: 'v1' });
  assert.equal(pod.status.phase, 'Running');
  assert.equal(pod.status.podIP, '127.0.0.1');
  assert.deepEqual(pod.status.containerStatuses.map((c) => [c.name, c.ready, Object.keys(c.state)[0]]).sort(), [['httpbin', true, 'running'], ['istio-proxy', true, 'running']]);
  const yaml = await mesh.skiff(['get', 'pod', pod.metadata.name, '-o', 'yaml']);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.match(yaml.stdout, new RegExp(`^kind: Pod\\n[\\s\\S]*^  name: ${pod.metadata.name}$[\\s\\S]*^  phase: Running$`, 'm'));

  const missing = await mesh.skiff(['get', 'pods', 'nothing-like-it']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error from server (NotFound): pods "nothing-like-it" not found\n');
  const unknownKind = await mesh.skiff(['get', 'vs,widgets']);
  assert.notEqual(unknownKind.code, 0);
  assert.match(unknownKind.stderr, /the server doesn't have a resource type "widgets"/);

  await mesh.delete(httpbinRule);
});

test('skiff logs -l: every matching pod\'s log, each line prefixed with its pod and container', async () => {
  const r = await mesh.skiff(['logs', '-l', 'app in (httpbin,curl)', '-c', 'istio-proxy', '--prefix', '--tail', '2']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const pods = new Set(lines.map((l) => /^\[pod\/(httpbin|curl)-[a-z0-9-]+\/istio-proxy\] /.exec(l)?.[1] ?? `unprefixed: ${l}`));
  assert.deepEqual([...pods].sort(), ['curl', 'httpbin']);
  assert.ok(lines.length <= 4, r.stdout);
  const none = await mesh.skiff(['logs', '-l', 'app=nothing']);
  assert.equal(none.code, 0);
  assert.equal(none.stderr, 'No resources found in default namespace.\n');
  const both = await mesh.skiff(['logs', 'httpbin', '-l', 'app=httpbin']);
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /give either NAME or -l SELECTOR, not both/);
});

test('skiff scale deploy/NAME --replicas N, followed by skiff get -w as it happens', async () => {
  const watcher = spawn(process.execPath, [skiffBin, 'get', 'deploy', 'httpbin', '-w', '--state-dir', mesh.stateDir], { env: { ...process.env, NO_COLOR: '1' } });
  let watched = '';
  watcher.stdout.setEncoding('utf8').on('data', (d: string) => (watched += d));
  try {
    await eventually(() => /^httpbin\s+1\/1\s/m.test(watched), 'the watch lists the Deployment first');
    const up = await mesh.skiff(['scale', 'deploy/httpbin', '--replicas', '2']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, 'deployment.apps/httpbin scaled\n');
    await mesh.waitReady();
    const pods = await mesh.skiff(['get', 'pods', '-l', 'app=httpbin', '-o', 'name']);
    assert.equal(pods.stdout.split('\n').filter((l) => l !== '').length, 2, pods.stdout);
    // The change arrives as a row of its own, without the header again.
    await eventually(() => watched.split('\n').filter((l) => l.startsWith('httpbin ')).length >= 2, 'the watch prints the scaled Deployment');
    assert.equal(watched.split('\n').filter((l) => l.startsWith('NAME')).length, 1, watched);
    const down = await mesh.skiff(['scale', 'deployment', 'httpbin', '--replicas', '1']);
    assert.equal(down.code, 0, down.stderr);
    await eventually(async () => (await mesh.skiff(['get', 'deploy', 'httpbin'])).stdout.includes('1/1'), 'back to one replica');
  } finally {
    watcher.kill('SIGINT');
  }
  const missing = await mesh.skiff(['scale', 'deploy/nothing', '--replicas', '2']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error from server (NotFound): deployments.apps "nothing" not found\n');
  const notDeploy = await mesh.skiff(['scale', 'svc/httpbin', '--replicas', '2']);
  assert.notEqual(notDeploy.code, 0);
  assert.match(notDeploy.stderr, /only Deployments can be scaled \(deploy\/NAME\), not "svc\/httpbin"/);
  const negative = await mesh.skiff(['scale', 'deploy/httpbin', '--replicas', '-1']);
  assert.notEqual(negative.code, 0);
  assert.match(negative.stderr, /must be a whole number of replicas, 0 or more/);
});

test('skiff version: the client and the running skiffd', async () => {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const both = await mesh.skiff(['version']);
  assert.equal(both.code, 0, both.stderr);
  assert.equal(both.stdout, `client version: ${version}\ncontrol plane version: ${version}\n`);
  const local = await mesh.skiff(['version', '--remote=false']);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(local.stdout, `client version: ${version}\n`);
  const json = await mesh.skiff(['version', '-o', 'json']);
  assert.deepEqual(JSON.parse(json.stdout), { clientVersion: { version }, meshVersion: [{ Component: 'skiffd', Info: { version } }] });
  const none = await runSkiff(['version', '--state-dir', join(dir, 'no-mesh')]);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, `client version: ${version}\ncontrol plane version: none (skiffd is not running on this state directory)\n`);
});

test('skiff proxy-config: cluster types as Istio shows them, all, and the proxy\'s log levels get and set', async () => {
  const clusters = await mesh.skiff(['proxy-config', 'clusters', 'deploy/curl']);
  assert.equal(clusters.code, 0, clusters.stderr);
  assert.match(clusters.stdout, /^httpbin\.default\.svc\.cluster\.local\s+8000\s+-\s+outbound\s+EDS\s/m);
  assert.match(clusters.stdout, /^PassthroughCluster\s+-\s+-\s+-\s+ORIGINAL_DST\s/m);
  assert.match(clusters.stdout, /^BlackHoleCluster\s+-\s+-\s+-\s+STATIC\s/m);

  const all = await mesh.skiff(['proxy-config', 'all', 'deploy/curl']);
  assert.equal(all.code, 0, all.stderr);
  const headers = all.stdout.split('\n').filter((l) => /^(SERVICE FQDN|NAME|ENDPOINT)\s/.test(l)).map((l) => l.split(/\s{2,}/)[0]);
  assert.deepEqual(headers, ['SERVICE FQDN', 'NAME', 'NAME', 'ENDPOINT']);
  assert.match(all.stdout, /outbound\|8000\|\|httpbin\.default\.svc\.cluster\.local/);
  const allJson = JSON.parse((await mesh.skiff(['proxy-config', 'all', 'deploy/curl', '-o', 'json'])).stdout) as { listeners: unknown[]; routes: unknown[]; clusters: unknown[]; endpoints: unknown[] };
  assert.ok(allJson.listeners.length > 0 && allJson.routes.length > 0 && allJson.clusters.length > 0 && allJson.endpoints.length > 0);

  const shown = await mesh.skiff(['proxy-config', 'log', 'deploy/curl']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, 'active loggers:\n  config: info\n  main: info\n');
  const one = await mesh.skiff(['proxy-config', 'log', 'deploy/curl', '--level', 'config:debug']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout, 'active loggers:\n  config: debug\n  main: info\n');
  const every = await mesh.skiff(['proxy-config', 'log', 'deploy/curl', '--level', 'warning']);
  assert.equal(every.stdout, 'active loggers:\n  config: warning\n  main: warning\n');
  // Another proxy keeps its own levels.
  assert.equal((await mesh.skiff(['proxy-config', 'log', 'deploy/httpbin'])).stdout, 'active loggers:\n  config: info\n  main: info\n');
  const reset = await mesh.skiff(['proxy-config', 'log', 'deploy/curl', '-r']);
  assert.equal(reset.stdout, 'active loggers:\n  config: info\n  main: info\n');
  const badLevel = await mesh.skiff(['proxy-config', 'log', 'deploy/curl', '--level', 'loud']);
  assert.notEqual(badLevel.code, 0);
  assert.match(badLevel.stderr, /unknown log level "loud" \(levels: trace, debug, info, warning, error, critical, off\)/);
  const badLogger = await mesh.skiff(['proxy-config', 'log', 'deploy/curl', '--level', 'http:debug']);
  assert.notEqual(badLogger.code, 0);
  assert.match(badLogger.stderr, /unknown logger "http" in "http:debug" \(loggers: config, main\)/);
  const misplaced = await mesh.skiff(['proxy-config', 'clusters', 'deploy/curl', '--level', 'debug']);
  assert.notEqual(misplaced.code, 0);
  assert.match(misplaced.stderr, /--level and --reset go with proxy-config log/);
});
