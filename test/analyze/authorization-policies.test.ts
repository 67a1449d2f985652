/**
 * The authorization analyzer: HTTP-only fields in a rule that applies to a TCP port (SKF0007, with
 * what Istio then does for ALLOW and for DENY), and principals naming a namespace or service
 * account no workload runs as (SKF0008).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeDocs, deployment, service, summary } from './fixtures.js';

const TCP_ECHO = [service('tcp-echo', { ports: [{ name: 'tcp', port: 9000 }, { name: 'tcp-other', port: 9001 }] }), deployment('tcp-echo', { app: 'tcp-echo' })];
const policy = (name: string, action: string, rules: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
spec:
  selector: {matchLabels: {app: tcp-echo}}
  action: ${action}
  rules: ${rules}
`;

test('an HTTP-only field on a TCP port is reported with what Istio makes of it', () => {
  const allow = analyzeDocs([...TCP_ECHO, policy('tcp-policy', 'ALLOW', '[{to: [{operation: {methods: [GET], ports: ["9000"]}}]}]')]).filter((m) => m.code === 'SKF0007');
  assert.deepEqual(summary(allow), [
    'SKF0007 AuthorizationPolicy default/tcp-policy: rules[0] uses HTTP-only to[0].operation.methods and applies to TCP port 9000 (Service tcp-echo): for TCP connections the rule is dropped and matches nothing, so no connection is allowed by it',
  ]);
  const deny = analyzeDocs([...TCP_ECHO, policy('tcp-policy', 'DENY', '[{to: [{operation: {methods: [GET]}}]}]')]).filter((m) => m.code === 'SKF0007');
  assert.match(deny[0]?.message ?? '', /applies to TCP port 9000, 9001 .*the rule matches every connection/);
  const portsOnly = analyzeDocs([...TCP_ECHO, policy('tcp-policy', 'ALLOW', '[{to: [{operation: {ports: ["9000", "9001"]}}]}]')]).filter((m) => m.code === 'SKF0007');
  assert.deepEqual(portsOnly, [], 'ports are a TCP field');
  const http = analyzeDocs([service('httpbin', { ports: [{ name: 'http', port: 8000 }] }), deployment('httpbin', { app: 'httpbin' }), policy('p', 'ALLOW', '[{to: [{operation: {methods: [GET]}}]}]').replace('tcp-echo', 'httpbin')]);
  assert.deepEqual(http.filter((m) => m.code === 'SKF0007'), [], 'an HTTP port is fine');
});

test('a principal naming a namespace or service account without workloads is reported', () => {
  const messages = analyzeDocs([
    deployment('productpage', { app: 'productpage' }),
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: details-viewer
spec:
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/default/sa/bookinfo-productpage, cluster.local/ns/nowhere/sa/x, cluster.local/ns/default/sa/default, "*"]
`,
  ]).filter((m) => m.code === 'SKF0008');
  assert.deepEqual(summary(messages), [
    'SKF0008 AuthorizationPolicy default/details-viewer: principal cluster.local/ns/default/sa/bookinfo-productpage names no workload: no workload in namespace default runs as service account bookinfo-productpage (known: default)',
    'SKF0008 AuthorizationPolicy default/details-viewer: principal cluster.local/ns/nowhere/sa/x names no workload: namespace nowhere has no workloads',
  ]);
});
