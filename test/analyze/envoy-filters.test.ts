/**
 * SKF0005: every EnvoyFilter patch Skiff does not apply is reported at its path (the list of what
 * is stored but not enforced), while the page's rate-limit EnvoyFilters give no message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeDocs, summary } from './fixtures.js';

const fixture = (name: string): string => readFileSync(join(process.cwd(), 'test', 'e2e', 'fixtures', 'ratelimit', name), 'utf8');

test('the page\'s rate-limit EnvoyFilters are all applied: no message', () => {
  const docs = ['local-ratelimit-listener.yaml', 'local-ratelimit-route.yaml', 'filter-ratelimit.yaml', 'filter-ratelimit-svc.yaml', 'filter-ratelimit-svc-api.yaml']
    .map((f) => fixture(f).replace(/name: filter-local-ratelimit-svc$/m, `name: ${f.replace('.yaml', '')}`));
  assert.deepEqual(summary(analyzeDocs(docs)).filter((m) => m.includes('EnvoyFilter')), []);
});

test('SKF0005: each patch Skiff does not apply is reported at its path; targetRefs are reported', () => {
  const ef = `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: misc
spec:
  configPatches:
  - applyTo: NETWORK_FILTER
    match: { context: SIDECAR_OUTBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.tcp_proxy } } } }
    patch: { operation: MERGE, value: { typed_config: { idle_timeout: 0s } } }
  - applyTo: HTTP_FILTER
    match: { context: GATEWAY }
    patch:
      operation: INSERT_FIRST
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          stat_prefix: gw
          token_bucket: { max_tokens: 10, fill_interval: 1s }
          local_cluster_rate_limit: {}
`;
  const refs = `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: attached
spec:
  targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: gw }]
  configPatches: []
`;
  const msgs = analyzeDocs([ef, refs]).filter((m) => m.code === 'SKF0005');
  assert.deepEqual(
    msgs.map((m) => [m.resource?.name, m.message]),
    [
      ['misc', 'EnvoyFilter field configPatches[] is stored but not enforced by Skiff yet: the patch is not applied: Skiff applies only the rate-limit patches Istio documents (HTTP_FILTER inserts of local_ratelimit and ratelimit, VIRTUAL_HOST and HTTP_ROUTE merges of typed_per_filter_config and rate_limits); skiffd logs why.'],
      ['misc', 'EnvoyFilter field configPatches[] is stored but not enforced by Skiff yet: the patch is not applied: Skiff applies only the rate-limit patches Istio documents (HTTP_FILTER inserts of local_ratelimit and ratelimit, VIRTUAL_HOST and HTTP_ROUTE merges of typed_per_filter_config and rate_limits); skiffd logs why.'],
      ['attached', 'EnvoyFilter field targetRefs is stored but not enforced by Skiff yet: none of its patches is applied: Skiff attaches EnvoyFilters by workloadSelector only.'],
    ],
  );
});
