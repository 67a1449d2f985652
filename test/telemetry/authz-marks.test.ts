/**
 * What authorization leaves in telemetry: the deciding rule of a denied connection in the access
 * log's connection termination details, AUDIT and dry-run marks after the format's fields (text)
 * or as keys of their own (JSON), and Istio's `authz_dry_run_action` / `authz_dry_run_result`
 * labels on the request series — a series of its own, absent without a dry-run policy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatJsonLine, formatTextLine } from '../../src/telemetry/access-log/format.js';
import { IstioMetrics, dryRunLabel, renderIstioMetrics, type SeriesLabels } from '../../src/telemetry/metrics/istio-metrics.js';
import { LabelParts } from '../../src/telemetry/metrics/labels.js';
import { newRecord } from '../../src/telemetry/request-record.js';

const extras = { forwardedFor: '' };

test('a connection authorization closed names the rule in the connection termination details', () => {
  const rec = newRecord('tcp', 'inbound_9000', 'inbound', 'tcp', '127.0.0.1:5000');
  rec.details = 'rbac_access_denied_matched_policy[ns[foo]-policy[tcp-policy]-rule[0]]';
  const line = formatTextLine(rec, extras);
  assert.match(line, / 0 - - rbac_access_denied_matched_policy\[ns\[foo\]-policy\[tcp-policy\]-rule\[0\]\] "-" /);
  assert.equal(JSON.parse(formatJsonLine(rec, extras)).connection_termination_details, rec.details);
});

test('AUDIT and dry-run marks follow the format, and only when a policy made them', () => {
  const rec = newRecord('http', 'inbound_8000', 'inbound', 'HTTP/1.1', '127.0.0.1:5000');
  rec.status = 200;
  assert.doesNotMatch(formatTextLine(rec, extras), /authz_/);
  rec.authz = { audit: 'ns[foo]-policy[audit]-rule[0]', dryRun: { result: 'denied', action: 'DENY', matched: 'ns[foo]-policy[deny-path-headers]-rule[0]' } };
  assert.match(formatTextLine(rec, extras), / authz_audit_policy=ns\[foo\]-policy\[audit\]-rule\[0\] authz_dry_run_result=denied authz_dry_run_policy=ns\[foo\]-policy\[deny-path-headers\]-rule\[0\]\n$/);
  const json = JSON.parse(formatJsonLine(rec, extras)) as Record<string, unknown>;
  assert.equal(json.authz_audit_policy, 'ns[foo]-policy[audit]-rule[0]');
  assert.equal(json.authz_dry_run_result, 'denied');
});

test('dry-run results are labels of their own series', () => {
  const parts = new LabelParts();
  const metrics = new IstioMetrics(parts);
  const base: SeriesLabels = {
    reporter: 'destination',
    source: parts.intern('source_workload="curl"'),
    destination: parts.intern('destination_workload="httpbin"'),
    service: parts.intern('destination_service="httpbin"'),
    protocol: 'http',
    responseCode: 200,
    grpcStatus: '',
    flags: 0,
    security: 'none',
  };
  metrics.recordRequest({ ...base, dryRun: dryRunLabel({ action: 'DENY', result: 'denied' }) }, 1, 0, 0);
  metrics.recordRequest({ ...base, dryRun: dryRunLabel({ action: 'DENY', result: 'allowed' }) }, 1, 0, 0);
  metrics.recordRequest(base, 1, 0, 0);
  const page = renderIstioMetrics([metrics.dump()]);
  const totals = page.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
  assert.equal(totals.length, 3);
  assert.equal(totals.filter((l) => l.includes('authz_dry_run_action="deny",authz_dry_run_result="denied"')).length, 1);
  assert.equal(totals.filter((l) => l.includes('authz_dry_run_result="allowed"')).length, 1);
  assert.equal(totals.filter((l) => !l.includes('authz_dry_run')).length, 1);
});
