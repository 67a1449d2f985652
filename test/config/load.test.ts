import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFiles, loadText } from '../../src/config/load.js';
import type { Finding } from '../../src/config/load.js';

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
`;

function errors(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error');
}

test('multi-document YAML: each resource with its line, empty documents skipped, namespace defaulted and remembered', () => {
  const text = [
    '# a comment before the first document marker belongs to the first document',
    '---',
    SERVICE.trimEnd(),
    '---',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  name: ratings',
    '  namespace: prod',
    'spec:',
    '  ports:',
    '  - name: http',
    '    port: 9080',
    '---',
    'apiVersion: v1',
    'kind: Namespace',
    'metadata:',
    '  name: prod',
  ].join('\n');
  const r = loadText('mesh.yaml', text, { defaultNamespace: 'team' });
  assert.deepEqual(r.findings, []);
  assert.equal(r.resources.length, 3);
  const [reviews, ratings, ns] = r.resources;
  assert.equal(reviews.resource.metadata.namespace, 'team');
  assert.equal(reviews.namespaceExplicit, false);
  assert.deepEqual({ line: reviews.source.line, doc: reviews.source.docIndex }, { line: 3, doc: 0 });
  assert.equal(ratings.resource.metadata.namespace, 'prod');
  assert.equal(ratings.namespaceExplicit, true);
  assert.equal(ratings.source.line, 15);
  // Cluster-scoped kinds get no namespace.
  assert.equal(ns.resource.metadata.namespace, undefined);
  assert.equal(ns.source.line, 25);
  // A field path maps back to its line and column.
  assert.deepEqual(reviews.locate(['spec', 'ports', 0, 'port']), { file: 'mesh.yaml', line: 12, col: 11 });
});

test('kind: List is expanded into its items, with positions inside the list', () => {
  const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: one
- apiVersion: v1
  kind: Service
  metadata:
    name: two
  spec:
    ports: {}
`;
  const r = loadText('list.yaml', text);
  assert.equal(r.resources.length, 1);
  assert.equal(r.resources[0].resource.metadata.name, 'one');
  assert.equal(r.resources[0].source.itemIndex, 0);
  assert.equal(r.resources[0].source.line, 4);
  const [e] = errors(r.findings);
  assert.ok(e, 'the second item is invalid');
  assert.equal(e.resource, 'Service/default/two');
  assert.deepEqual(e.path, ['spec', 'ports']);
  assert.deepEqual([e.line, e.col], [13, 12]);
  assert.match(e.message, /must be a list/);
});

test('bad indentation is a syntax error at its line and column, and later documents still load', () => {
  const text = `apiVersion: v1
kind: Service
metadata:
  name: a
   namespace: x
spec: {}
---
${SERVICE}`;
  const r = loadText('bad.yaml', text);
  const syntax = r.findings.filter((f) => f.origin === 'syntax');
  assert.ok(syntax.length > 0);
  assert.equal(syntax[0].severity, 'error');
  assert.equal(syntax[0].file, 'bad.yaml');
  assert.equal(syntax[0].line, 4);
  assert.equal(typeof syntax[0].col, 'number');
  assert.doesNotMatch(syntax[0].message, /at line/, 'the position is in the finding, not repeated in the text');
  assert.deepEqual(r.resources.map((x) => x.resource.metadata.name), ['reviews']);
  assert.deepEqual(r.documents.map((d) => d.status), ['invalid', 'valid']);
});

test('a colon glued to the next character inside a flow collection is part of the scalar, as kubectl reads it', () => {
  const text = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: e
spec:
  hosts: [ext.example.com]
  addresses: [1.2.3.4, 001:db8::, fe80::]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 2001:db8::}, {address: 10.0.0.1, labels: {a: b}}]
`;
  const r = loadText('se.yaml', text);
  assert.deepEqual(errors(r.findings), []);
  const spec = r.resources[0]?.resource.spec as { addresses: unknown; endpoints: unknown };
  assert.deepEqual(spec.addresses, ['1.2.3.4', '001:db8::', 'fe80::']);
  assert.deepEqual(spec.endpoints, [{ address: '2001:db8::' }, { address: '10.0.0.1', labels: { a: 'b' } }]);
  // A colon followed by a blank is still a key in a flow sequence, as in every YAML parser.
  const pair = loadText('pair.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: "[x: y]"}\n');
  assert.deepEqual(errors(pair.findings), []);
});

test('an unclosed flow collection is reported where it opened, not where the parser gave up', () => {
  const text = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: a
spec:
  hosts: [a]
  http:
  - route: [ {destination: {host: a}
  - match:
    - uri:
        prefix: /x
    route:
    - destination:
        host: b
`;
  const r = loadText('vs.yaml', text);
  const found = errors(r.findings).map((f) => `${f.line}:${f.col} ${f.message}`);
  assert.deepEqual(found, [
    '8:12 flow sequence "[" opened here is never closed: a "]" is missing',
    '8:14 flow mapping "{" opened here is never closed: a "}" is missing',
  ]);
});

test('duplicate keys and tab indentation are reported where they occur', () => {
  const dup = loadText('dup.yaml', 'apiVersion: v1\nkind: Service\nkind: Pod\n');
  assert.equal(dup.findings.length, 1);
  assert.deepEqual([dup.findings[0].line, dup.findings[0].col], [3, 1]);
  assert.match(dup.findings[0].message, /unique/);
  const tab = loadText('tab.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n\tname: a\n');
  assert.equal(tab.findings[0].line, 4);
  assert.match(tab.findings[0].message, /[Tt]ab/);
});

test('a wrong type points at the value; an unknown field points at its key, with a suggestion', () => {
  const text = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: reviews
  http:
  - rout:
    - destination:
        host: reviews
`;
  const r = loadText('vs.yaml', text);
  const byPath = new Map(r.findings.map((f) => [f.path.join('.'), f]));
  const hosts = byPath.get('spec.hosts');
  assert.ok(hosts);
  assert.deepEqual([hosts.line, hosts.col], [6, 10]);
  assert.equal(hosts.sourceLine, '  hosts: reviews');
  const rout = byPath.get('spec.http.0.rout');
  assert.ok(rout);
  assert.deepEqual([rout.line, rout.col], [8, 5]);
  assert.match(rout.message, /did you mean "route"/);
  assert.equal(rout.resource, 'VirtualService/default/reviews');
  assert.equal(r.resources.length, 0, 'an invalid resource is not loaded');
});

test('a missing required field lands on its nearest existing ancestor', () => {
  const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  subsets:
  - name: v1
`;
  const r = loadText('dr.yaml', text);
  const host = r.findings.find((f) => f.path.join('.') === 'spec.host');
  assert.ok(host, JSON.stringify(r.findings));
  assert.deepEqual([host.line, host.col], [5, 1]);
});

test('JSON documents are positioned too', () => {
  const text = '{\n  "apiVersion": "v1",\n  "kind": "Service",\n  "metadata": {"name": "x"},\n  "spec": {"ports": [{"port": "eighty"}]}\n}\n';
  const r = loadText('svc.json', text);
  const [e] = errors(r.findings);
  assert.ok(e);
  assert.deepEqual(e.path, ['spec', 'ports', 0, 'port']);
  assert.deepEqual([e.line, e.col], [5, 31]);
});

test('unsupported kinds give one warning and no resource', () => {
  const r = loadText('ef.yaml', 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata:\n  name: ef\nspec: {}\n');
  assert.equal(r.resources.length, 0);
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0].severity, 'warning');
  assert.equal(r.findings[0].unsupported, true);
  assert.match(r.findings[0].message, /not supported by Skiff/);
  assert.deepEqual(r.documents.map((d) => d.status), ['unsupported']);
});

test('files, directories (recursive, sorted, config extensions only), stdin and unreadable paths', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-load-'));
  try {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'b.yaml'), SERVICE.replace('reviews', 'b'));
    await writeFile(join(dir, 'a.yml'), SERVICE.replace('reviews', 'a'));
    await writeFile(join(dir, 'sub', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'c' } }));
    await writeFile(join(dir, 'notes.txt'), 'not: config');
    const r = await loadFiles([dir, '-', join(dir, 'missing.yaml')], {
      readStdin: async () => 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: from-stdin\n',
    });
    assert.deepEqual(r.files, [join(dir, 'a.yml'), join(dir, 'b.yaml'), join(dir, 'sub', 'c.json'), '<stdin>']);
    assert.deepEqual(r.resources.map((x) => x.resource.metadata.name), ['a', 'b', 'c', 'from-stdin']);
    assert.equal(r.resources[3].source.file, '<stdin>');
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0].file, join(dir, 'missing.yaml'));
    assert.equal(r.findings[0].origin, 'read');
    assert.match(r.findings[0].message, /no such file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
