/**
 * Access to `../shared/istio-samples` (Istio's own sample manifests, kept beside the repository
 * and never committed). A test that needs it passes `skipWithoutIstioSamples` as its `skip` option
 * and calls `requireIstioSamples()` (or reads through `istioSample`) before using it: absent, it
 * skips with a visible message, or fails with it under SKIFF_REQUIRE_TOOLS=1 (see tools.ts).
 */
import { join, relative } from 'node:path';
import { repoRoot } from './cli.js';
import { sharedFiles } from './tools.js';

const shared = sharedFiles();

export const hasIstioSamples = shared.path !== null;
/** Pass as the `skip` option of a test: false when present (or required), else the reason shown in the report. */
export const skipWithoutIstioSamples: string | false = shared.skip;

/** The samples folder; throws the missing-files error (failing the test) when it is absent. */
export function requireIstioSamples(): string {
  return join(shared.require(), 'istio-samples');
}

/** Whether `path` names a file under the samples folder. */
export function isIstioSample(path: string): boolean {
  return !relative(istioSample(), path).startsWith('..');
}

/**
 * The path of a file under the samples folder. It does not check that the folder exists, so
 * variants of a test can name their files up front; the test itself calls `requireIstioSamples()`.
 */
export function istioSample(...parts: string[]): string {
  return join(shared.path ?? join(repoRoot, '..', 'shared'), 'istio-samples', ...parts);
}
