/**
 * The mesh options translation reads, from the `istio` ConfigMap's mesh config over skiffd's own
 * defaults (`skiff up`'s flags): a field the mesh config sets wins, one it leaves unset keeps the
 * flag's value, as Istio's ConfigMap is the mesh config.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMeshConfig } from '../../src/config/mesh-config.js';
import { meshOptionsFrom } from '../../src/controlplane/mesh-options.js';
import type { MeshOptions } from '../../src/controlplane/translate/types.js';

function mesh(text: string): ReturnType<typeof meshOptionsFrom> {
  const parsed = parseMeshConfig(text);
  assert.ok(parsed.config, JSON.stringify(parsed.issues));
  return meshOptionsFrom(parsed.config, flags);
}

/** `skiff up --trace-sampling 50 --access-log --zipkin-url …` and skiffd's collector. */
const flags: Partial<MeshOptions> = {
  telemetry: { sampling: 50, accessLog: { enabled: true }, zipkinUrl: 'http://127.0.0.1:9411/api/v2/spans', collectorUrl: 'http://127.0.0.1:15080/api/v2/spans' },
};

describe('mesh options from the mesh config', () => {
  test('an empty mesh config leaves the flags as they are', () => {
    assert.deepEqual(mesh(''), flags);
  });

  test('fields the mesh config sets win over the flags; the rest keep them', () => {
    const opts = mesh('defaultConfig:\n  tracing:\n    sampling: 10\naccessLogEncoding: JSON\n');
    assert.deepEqual(opts.telemetry, {
      sampling: 10,
      accessLog: { enabled: true, format: 'json' },
      zipkinUrl: 'http://127.0.0.1:9411/api/v2/spans',
      collectorUrl: 'http://127.0.0.1:15080/api/v2/spans',
    });
    assert.equal(flags.telemetry?.accessLog?.format, undefined, 'the defaults are not changed');
  });

  test('accessLogFile: empty turns the access log off, a path turns it on', () => {
    assert.equal(mesh('accessLogFile: ""\n').telemetry?.accessLog?.enabled, false);
    assert.deepEqual(meshOptionsFrom(parseMeshConfig('accessLogFile: /dev/stdout\n').config!, {}).telemetry, { accessLog: { enabled: true } });
  });

  test("a default access-logging provider writing a file turns the access log on (Istio's envoy, or a JSON one)", () => {
    assert.deepEqual(meshOptionsFrom(parseMeshConfig('defaultProviders:\n  accessLogging: [envoy]\n').config!, {}).telemetry, { accessLog: { enabled: true } });
    const json = 'extensionProviders:\n- name: json\n  envoyFileAccessLog:\n    logFormat:\n      labels: {code: "%RESPONSE_CODE%"}\ndefaultProviders:\n  accessLogging: [json]\n';
    assert.deepEqual(meshOptionsFrom(parseMeshConfig(json).config!, {}).telemetry, { accessLog: { enabled: true, format: 'json', labels: { code: '%RESPONSE_CODE%' } } });
  });

  test("accessLogFormat is the mesh log's format: a format string (a newline added), or JSON labels with accessLogEncoding JSON", () => {
    const text = 'accessLogFile: /dev/stdout\naccessLogFormat: "[%START_TIME%] %DOWNSTREAM_PEER_URI_SAN%"\n';
    assert.deepEqual(meshOptionsFrom(parseMeshConfig(text).config!, {}).telemetry, { accessLog: { enabled: true, text: '[%START_TIME%] %DOWNSTREAM_PEER_URI_SAN%\n', format: 'text' } });
    const json = 'accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: \'{"peer": "%DOWNSTREAM_PEER_URI_SAN%", "code": "%RESPONSE_CODE%"}\'\n';
    assert.deepEqual(meshOptionsFrom(parseMeshConfig(json).config!, {}).telemetry, {
      accessLog: { enabled: true, format: 'json', labels: { peer: '%DOWNSTREAM_PEER_URI_SAN%', code: '%RESPONSE_CODE%' } },
    });
    // The built-in envoy provider is the mesh log: it takes accessLogFormat too.
    const envoy = 'defaultProviders:\n  accessLogging: [envoy]\naccessLogFormat: "%RESPONSE_CODE%\\n"\n';
    assert.deepEqual(meshOptionsFrom(parseMeshConfig(envoy).config!, {}).telemetry, { accessLog: { enabled: true, format: 'text', text: '%RESPONSE_CODE%\n' } });
  });

  test("a default provider's logFormat.text is its format; accessLogFormat does not replace it", () => {
    const cfg = 'accessLogFormat: "%DURATION%"\nextensionProviders:\n- name: peers\n  envoyFileAccessLog:\n    path: /dev/stdout\n    logFormat:\n      text: "%DOWNSTREAM_PEER_URI_SAN%"\ndefaultProviders:\n  accessLogging: [peers]\n';
    const parsed = parseMeshConfig(cfg);
    assert.deepEqual(parsed.issues, []);
    assert.deepEqual(meshOptionsFrom(parsed.config!, {}).telemetry, { accessLog: { enabled: true, format: 'text', text: '%DOWNSTREAM_PEER_URI_SAN%\n' } });
  });

  test('enableTracing: false starts no new traces, whatever the sampling', () => {
    assert.equal(mesh('enableTracing: false\ndefaultConfig:\n  tracing:\n    sampling: 100\n').telemetry?.sampling, 0);
    assert.equal(mesh('enableTracing: true\n').telemetry?.sampling, 50);
  });

  test('traffic policy, root namespace, trust domain, default retries and providers', () => {
    const opts = mesh(
      [
        'outboundTrafficPolicy: {mode: REGISTRY_ONLY}',
        'rootNamespace: mesh-root',
        'trustDomain: example.org',
        'defaultHttpRetryPolicy: {attempts: 0}',
        'extensionProviders:',
        '- name: authz',
        '  envoyExtAuthzGrpc: {service: authz.foo.svc.cluster.local, port: 9000}',
        'defaultProviders: {tracing: [authz]}',
        'pathNormalization: {normalization: NONE}',
      ].join('\n'),
    );
    assert.equal(opts.outboundTrafficPolicy, 'REGISTRY_ONLY');
    assert.equal(opts.rootNamespace, 'mesh-root');
    assert.equal(opts.trustDomain, 'example.org');
    assert.deepEqual(opts.defaultHttpRetry, { attempts: 0 });
    assert.deepEqual(opts.extensionProviders, [{ name: 'authz', envoyExtAuthzGrpc: { service: 'authz.foo.svc.cluster.local', port: 9000 } }]);
    assert.deepEqual(opts.defaultProviders, { tracing: ['authz'] });
    assert.equal(opts.pathNormalization, 'NONE');
  });

  test('empty strings for the root namespace and trust domain mean unset, as in Istio', () => {
    const opts = meshOptionsFrom(parseMeshConfig('rootNamespace: ""\ntrustDomain: ""\n').config!, { rootNamespace: 'istio-system' });
    assert.equal(opts.rootNamespace, 'istio-system');
    assert.equal(opts.trustDomain, undefined);
  });
});
