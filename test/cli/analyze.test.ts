import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSkiff } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-analyze-'));
  // Files are analyzed over the live mesh: an empty state directory of its own keeps these tests
  // from reading whatever `.skiff` the working directory holds.
  process.env.SKIFF_STATE_DIR = join(dir, 'state');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  selector:
    app: reviews
  ports:
  - name: http
    port: 9080
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
`;

const vs = (subset: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
${extra}spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: ${subset}
`;

test('a clean set: the istioctl success line and exit 0', async () => {
  const r = await runSkiff(['analyze', '-f', await file('svc.yaml', SERVICE), '-f', await file('vs-ok.yaml', vs('v1'))]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, '✔ No validation issues found when analyzing namespace: default.\n');
});

test('an error: istioctl-style message with code, resource and file:line; exit 79', async () => {
  const bad = await file('vs-bad.yaml', vs('v5'));
  const r = await runSkiff(['analyze', '-f', await file('svc2.yaml', SERVICE), '-f', bad]);
  assert.equal(r.code, 79);
  assert.equal(r.stdout, `Error [IST0101] (VirtualService default/reviews ${bad}:12) Referenced host+subset in destinationrule not found: "reviews+v5"\n`);
  assert.match(r.stderr, /^Error: Analyzers found issues when analyzing namespace: default\.\nSee https:\/\/istio\.io\/\S+ for more information/);
});

test('warnings alone do not fail unless --failure-threshold says so; --output-threshold hides them', async () => {
  const svc = await file('web.yaml', SERVICE.replace('name: http', 'name: web'));
  const r = await runSkiff(['analyze', '-f', svc]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Info \[IST0118\] \(Service default\/reviews .*web\.yaml:9\) Port name web \(port: 9080, targetPort: 9080\) doesn't follow the naming convention of Istio port\.$/m);
  const strict = await runSkiff(['analyze', '--failure-threshold', 'Info', '-f', svc]);
  assert.equal(strict.code, 79);
  const quiet = await runSkiff(['analyze', '--output-threshold', 'Warning', '-f', svc]);
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stdout, '✔ No validation issues found when analyzing namespace: default.\n');
});

test('-o json: an array of {code, level, message, resource, origin}', async () => {
  const bad = await file('vs-json.yaml', vs('v5'));
  const r = await runSkiff(['analyze', '-o', 'json', '-f', await file('svc3.yaml', SERVICE), '-f', bad]);
  assert.equal(r.code, 79);
  const body = JSON.parse(r.stdout) as unknown[];
  assert.deepEqual(body, [
    {
      code: 'IST0101',
      level: 'Error',
      message: 'Referenced host+subset in destinationrule not found: "reviews+v5"',
      resource: 'VirtualService/default/reviews',
      origin: { file: bad, line: 12, column: 17 },
      documentationUrl: 'https://istio.io/latest/docs/reference/config/analysis/ist0101/',
    },
  ]);
});

test('stdin, -n and --all-namespaces', async () => {
  const input = `${SERVICE}---\n${vs('v9', '  namespace: other\n')}`;
  const here = await runSkiff(['analyze', '-f', '-'], { input });
  assert.equal(here.code, 0, here.stdout);
  assert.match(here.stdout, /namespace: default\./);
  const all = await runSkiff(['analyze', '-A', '-f', '-'], { input });
  assert.equal(all.code, 79);
  assert.match(all.stdout, /^Error \[IST0101\] \(VirtualService other\/reviews <stdin>:\d+\) Referenced host not found: "reviews"$/m);
  assert.match(all.stdout, /Referenced host\+subset in destinationrule not found: "reviews\+v9"/);
  assert.match(all.stderr, /when analyzing all namespaces/);
  const other = await runSkiff(['analyze', '-n', 'other', '-f', '-'], { input });
  assert.equal(other.code, 79);
  // With -n other, the Service and DestinationRule (no namespace) land in "other" too.
  assert.doesNotMatch(other.stdout, /Referenced host not found/);
});

test('schema errors and broken YAML are reported as messages too', async () => {
  const broken = await file('broken.yaml', `${vs('v1').replace('  - reviews\n', '  - reviews\n   oops: 1\n')}`);
  const invalid = await file('invalid.yaml', vs('v1').replace('  hosts:\n  - reviews\n', '  hosts: reviews\n'));
  const r = await runSkiff(['analyze', '-f', broken, '-f', invalid]);
  assert.equal(r.code, 79);
  assert.match(r.stdout, /^Error \[IST0106\] \(VirtualService default\/reviews .*invalid\.yaml:6\) Schema validation error: spec\.hosts: must be a list/m);
  assert.match(r.stdout, /^Error \[SKF0002\] \(.*broken\.yaml:\d+\) /m);
});

test('--list-analyzers names the analyzers and every message code', async () => {
  const r = await runSkiff(['analyze', '-L']);
  assert.equal(r.code, 0, r.stderr);
  for (const code of ['IST0101', 'IST0109', 'IST0118', 'IST0127', 'IST0131', 'IST0132', 'SKF0001']) assert.match(r.stdout, new RegExp(code));
  assert.match(r.stdout, /istio: ?ingressgateway|istio=ingressgateway/);
});

test('Bookinfo with destination-rule-all.yaml and each virtual-service-*.yaml: no error', { skip: skipWithoutIstioSamples }, async () => {
  requireIstioSamples();
  const net = istioSample('bookinfo', 'networking');
  const vsFiles = readdirSync(net).filter((f) => /^virtual-service-.*\.yaml$/.test(f)).sort();
  assert.ok(vsFiles.length >= 10, `found ${vsFiles.length} virtual-service files`);
  const base = ['analyze', '-f', istioSample('bookinfo', 'platform', 'kube', 'bookinfo.yaml'), '-f', join(net, 'destination-rule-all.yaml')];
  const results: Array<[string, CliResult]> = [];
  // Two at a time: the machine is shared.
  for (let i = 0; i < vsFiles.length; i += 2) {
    const batch = vsFiles.slice(i, i + 2);
    const done = await Promise.all(batch.map((f) => runSkiff([...base, '-f', join(net, f)])));
    batch.forEach((f, j) => results.push([f, done[j]]));
  }
  for (const [f, r] of results) {
    assert.equal(r.code, 0, `${f}:\n${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout, /^Error/m, f);
  }
  // The gateway sample too, as in Istio's getting-started guide.
  const gw = await runSkiff([...base, '-f', join(net, 'bookinfo-gateway.yaml')]);
  assert.equal(gw.code, 0, gw.stdout);
  assert.equal(gw.stdout, '✔ No validation issues found when analyzing namespace: default.\n');
});

/** One file with a problem for each of several analyzers, every one on a line the test names. */
const MANY_PROBLEMS = `apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  selector: { app: reviews }
  ports:
  - port: 9080
    name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v1
spec:
  selector:
    matchLabels: { app: reviews, version: v1 }
  template:
    metadata:
      labels: { app: reviews, version: v1 }
    spec:
      containers:
      - name: reviews
        image: reviews
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: { version: v1 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ghost
spec:
  host: ghost
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  gateways: [nowhere-gateway]
  http:
  - route:
    - destination:
        host: reviews
        subset: v5
  - route:
    - destination:
        host: reveiws
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  selector: { istio: nothing-here }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: nobody
spec:
  selector:
    matchLabels: { app: nobody }
`;

test('one file, many analyzers: each message with its code, level, resource and the line of the field at fault', async () => {
  const path = await file('many.yaml', MANY_PROBLEMS);
  const lines = MANY_PROBLEMS.split('\n');
  // The 1-based line of the first line at or after `after` that contains `text`.
  const lineOf = (text: string, after = 1): number => lines.findIndex((l, i) => i + 1 >= after && l.includes(text)) + 1;
  const r = await runSkiff(['analyze', '-f', path]);
  assert.equal(r.code, 79, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => l !== ''), [
    `Error [IST0101] (VirtualService default/reviews ${path}:${lineOf('gateways: [nowhere-gateway]')}) Referenced gateway not found: "nowhere-gateway"`,
    `Error [IST0101] (VirtualService default/reviews ${path}:${lineOf('subset: v5')}) Referenced host+subset in destinationrule not found: "reviews+v5"`,
    `Error [IST0101] (VirtualService default/reviews ${path}:${lineOf('host: reveiws')}) Referenced host not found: "reveiws"`,
    `Error [IST0101] (Gateway default/gw ${path}:${lineOf('selector: { istio: nothing-here }')}) Referenced selector not found: "istio=nothing-here"`,
    `Warning [IST0127] (AuthorizationPolicy default/nobody ${path}:${lineOf('matchLabels: { app: nobody }')}) No matching workloads for this resource with the following labels: app=nobody`,
    // The second rule, after a rule without matches: Istio reports the rule that can never be reached.
    `Warning [IST0130] (VirtualService default/reviews ${path}:${lineOf('- route:', lineOf('subset: v5'))}) VirtualService rule #1 not used (only the last rule can have no matches)`,
    `Warning [IST0174] (DestinationRule default/ghost ${path}:${lineOf('host: ghost')}) The host ghost defined in the DestinationRule does not match any services in the mesh.`,
    `Info [IST0118] (Service default/reviews ${path}:${lineOf('- port: 9080')}) Port name web (port: 9080, targetPort: 9080) doesn't follow the naming convention of Istio port.`,
  ]);
});

test('with no files, the state directory\'s config is analyzed; files are merged over it; --use-kube=false takes the files alone', async () => {
  const stateDir = join(dir, 'live-state');
  const s = ['--state-dir', stateDir];
  const none = await runSkiff(['analyze', ...s]);
  assert.equal(none.code, 2, none.stdout);
  assert.match(none.stderr, /no input: no skiffd runs on .*live-state and it holds no config; start one with `skiff up`, or pass files with -f/);

  const applied = await runSkiff(['apply', '-f', await file('live-svc.yaml', SERVICE), ...s]);
  assert.equal(applied.code, 0, applied.stderr);
  const clean = await runSkiff(['analyze', ...s]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.equal(clean.stdout, '✔ No validation issues found when analyzing namespace: default.\n');

  // The VirtualService alone names a host only the live config has.
  const vsFile = await file('live-vs.yaml', vs('v1'));
  const merged = await runSkiff(['analyze', '-f', vsFile, ...s]);
  assert.equal(merged.code, 0, merged.stdout + merged.stderr);
  assert.equal(merged.stdout, '✔ No validation issues found when analyzing namespace: default.\n');
  const alone = await runSkiff(['analyze', '--use-kube=false', '-f', vsFile, ...s]);
  assert.equal(alone.code, 79);
  assert.match(alone.stdout, new RegExp(`^Error \\[IST0101\\] \\(VirtualService default/reviews ${vsFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+\\) Referenced host not found: "reviews"$`, 'm'));
  const aloneNoFiles = await runSkiff(['analyze', '--use-kube=false', ...s]);
  assert.equal(aloneNoFiles.code, 2);
  assert.match(aloneNoFiles.stderr, /no input: with --use-kube=false pass files/);

  // A file's resource replaces the live one of the same name: the live DestinationRule has v1 only.
  const subsets = await runSkiff(['analyze', '-f', await file('live-vs-v2.yaml', vs('v2')), ...s]);
  assert.equal(subsets.code, 79);
  assert.match(subsets.stdout, /Referenced host\+subset in destinationrule not found: "reviews\+v2"/);
  const replaced = await runSkiff(['analyze', '-f', await file('live-dr.yaml', SERVICE.split('---\n')[1].replace('name: v1', 'name: v2')), '-f', await file('live-vs-v2b.yaml', vs('v2')), ...s]);
  assert.equal(replaced.code, 0, replaced.stdout);

  // Messages about live resources name the resource, not a file (as istioctl's about a cluster).
  const broken = await runSkiff(['apply', '-f', await file('live-vs-bad.yaml', vs('v7')), ...s]);
  assert.equal(broken.code, 0, broken.stderr);
  const live = await runSkiff(['analyze', ...s]);
  assert.equal(live.code, 79);
  assert.equal(live.stdout, 'Error [IST0101] (VirtualService default/reviews) Referenced host+subset in destinationrule not found: "reviews+v7"\n');
});
