/**
 * Istio's own sample manifests: every YAML file parses, and every resource of a kind Skiff
 * supports validates without error (other kinds give "not supported" warnings only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadFiles } from '../../src/config/load.js';
import type { LoadResult } from '../../src/config/load.js';
import { formatFinding } from '../../src/config/format.js';
import { requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []))
    .sort();
}

let loaded: Promise<Array<[string, LoadResult]>> | undefined;
/** Each file loaded on its own, once for both tests. */
function loadEach(): Promise<Array<[string, LoadResult]>> {
  loaded ??= Promise.all(yamlFiles(requireIstioSamples()).map(async (f): Promise<[string, LoadResult]> => [f, await loadFiles([f])]));
  return loaded;
}

test('every YAML file of the Istio samples parses', { skip: skipWithoutIstioSamples }, async () => {
  const all = await loadEach();
  assert.ok(all.length > 50, `expected the Istio samples, found ${all.length} YAML files`);
  const broken: string[] = [];
  for (const [, r] of all) {
    for (const f of r.findings.filter((x) => x.origin !== 'validation')) broken.push(formatFinding(f));
  }
  assert.deepEqual(broken, []);
});

test('every Istio sample resource of a supported kind validates without error', { skip: skipWithoutIstioSamples }, async () => {
  const problems: string[] = [];
  let resources = 0;
  let unsupported = 0;
  for (const [file, r] of await loadEach()) {
    resources += r.resources.length;
    for (const f of r.findings) {
      if (f.unsupported) unsupported++;
      else if (f.severity === 'error') problems.push(`${relative(requireIstioSamples(), file)}: ${formatFinding(f)}`);
    }
  }
  assert.deepEqual(problems, []);
  // The samples mix Istio and Kubernetes kinds with ones Skiff ignores (Gateway API, CRDs, ...).
  assert.ok(resources > 100, `only ${resources} resources loaded`);
  assert.ok(unsupported > 0, 'expected some kinds Skiff does not support');
});
