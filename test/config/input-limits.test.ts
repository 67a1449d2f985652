/**
 * The limits checked before parsing: nesting depth through flow collections, block indentation,
 * compact `- ` entries and JSON; brackets that are text (quoted, commented, in block scalars and
 * plain scalars) left alone; the size of each document of a stream; and what loading, deleting
 * and the mesh config's inner document make of a breach — an error at its line naming the limit,
 * never "Maximum call stack size exceeded". Every shipped and Istio sample stays within them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_INPUT_LIMITS, checkInputLimits, jsonNestsDeeper } from '../../src/config/input-limits.js';
import { loadTexts } from '../../src/config/load.js';
import { deleteTargets } from '../../src/config/store-input.js';
import { parseMeshConfig } from '../../src/config/mesh-config.js';
import { repoRoot } from '../helpers/cli.js';
import { hasIstioSamples, istioSample } from '../helpers/shared.js';

const HEAD = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n';
const depth = DEFAULT_INPUT_LIMITS.depth;

const flow = (n: number): string => `${HEAD}  k: ${'['.repeat(n)}${']'.repeat(n)}\n`;
const block = (n: number): string => HEAD + Array.from({ length: n }, (_, i) => `${' '.repeat(2 + i)}k${i}:\n`).join('');
const dashes = (n: number): string => `${HEAD}  k:\n    ${'- '.repeat(n)}x\n`;

describe('nesting depth', () => {
  test('flow, block and compact nesting beyond the limit is a breach where it goes too deep; within it, none', () => {
    for (const [name, make] of [['flow', flow], ['block', block], ['compact dashes', dashes]] as const) {
      assert.deepEqual(checkInputLimits(make(depth - 10)), [], `${name} within the limit`);
      const breaches = checkInputLimits(make(depth + 10));
      assert.equal(breaches.length, 1, name);
      assert.equal(breaches[0]?.limit, 'nesting depth', name);
      assert.equal(breaches[0]?.message, `nested deeper than ${depth} levels, the limit of nesting depth in one document`);
    }
  });

  test('JSON documents are read as flow YAML; brackets inside strings are text', () => {
    const deep = `{"a":${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}}`;
    assert.equal(checkInputLimits(deep)[0]?.limit, 'nesting depth');
    assert.deepEqual(checkInputLimits(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { k: '[{'.repeat(500) } })), []);
    assert.deepEqual(checkInputLimits(`{"a": "say \\"[[[[\\" ${'['.repeat(300)}"}`), []);
  });

  test('brackets that are text do not count: quoted, commented, in block scalars, inside plain scalars', () => {
    const many = '['.repeat(depth * 3);
    const text = `${HEAD}  a: "${many}"\n  b: '${many}'\n  c: it's ${many}\n  d: x # ${many}\n  e: |\n    ${many}\n      ${many}\n  f: >-\n    ${many}\n  g: ok\n`;
    assert.deepEqual(checkInputLimits(text), []);
    // A multi-line quoted scalar hides its brackets on every line it spans.
    assert.deepEqual(checkInputLimits(`${HEAD}  a: "first\n    ${many}\n    last"\n  b: [1, 2]\n`), []);
  });

  test('each document is checked on its own: a deep one is named at its place, the others pass', () => {
    const text = `${HEAD}  k: v\n---\n${flow(depth + 5)}---\n${flow(depth + 5)}`;
    const breaches = checkInputLimits(text);
    assert.equal(breaches.length, 2);
    assert.ok(breaches[0].offset > text.indexOf('---') && breaches[0].offset < text.lastIndexOf('---'));
    assert.ok(breaches[1].offset > text.lastIndexOf('---'));
  });

  test('the request envelope: JSON nesting beyond a bound is seen without parsing, strings skipped', () => {
    assert.equal(jsonNestsDeeper('{"files":[{"name":"a","text":"[[[[[[[[[[[[[[[[[[[["}]}', 8), false);
    assert.equal(jsonNestsDeeper(`{"files":${'['.repeat(9)}`, 8), true);
    assert.equal(jsonNestsDeeper('{"a":"\\"[[[[[[[[[["}', 3), false);
  });
});

describe('document size', () => {
  test('a document beyond 1.5 MiB is a breach naming its size and the limit; the same bytes in two documents are not', () => {
    const half = 'x'.repeat(1024 * 1024);
    assert.deepEqual(checkInputLimits(`${HEAD}  a: ${half}\n---\n${HEAD}  b: ${half}\n`), []);
    const [breach] = checkInputLimits(`${HEAD}  a: ${half}${half}\n`);
    assert.equal(breach?.limit, 'document size');
    assert.equal(breach?.offset, 0);
    assert.match(breach?.message ?? '', /^this document is 2 MiB \(\d+ bytes\); a document may be at most 1\.5 MiB \(1572864 bytes\), the most Kubernetes stores for one object$/);
  });

  test('size is counted in UTF-8 bytes: 800 Ki of "é" is 1.56 MiB', () => {
    assert.equal(checkInputLimits(`${HEAD}  a: ${'é'.repeat(800 * 1024)}\n`)[0]?.limit, 'document size');
    assert.deepEqual(checkInputLimits(`${HEAD}  a: ${'e'.repeat(800 * 1024)}\n`), []);
  });
});

describe('loading, deleting and the mesh config refuse a breach with its place, never a stack overflow', () => {
  test('deep input: one error at the line and column where it goes too deep; nothing parsed', () => {
    for (const text of [flow(5000), block(1500), dashes(3000)]) {
      const result = loadTexts([{ name: 'deep.yaml', text }]);
      assert.equal(result.resources.length, 0);
      assert.equal(result.findings.length, 1);
      const [f] = result.findings;
      assert.equal(f?.severity, 'error');
      assert.equal(f?.file, 'deep.yaml');
      assert.match(f?.message ?? '', /^nested deeper than 100 levels, the limit of nesting depth in one document$/);
      assert.ok((f?.line ?? 0) >= 6, `line ${f?.line}`);
      assert.ok(!JSON.stringify(result).includes('call stack'));
    }
    // Two block levels (`data:`, `k:`) and then the 99th "[", which begins at column 6 + 98.
    const flat = loadTexts([{ name: 'deep.yaml', text: flow(5000) }]).findings[0];
    assert.deepEqual([flat?.line, flat?.col], [6, 6 + depth - 2]);
  });

  test('15 MB of "[" in one value is refused at once, with the limit named', () => {
    const result = loadTexts([{ name: 'big.yaml', text: `${HEAD}  k: ${'['.repeat(15_000_000)}\n` }]);
    assert.equal(result.findings.length, 1);
    assert.match(result.findings[0]?.message ?? '', /the limit of nesting depth/);
  });

  test('delete -f reads only what it may parse', () => {
    const { targets, findings } = deleteTargets([{ name: 'deep.yaml', text: flow(5000) }]);
    assert.deepEqual(targets, []);
    assert.match(findings[0]?.message ?? '', /the limit of nesting depth/);
  });

  test("the mesh config's own document is bounded too", () => {
    const { issues } = parseMeshConfig(`defaultConfig:\n  x: ${'['.repeat(2000)}\n`);
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.message ?? '', /^the mesh config is nested deeper than 100 levels/);
    assert.equal(issues[0]?.line, 2);
  });
});

test('every sample shipped and every Istio sample stays within the limits', () => {
  const roots = [join(repoRoot, 'samples'), join(repoRoot, 'test')];
  // Istio's CRDs nest deepest of all (about 30 levels); checked when Istio's samples are beside the repository.
  if (hasIstioSamples) roots.push(istioSample());
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (name === 'node_modules') continue;
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(name)) files.push(full);
    }
  };
  roots.forEach(walk);
  assert.ok(files.length > 50, `${files.length} files`);
  for (const f of files) assert.deepEqual(checkInputLimits(readFileSync(f, 'utf8')), [], f);
});
