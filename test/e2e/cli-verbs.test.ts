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
import { startMesh } from './harness.js';
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
