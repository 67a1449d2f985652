/**
 * Access to `../shared/istio-samples` (Istio's own sample manifests, kept beside the repository
 * and never committed). Tests that need it skip with a visible message when it is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

export const istioSamplesDir = join(repoRoot, '..', 'shared', 'istio-samples');
export const hasIstioSamples = existsSync(istioSamplesDir);
/** Pass as the `skip` option of a test: false when present, else the reason shown in the report. */
export const skipWithoutIstioSamples: string | false = hasIstioSamples
  ? false
  : `../shared/istio-samples not found beside the repository (${istioSamplesDir}); skipping Istio sample checks`;

export function istioSample(...parts: string[]): string {
  return join(istioSamplesDir, ...parts);
}
