/**
 * The mesh config read from the `istio` ConfigMap's `mesh` key: typed by the MeshConfig schema
 * (proto JSON names, snake_case accepted), unknown and not-acted-on fields warned about with
 * their place, malformed values refused with key and line — in the text itself and, through
 * apply and validate, at their line in the user's file — and reported by `skiff analyze`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { analyze } from '../../src/analyze/index.js';
import { loadText } from '../../src/config/load.js';
import { parseMeshConfig } from '../../src/config/mesh-config.js';
import { ConfigStore } from '../../src/config/store.js';
import { applyTexts } from '../../src/config/store-ops.js';

/** The ConfigMap as Istio's docs write it: `mesh` as a literal block. */
function configMap(mesh: string, meta = 'name: istio\n  namespace: istio-system'): string {
  const body = mesh
    .split('\n')
    .map((l) => (l === '' ? l : `    ${l}`))
    .join('\n');
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  ${meta}\ndata:\n  mesh: |-\n${body}\n`;
}

describe('parseMeshConfig', () => {
  test("Istio's fields are typed; those Skiff acts on give no warning", () => {
    const parsed = parseMeshConfig(
      [
        'accessLogFile: /dev/stdout',
        'accessLogEncoding: JSON',
        `accessLogFormat: '{"status": "%RESPONSE_CODE%", "peer": "%DOWNSTREAM_PEER_URI_SAN%"}'`,
        'enableTracing: true',
        'defaultConfig:',
        '  tracing:',
        '    sampling: 25.5',
        'outboundTrafficPolicy:',
        '  mode: REGISTRY_ONLY',
        'trustDomain: example.org',
        'rootNamespace: mesh-root',
        'defaultHttpRetryPolicy:',
        '  attempts: 3',
        '  retryOn: 5xx,connect-failure',
        'extensionProviders:',
        '- name: json-log',
        '  envoyFileAccessLog:',
        '    path: /dev/stdout',
        '    logFormat:',
        '      labels: {status: "%RESPONSE_CODE%"}',
        'defaultProviders:',
        '  accessLogging: [json-log]',
        '  metrics: [prometheus]',
      ].join('\n'),
    );
    assert.deepEqual(parsed.issues, []);
    assert.equal(parsed.config?.outboundTrafficPolicy?.mode, 'REGISTRY_ONLY');
    assert.equal(parsed.config?.defaultConfig?.tracing?.sampling, 25.5);
    assert.equal(parsed.config?.defaultHttpRetryPolicy?.attempts, 3);
    assert.equal(parsed.config?.extensionProviders?.[0]?.envoyFileAccessLog?.path, '/dev/stdout');
  });

  test('providers are kept typed: the ext_authz ones are acted on, the tracing ones warned about until they have an effect', () => {
    const parsed = parseMeshConfig(
      [
        'extensionProviders:',
        '- name: ext-authz',
        '  envoyExtAuthzHttp:',
        '    service: ext-authz.foo.svc.cluster.local',
        '    port: 8000',
        '    includeRequestHeadersInCheck: [x-ext-authz]',
        '- name: otel',
        '  opentelemetry:',
        '    service: opentelemetry-collector.observability.svc.cluster.local',
        '    port: 4317',
        '- name: zipkin',
        '  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}',
        '- name: grpc-authz',
        '  envoyExtAuthzGrpc: {service: authz.foo.svc.cluster.local, port: 9000, timeout: 0.5s, includeRequestBodyInCheck: {maxRequestBytes: 1024}}',
        'defaultProviders:',
        '  tracing: [otel]',
        'pathNormalization:',
        '  normalization: MERGE_SLASHES',
      ].join('\n'),
    );
    const providers = parsed.config?.extensionProviders ?? [];
    assert.equal(providers[0]?.envoyExtAuthzHttp?.port, 8000);
    assert.deepEqual(providers[0]?.envoyExtAuthzHttp?.includeRequestHeadersInCheck, ['x-ext-authz']);
    assert.equal(providers[1]?.opentelemetry?.service, 'opentelemetry-collector.observability.svc.cluster.local');
    assert.equal(providers[3]?.envoyExtAuthzGrpc?.timeout, '0.5s');
    assert.equal(parsed.config?.pathNormalization?.normalization, 'MERGE_SLASHES');
    const warnings = parsed.issues.map((i) => `${i.line}:${i.path.join('.')}: ${i.message}`);
    assert.ok(parsed.issues.every((i) => i.severity === 'warning'));
    // Both ext_authz providers are acted on (CUSTOM policies call them).
    assert.ok(!warnings.some((w) => /extensionProviders\.0\./.test(w)), warnings.join('\n'));
    assert.deepEqual(
      warnings.filter((w) => /extensionProviders\.3\./.test(w)),
      ["14:extensionProviders.3.envoyExtAuthzGrpc.includeRequestBodyInCheck: is not acted on by Skiff: it is kept in the mesh config and has no effect: the check is sent on the request's head, without its body"],
      'only the body, which no check carries',
    );
    assert.ok(warnings.some((w) => /^16:defaultProviders\.tracing\.0: provider "otel" \(opentelemetry\)/.test(w)), warnings.join('\n'));
    // Path normalisation is acted on: every HTTP listener normalises paths as it says.
    assert.ok(!warnings.some((w) => /pathNormalization/.test(w)), warnings.join('\n'));
  });

  test('an unknown field is a warning at its key, with a suggestion; a known field Skiff ignores is a warning too', () => {
    const parsed = parseMeshConfig('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\nenablePrometheusMerge: true\noutboundTraficPolicy:\n  mode: ALLOW_ANY\n');
    assert.equal(parsed.config?.outboundTrafficPolicy?.mode, 'REGISTRY_ONLY', 'the rest of the mesh config applies');
    const issues = parsed.issues.map((i) => ({ severity: i.severity, path: i.path.join('.'), line: i.line, col: i.col, message: i.message }));
    assert.deepEqual(
      issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
      [
        { severity: 'warning', path: 'enablePrometheusMerge', line: 3, col: 1, message: 'is not acted on by Skiff: it is kept in the mesh config and has no effect' },
        { severity: 'warning', path: 'outboundTraficPolicy', line: 4, col: 1, message: 'unknown field "outboundTraficPolicy"; did you mean "outboundTrafficPolicy"?' },
      ],
    );
  });

  test("the proto's snake_case names are read as their JSON names", () => {
    const parsed = parseMeshConfig('outbound_traffic_policy:\n  mode: REGISTRY_ONLY\ndefault_config:\n  tracing:\n    sampling: 7\n');
    assert.deepEqual(parsed.issues, []);
    assert.equal(parsed.config?.outboundTrafficPolicy?.mode, 'REGISTRY_ONLY');
    assert.equal(parsed.config?.defaultConfig?.tracing?.sampling, 7);
    const bad = parseMeshConfig('outbound_traffic_policy:\n  mode: SOMETIMES\n');
    assert.equal(bad.config, undefined);
    assert.deepEqual(bad.issues.map((i) => [i.path.join('.'), i.line]), [['outbound_traffic_policy.mode', 2]], 'named as written');
  });

  test('an integer written as a string is read as a number, as protobuf\'s JSON mapping reads it (Istio\'s pages quote ports)', () => {
    const parsed = parseMeshConfig('extensionProviders:\n- name: "sample-ext-authz-grpc"\n  envoyExtAuthzGrpc:\n    service: "ext-authz.foo.svc.cluster.local"\n    port: "9000"\n');
    assert.deepEqual(parsed.issues, []);
    assert.equal(parsed.config?.extensionProviders?.[0]?.envoyExtAuthzGrpc?.port, 9000);
    const bad = parseMeshConfig('extensionProviders:\n- name: g\n  envoyExtAuthzGrpc: {service: a.b, port: "90x"}\n');
    assert.equal(bad.config, undefined);
    assert.match(bad.issues.map((i) => i.message).join('\n'), /must be an integer/);
  });

  test('malformed values are errors naming the key and line, and give no config', () => {
    const cases: Array<[string, string, number, RegExp]> = [
      ['accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: SOMETIMES\n', 'outboundTrafficPolicy.mode', 3, /must be one of "REGISTRY_ONLY", "ALLOW_ANY" \(got "SOMETIMES"\)/],
      ['defaultConfig:\n  tracing:\n    sampling: lots\n', 'defaultConfig.tracing.sampling', 3, /must be a number/],
      ['enableTracing: 7\n', 'enableTracing', 1, /must be true or false/],
      ['defaultHttpRetryPolicy:\n  attempts: 2\n  retryOn: 5xx,sometimes\n', 'defaultHttpRetryPolicy.retryOn', 3, /"sometimes" is not a valid retryOn policy/],
      ['extensionProviders:\n- name: a\n  envoyExtAuthzHttp: {service: a.b.svc.cluster.local}\n', 'extensionProviders.0.envoyExtAuthzHttp.port', 3, /required field "port" is missing/],
      ['outboundTrafficPolicy:\n  mode: [REGISTRY_ONLY\n', '', 2, /never closed|flow/i],
      ['- REGISTRY_ONLY\n', '', 1, /must be a mapping of MeshConfig fields/],
      // Access-log formats the proxies could not print: refused when applied, not at the first request.
      ['accessLogFile: /dev/stdout\naccessLogFormat: "[%START_TIME%] %PEER_SAN%"\n', 'accessLogFormat', 2, /^at character 16: unknown command operator %PEER_SAN%$/],
      ['accessLogEncoding: JSON\naccessLogFormat: "[%START_TIME%]"\n', 'accessLogFormat', 2, /with accessLogEncoding JSON, must be a JSON object of keys to format strings/],
      ['accessLogEncoding: JSON\naccessLogFormat: \'{"peer": "%PEER%"}\'\n', 'accessLogFormat', 2, /^key "peer": at character 1: unknown command operator %PEER%$/],
      ['extensionProviders:\n- name: f\n  envoyFileAccessLog:\n    logFormat:\n      text: "%REQ(:PATH"\n', 'extensionProviders.0.envoyFileAccessLog.logFormat.text', 5, /^at character 1: %REQ\( is not closed with "\)"$/],
      ['extensionProviders:\n- name: f\n  envoyFileAccessLog:\n    logFormat:\n      labels:\n        a: {b: "%NOPE%"}\n', 'extensionProviders.0.envoyFileAccessLog.logFormat.labels', 5, /^key "a\.b": at character 1: unknown command operator %NOPE%$/],
    ];
    for (const [text, path, line, message] of cases) {
      const parsed = parseMeshConfig(text);
      assert.equal(parsed.config, undefined, text);
      const errors = parsed.issues.filter((i) => i.severity === 'error');
      assert.equal(errors.length, 1, `${text}: ${JSON.stringify(parsed.issues)}`);
      assert.equal(errors[0]?.path.join('.'), path, text);
      assert.equal(errors[0]?.line, line, text);
      assert.match(errors[0]?.message ?? '', message, text);
    }
  });

  test('an empty mesh value is the default mesh config', () => {
    assert.deepEqual(parseMeshConfig(''), { config: {}, issues: [] });
    assert.deepEqual(parseMeshConfig('# nothing set\n'), { config: {}, issues: [] });
  });
});

describe('the mesh ConfigMap in files', () => {
  test('apply and validate point at the line and column in the file, under data.mesh', () => {
    const text = `# mesh-wide settings\n${configMap('accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: SOMETIMES')}`;
    const loaded = loadText('istio-mesh.yaml', text);
    const errors = loaded.findings.filter((f) => f.severity === 'error');
    assert.deepEqual(
      errors.map((f) => ({ file: f.file, line: f.line, col: f.col, path: f.path.join('.'), resource: f.resource, source: f.sourceLine?.trim() })),
      [{ file: 'istio-mesh.yaml', line: 11, col: 13, path: 'data.mesh.outboundTrafficPolicy.mode', resource: 'ConfigMap/istio-system/istio', source: 'mode: SOMETIMES' }],
    );
    assert.deepEqual(loaded.resources, [], 'not applied');
    assert.deepEqual(loaded.documents.map((d) => d.status), ['invalid']);
  });

  test('-n istio-system makes an unnamespaced ConfigMap the mesh config; in another namespace it is an ordinary ConfigMap', () => {
    const text = configMap('outboundTrafficPolicy: {mode: SOMETIMES}', 'name: istio');
    assert.equal(loadText('a.yaml', text, { defaultNamespace: 'istio-system' }).findings.filter((f) => f.severity === 'error').length, 1);
    assert.deepEqual(loadText('a.yaml', text).findings, [], 'ConfigMap default/istio is not the mesh config');
  });

  test('a mesh value that is not a literal block is reported at the value, with its line in the mesh text', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: "accessLogFile: /dev/stdout\\nenableTracing: maybe\\n"\n';
    const [error] = loadText('a.yaml', text).findings;
    assert.equal(error?.line, 5);
    assert.equal(error?.path.join('.'), 'data.mesh.enableTracing');
    assert.match(error?.message ?? '', /must be true or false \(got "maybe"\) \(line 2 of the mesh config\)/);
  });

  test('apply refuses a malformed mesh config whole and takes a valid one, with its warnings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-mesh-apply-'));
    const store = await ConfigStore.open(dir);
    try {
      const refused = await applyTexts(store, [{ name: 'mesh.yaml', text: configMap('outboundTrafficPolicy:\n  mode: SOMETIMES') }]);
      assert.equal(refused.ok, false);
      assert.equal(store.resourceVersion, 0);

      const applied = await applyTexts(store, [{ name: 'mesh.yaml', text: configMap('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\nthreads: 4') }]);
      assert.ok(applied.ok);
      assert.deepEqual(applied.applied.map((a) => a.ref), ['configmap/istio']);
      assert.deepEqual(applied.warnings.map((w) => [w.line, w.path.join('.'), w.message]), [[10, 'data.mesh.threads', 'unknown field "threads" (known fields: proxyListenPort, proxyInboundListenPort, proxyHttpPort, connectTimeout, protocolDetectionTimeout, tcpKeepalive, ingressClass, ingressService, ingressControllerMode, ingressSelector, enableTracing, accessLogFile, ...)']]);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('skiff analyze reports the warnings and errors of the mesh config, whichever namespace it analyzes', () => {
    const warned = analyze(loadText('mesh.yaml', configMap('outboundTraficPolicy:\n  mode: REGISTRY_ONLY')), { namespace: 'default' });
    assert.deepEqual(warned.map((m) => [m.code, m.level, m.origin?.line]), [['IST0133', 'Warning', 8]]);
    assert.match(warned[0]?.message ?? '', /data\.mesh\.outboundTraficPolicy: unknown field "outboundTraficPolicy"; did you mean "outboundTrafficPolicy"\?/);
    const failed = analyze(loadText('mesh.yaml', configMap('enableTracing: maybe')), { namespace: 'bookinfo' });
    assert.deepEqual(failed.map((m) => [m.code, m.level, m.origin?.line]), [['IST0106', 'Error', 8]]);
  });
});
