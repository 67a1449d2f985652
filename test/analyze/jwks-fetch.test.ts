/**
 * The JWKS analyzer (SKF0010): a RequestAuthentication's jwksUri that the running proxies report
 * they cannot fetch, said at the line of the field, with the proxies, the error and what it does
 * to tokens; nothing without such a report.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze } from '../../src/analyze/index.js';
import type { ProxyJwksReport } from '../../src/analyze/index.js';
import { loadText } from '../../src/config/load.js';

const RA = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt-example
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwksUri: "https://keys.example/jwks.json"
  - issuer: "other@example"
    jwksUri: "https://other.example/jwks.json"
`;

const report = (proxy: string, uri: string, state: ProxyJwksReport['state'], error: string, extra: Partial<ProxyJwksReport> = {}): ProxyJwksReport => ({ proxy, uri, state, error, failures: 3, keys: 0, ...extra });

function run(jwks: ProxyJwksReport[]): ReturnType<typeof analyze> {
  return analyze(loadText('ra.yaml', RA, { defaultNamespace: 'foo' }), { namespace: 'foo', live: { jwks } }).filter((m) => m.code === 'SKF0010');
}

test('a jwksUri the proxies cannot fetch is reported at its line, naming the proxies and the error', () => {
  const [m, ...rest] = run([
    report('httpbin-1.foo', 'https://keys.example/jwks.json', 'failed', 'fetch failed: getaddrinfo ENOTFOUND keys.example'),
    report('httpbin-2.foo', 'https://keys.example/jwks.json', 'failed', 'fetch failed: getaddrinfo ENOTFOUND keys.example'),
    report('httpbin-1.foo', 'https://other.example/jwks.json', 'ready', '', { failures: 0, keys: 1 }),
  ]);
  assert.deepEqual(rest, []);
  assert.equal(m.level, 'Warning');
  assert.equal(m.name, 'UnfetchableJwks');
  assert.deepEqual(m.resource, { kind: 'RequestAuthentication', name: 'jwt-example', namespace: 'foo' });
  assert.deepEqual({ file: m.origin?.file, line: m.origin?.line }, { file: 'ra.yaml', line: 12 });
  assert.equal(
    m.message,
    'The JWKS at "https://keys.example/jwks.json" (jwtRules[0]) cannot be fetched by 2 proxies (httpbin-1.foo, httpbin-2.foo): fetch failed: getaddrinfo ENOTFOUND keys.example (3 fetches failed in a row); tokens of issuer "testing@secure.istio.io" are refused with 401 "Jwks remote fetch is failed"',
  );
});

test('a refresh that fails while fetched keys stay in use is reported as such; fetching and fetched sets are not', () => {
  const [m] = run([report('httpbin-1.foo', 'https://other.example/jwks.json', 'ready', 'HTTP 503', { failures: 1, keys: 2 })]);
  assert.equal(m.origin?.line, 14);
  assert.match(m.message, /cannot be fetched by 1 proxy \(httpbin-1\.foo\): HTTP 503 \(1 fetch failed in a row\); the 2 keys fetched before stay in use$/);
  assert.deepEqual(run([report('httpbin-1.foo', 'https://keys.example/jwks.json', 'fetching', ''), report('httpbin-1.foo', 'https://other.example/jwks.json', 'ready', '', { keys: 1 })]), []);
  assert.deepEqual(run([]), [], 'no live report (no skiffd), nothing said');
});
