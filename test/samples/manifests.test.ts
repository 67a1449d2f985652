/**
 * The samples' manifests and image map: they parse, every command they name exists after a
 * build, Istio's own sample manifests find a local stand-in for each image, and the project's
 * networking configs mean the same as Istio's files of the same name.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { commandFor, findImage, loadImageMap, normalizeImage, parseImageMap } from '../../src/runtime/image-map.js';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';
import { distRoot } from './helpers.js';
import { TOOLS } from '../helpers/tools.js';

type Doc = Record<string, unknown> & { kind?: string; metadata?: { name?: string } };

const samplesDir = join(repoRoot, 'samples');

function docs(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/**
 * A command's script, as built: `node dist/x.js` → <dist>/x.js; or a program the tests know how to
 * install (redis-server), which CI installs (`test/helpers/tools.ts`, `.ci/run`).
 */
function assertRunnable(argv: readonly string[], where: string): void {
  if (argv[0] !== 'node') {
    assert.ok(Object.values(TOOLS).some((t) => t.executable === argv[0]), `${where}: ${argv[0]} is neither node nor a program of test/helpers/tools.ts`);
    return;
  }
  const script = argv[1] ?? '';
  assert.ok(script.startsWith('dist/'), `${where}: ${script} is under dist/`);
  assert.ok(existsSync(join(distRoot, script.slice('dist/'.length))), `${where}: ${script} exists after the build`);
}

interface PodTemplate {
  metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { containers: { image: string; args?: string[] }[] };
}

function podTemplates(list: Doc[]): { name: string; template: PodTemplate }[] {
  return list.filter((d) => d.kind === 'Deployment').map((d) => ({ name: d.metadata?.name ?? '?', template: (d.spec as { template: PodTemplate }).template }));
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []));
}

describe('image map', () => {
  const map = loadImageMap(join(samplesDir, 'images.yaml'));

  test('image names normalise as Docker does', () => {
    assert.equal(normalizeImage('curlimages/curl:8.16.0'), 'docker.io/curlimages/curl');
    assert.equal(normalizeImage('redis'), 'docker.io/library/redis');
    assert.equal(normalizeImage('index.docker.io/fortio/fortio:latest_release'), 'docker.io/fortio/fortio');
    assert.equal(normalizeImage('localhost:5000/app@sha256:abc'), 'localhost:5000/app');
    assert.equal(normalizeImage('registry.istio.io/release/tcp-echo-server:1.3'), 'registry.istio.io/release/tcp-echo-server');
  });

  test('every command and tool in samples/images.yaml exists after the build', () => {
    assert.ok(map.length > 10);
    map.forEach((entry, i) => {
      assertRunnable(entry.command, `images[${i}].command`);
      for (const [tool, argv] of Object.entries(entry.tools)) assertRunnable(argv, `images[${i}].tools.${tool}`);
    });
  });

  test('any tag of a mapped image resolves, with the version settings', () => {
    const v3 = findImage(map, 'docker.io/istio/examples-bookinfo-reviews-v3:1.17.0');
    assert.deepEqual(v3?.env, { ENABLE_RATINGS: 'true', STAR_COLOR: 'red' });
    assert.deepEqual(commandFor(findImage(map, 'registry.istio.io/release/tcp-echo-server:1.3')!, ['9000,9001,9002', 'one']).slice(2), ['9000,9001,9002', 'one']);
    assert.deepEqual(commandFor(findImage(map, 'mccutchen/go-httpbin:v2.15.0')!, ['-use-real-hostname']), ['node', 'dist/samples/httpbin/src/main.js', '-use-real-hostname']);
    assert.deepEqual(commandFor(findImage(map, 'docker.io/kennethreitz/httpbin')!, ['-b', '0.0.0.0:80']), ['node', 'dist/samples/httpbin/src/main.js']);
    assert.equal(findImage(map, 'docker.io/library/postgres:16'), undefined);
    assert.ok(findImage(parseImageMap('images:\n- match: [docker.io/acme/*-server]\n  command: [node, x.js]\n'), 'acme/echo-server:1'));
  });

  test('mistakes in an image map are reported with the entry and field', () => {
    assert.throws(() => parseImageMap('images:\n- match: [a]\n  command: []\n', 'm.yaml'), /^Error: m\.yaml: images\[0\]\.command: must be a non-empty list of strings$/);
    assert.throws(() => parseImageMap('images:\n- match: [a]\n  command: [x]\n  args: some\n', 'm.yaml'), /images\[0\]\.args: must be "keep" or "drop"/);
    assert.throws(() => parseImageMap('images:\n- match: [a]\n  command: [x]\n  env: {A: 1}\n', 'm.yaml'), /images\[0\]\.env\.A: must be a string/);
    assert.throws(() => parseImageMap('images:\n- match: [a]\n  command: [x]\n  comand: [y]\n', 'm.yaml'), /images\[0\]\.comand: unknown field/);
    assert.throws(() => parseImageMap('other: 1\n', 'm.yaml'), /m\.yaml: images: must be a list/);
  });

  test("Istio's sample manifests find a local command for every container", { skip: skipWithoutIstioSamples }, () => {
    requireIstioSamples();
    const files = [
      'bookinfo/platform/kube/bookinfo.yaml',
      'bookinfo/platform/kube/bookinfo-details-v2.yaml',
      'httpbin/httpbin.yaml',
      'httpbin/sample-client/fortio-deploy.yaml',
      'curl/curl.yaml',
      'sleep/sleep.yaml',
      'tcp-echo/tcp-echo.yaml',
      'tcp-echo/tcp-echo-services.yaml',
      'ratelimit/rate-limit-service.yaml',
    ];
    for (const file of files) {
      for (const { name, template } of podTemplates(docs(istioSample(file)))) {
        for (const container of template.spec.containers) {
          const entry = findImage(map, container.image);
          assert.ok(entry, `${file}: ${name}: no mapping for ${container.image}`);
          assertRunnable(commandFor(entry, container.args), `${file}: ${name}`);
        }
      }
    }
  });
});

describe('sample manifests', () => {
  test('every Deployment names a built command in skiff.dev/command', () => {
    const files = yamlFiles(samplesDir).filter((f) => !f.endsWith('images.yaml'));
    let deployments = 0;
    for (const file of files) {
      for (const { name, template } of podTemplates(docs(file))) {
        deployments++;
        const command = template.metadata?.annotations?.['skiff.dev/command'];
        assert.ok(command, `${file}: ${name} has no skiff.dev/command annotation`);
        assertRunnable(command.split(/\s+/), `${file}: ${name}`);
      }
    }
    assert.ok(deployments >= 12, `found ${deployments} deployments`);
  });

  test('bookinfo.yaml has the services, accounts and labelled versions of Istio’s', { skip: skipWithoutIstioSamples }, () => {
    requireIstioSamples();
    const summary = (list: Doc[]): string[] =>
      list
        .map((d) => {
          if (d.kind === 'Deployment') return `Deployment/${d.metadata?.name} ${JSON.stringify((d.spec as { template: PodTemplate }).template.metadata?.labels)}`;
          if (d.kind === 'Service') return `Service/${d.metadata?.name} ${JSON.stringify((d.spec as { ports: unknown }).ports)}`;
          return `${d.kind}/${d.metadata?.name}`;
        })
        .sort();
    const ours = summary(docs(join(samplesDir, 'bookinfo/bookinfo.yaml')));
    const istio = summary(docs(istioSample('bookinfo/platform/kube/bookinfo.yaml'))).map((s) => s.replace('"port":9080,"name":"http"', '"name":"http","port":9080,"targetPort":9080'));
    assert.deepEqual(ours, istio);
    for (const { template } of podTemplates(docs(join(samplesDir, 'bookinfo/bookinfo.yaml')))) {
      assert.match(template.spec.containers[0].image, /^registry\.istio\.io\/release\/examples-bookinfo-/);
    }
  });

  test("the project's networking configs mean the same as Istio's files of the same name", { skip: skipWithoutIstioSamples }, () => {
    requireIstioSamples();
    const pairs: [string, string][] = [
      ...readdirSync(join(samplesDir, 'bookinfo/networking')).map((f): [string, string] => [`bookinfo/networking/${f}`, `bookinfo/networking/${f}`]),
      ['tcp-echo/tcp-echo-all-v1.yaml', 'tcp-echo/tcp-echo-all-v1.yaml'],
      ['tcp-echo/tcp-echo-20-v2.yaml', 'tcp-echo/tcp-echo-20-v2.yaml'],
      ['httpbin/httpbin-gateway.yaml', 'httpbin/httpbin-gateway.yaml'],
    ];
    assert.equal(pairs.length, 17);
    for (const [ours, theirs] of pairs) {
      assert.deepEqual(docs(join(samplesDir, ours)), docs(istioSample(theirs)), ours);
    }
  });
});
