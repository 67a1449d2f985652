/**
 * `skiff proxy-status`'s table with JWKS: the JWKS column only when a proxy fetches key sets, and a
 * line for each one whose last fetch failed, saying what happens to tokens meanwhile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyStatusTable } from '../../src/cli/proxy-tables.js';
import type { ProxyStatus } from '../../src/controlplane/push/types.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const base = (name: string): ProxyStatus => ({
  id: `${name}.foo`,
  node: { id: `${name}.foo`, kind: 'sidecar' },
  workload: { name, namespace: 'foo' },
  connectedAt: NOW - 60_000,
  sentVersion: '3-abc',
  ackedVersion: '3-abc',
  state: 'SYNCED',
});

test('no proxy fetches a JWKS: the table is as before', () => {
  assert.match(proxyStatusTable([base('httpbin-1')], NOW).split('\n')[0], /^NAME\s+KIND\s+VERSION\s+STATUS\s+ADMIN\s+METRICS$/);
});

test('the JWKS column counts key sets by state; failed fetches get a line each', () => {
  const failing = { ...base('httpbin-1'), jwks: [
    { uri: 'http://keys.example/a.json', state: 'failed' as const, keys: 0, fetchedAt: 0, error: 'HTTP 404', failures: 4, nextFetchAt: NOW + 8000 },
    { uri: 'http://keys.example/b.json', state: 'ready' as const, keys: 2, fetchedAt: NOW - 300_000, error: 'fetch failed: connect ECONNREFUSED 10.0.0.1:80', failures: 1, nextFetchAt: NOW + 1000 },
  ] };
  const fine = { ...base('httpbin-2'), jwks: [{ uri: 'http://keys.example/c.json', state: 'ready' as const, keys: 1, fetchedAt: NOW - 5000, error: '', failures: 0, nextFetchAt: NOW + 1_195_000 }] };
  const lines = proxyStatusTable([failing, fine, base('sleep-1')], NOW).trimEnd().split('\n');
  assert.match(lines[0], /^NAME\s+KIND\s+VERSION\s+STATUS\s+ADMIN\s+METRICS\s+JWKS$/);
  assert.match(lines[1], /^httpbin-1\.foo\s+sidecar\s+3-abc\s+SYNCED\s+<none>\s+<none>\s+1 ready, 1 failed$/);
  assert.match(lines[2], /^httpbin-2\.foo\s+.*\s+1 ready$/);
  assert.match(lines[3], /^sleep-1\.foo\s+.*<none>\s+-$/);
  assert.deepEqual(lines.slice(5), [
    'httpbin-1.foo cannot fetch JWKS http://keys.example/a.json: HTTP 404 (4 fetches failed, next try in 8s); tokens are refused with "Jwks remote fetch is failed"',
    'httpbin-1.foo cannot fetch JWKS http://keys.example/b.json: fetch failed: connect ECONNREFUSED 10.0.0.1:80 (1 fetch failed, next try in 1s); the 2 keys fetched 5m ago stay in use',
  ]);
});
