/**
 * Request path normalisation as the request path runs it on every request (phase 1): the
 * common path, which one scan finds nothing to do in, and paths that take the full
 * normalisation. Each call's answer is checked first.
 */
import { normalizeRequestPath } from '../../src/proxy/http/path-normalize.js';
import type { PathNormalization } from '../../src/snapshot/index.js';
import { check, measure } from './measure.js';
import type { MicroResult } from './measure.js';

const CASES: [label: string, path: string, mode: PathNormalization, want: string][] = [
  ['BASE, nothing to do', '/productpage', 'BASE', '/productpage'],
  ['BASE, nothing to do, with a query', '/api/v1/products/1/reviews?user=jason&page=2', 'BASE', '/api/v1/products/1/reviews?user=jason&page=2'],
  ['DECODE_AND_MERGE_SLASHES, nothing to do', '/api/v1/products/1/reviews?user=jason&page=2', 'DECODE_AND_MERGE_SLASHES', '/api/v1/products/1/reviews?user=jason&page=2'],
  ['BASE, a .. segment', '/raw/../status/418', 'BASE', '/status/418'],
  ['BASE, an encoded .. segment', '/raw/%2e%2e/status/418', 'BASE', '/status/418'],
  ['DECODE_AND_MERGE_SLASHES, escaped slashes', '/a%2F%2Fb/./c?x=1', 'DECODE_AND_MERGE_SLASHES', '/a/b/c?x=1'],
];

export function pathBench(): MicroResult[] {
  for (const [label, path, mode, want] of CASES) check(normalizeRequestPath('GET', path, mode) === want, `${label}: ${path} → ${want}`);
  return CASES.map(([label, path, mode]) => measure(`path: ${label}`, 1_000_000, () => normalizeRequestPath('GET', path, mode), 20_000));
}
