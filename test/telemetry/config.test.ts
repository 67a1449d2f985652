/**
 * The snapshot's `telemetry` section: accepted forms, errors that name the field, and how it
 * overlays the proxy's command-line defaults.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotError, checkTelemetryConfig } from '../../src/snapshot/index.js';
import { checkSnapshot } from '../../src/proxy/snapshot.js';
import { DEFAULT_TELEMETRY, effectiveTelemetry } from '../../src/telemetry/config.js';

const base = { version: '1', node: { id: 'sidecar~x', kind: 'sidecar' }, listeners: [], routes: [], clusters: [] };

function rejects(telemetry: unknown, path: string, reason: RegExp): void {
  assert.throws(
    () => checkSnapshot({ ...base, telemetry }),
    (err: unknown) => err instanceof SnapshotError && err.path === path && reason.test(err.reason),
    `${JSON.stringify(telemetry)} → ${path}`,
  );
}

describe('snapshot telemetry section', () => {
  test('a full section is kept as given', () => {
    const telemetry = { accessLog: { enabled: true, format: 'json' }, tracing: { sampling: 12.5, zipkinUrl: 'http://zipkin:9411/api/v2/spans', otlpUrl: 'https://otel:4318/v1/traces', collectorUrl: 'http://127.0.0.1:15099/api/v2/spans' } };
    assert.deepEqual(checkSnapshot({ ...base, telemetry }).snapshot.telemetry, telemetry);
  });

  test('absent stays absent', () => {
    assert.equal(checkSnapshot(base).snapshot.telemetry, undefined);
  });

  test('bad values are refused with the field path', () => {
    rejects('on', 'telemetry', /must be an object/);
    rejects({ accessLogs: {} }, 'telemetry.accessLogs', /unknown field/);
    rejects({ accessLog: { format: 'xml' } }, 'telemetry.accessLog.format', /one of text, json/);
    rejects({ accessLog: { enabled: 'yes' } }, 'telemetry.accessLog.enabled', /true or false/);
    rejects({ tracing: { sampling: 101 } }, 'telemetry.tracing.sampling', /percentage 0\.\.100/);
    rejects({ tracing: { sampling: -1 } }, 'telemetry.tracing.sampling', /percentage/);
    rejects({ tracing: { zipkinUrl: 'zipkin:9411' } }, 'telemetry.tracing.zipkinUrl', /http or https|not a URL/);
    rejects({ tracing: { otlpUrl: 'ftp://x/v1/traces' } }, 'telemetry.tracing.otlpUrl', /http or https/);
    rejects({ tracing: { rate: 1 } }, 'telemetry.tracing.rate', /unknown field/);
    rejects({ accessLog: { text: '%START_TIME% %BOGUS%\n' } }, 'telemetry.accessLog.text', /^at character 14: unknown command operator %BOGUS%$/);
    rejects({ accessLog: { text: '' } }, 'telemetry.accessLog.text', /must be a format string/);
    rejects({ accessLog: { labels: { a: { b: '%REQ(%' } } } }, 'telemetry.accessLog.labels.a.b', /at character 1: %REQ\( is not closed/);
    rejects({ accessLog: { labels: ['%DURATION%'] } }, 'telemetry.accessLog.labels', /must be an object/);
    rejects({ accessLog: { text: '%DURATION%\n', labels: {} } }, 'telemetry.accessLog', /exclusive/);
  });

  test('a custom format is kept as given and overrides the defaults', () => {
    assert.deepEqual(checkTelemetryConfig({ accessLog: { text: '%DOWNSTREAM_PEER_URI_SAN%\n' } }), { accessLog: { text: '%DOWNSTREAM_PEER_URI_SAN%\n' } });
    const labels = { peer: '%DOWNSTREAM_PEER_URI_SAN%', n: 1 };
    assert.deepEqual(effectiveTelemetry(DEFAULT_TELEMETRY, { accessLog: { labels } }).accessLog, { enabled: true, format: 'text', custom: { labels } });
  });
});

describe('effective telemetry', () => {
  test("Istio's defaults: no access log, 1% sampling, no endpoint", () => {
    assert.deepEqual(effectiveTelemetry(DEFAULT_TELEMETRY, undefined), {
      accessLog: { enabled: false, format: 'text', custom: null },
      tracing: { sampling: 1, zipkinUrl: null, otlpUrl: null, collectorUrl: null },
    });
  });

  test('the snapshot overrides field by field; an access log section turns logging on', () => {
    const flags = { accessLog: { enabled: false, format: 'json' as const, custom: null }, tracing: { sampling: 5, zipkinUrl: 'http://z/api/v2/spans', otlpUrl: null, collectorUrl: null } };
    const e = effectiveTelemetry(flags, { accessLog: {}, tracing: { sampling: 50 } });
    assert.deepEqual(e.accessLog, { enabled: true, format: 'json', custom: null });
    assert.equal(e.tracing.sampling, 50);
    assert.equal(e.tracing.zipkinUrl, 'http://z/api/v2/spans');
    assert.equal(effectiveTelemetry(flags, { accessLog: { enabled: false } }).accessLog.enabled, false);
  });
});
