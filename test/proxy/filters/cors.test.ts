/**
 * The CORS filter as Envoy's CORS filter behaves: preflight answers and response headers (read
 * through a compiled route, as the proxy compiles it), and the verdict and response step the
 * request path runs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CorsPolicy } from '../../../src/snapshot/index.js';
import { compileCors } from '../../../src/proxy/filters/cors/cors.js';
import { CONTINUE } from '../../../src/proxy/filters/verdict.js';
import { Headers, request, type RequestInit } from '../route/helpers.js';
import { corsHeadersOf, filterRequest, only, preflightOf } from './helpers.js';

describe('CORS', () => {
  const policy: CorsPolicy = {
    allowOrigins: [{ exact: 'https://example.com' }, { regex: 'https://.*\\.trusted\\.io' }],
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['x-a', 'x-b'],
    exposeHeaders: ['x-c'],
    maxAgeSeconds: 86400,
    allowCredentials: true,
  };
  const preflight = (origin: string, extra: Record<string, string> = {}): RequestInit => ({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', ...extra },
  });

  test('preflight from an allowed origin is answered locally', () => {
    const req = request(preflight('https://example.com'));
    assert.deepEqual(preflightOf(only({ cors: policy }), req), {
      status: 200,
      headers: [
        ['access-control-allow-origin', 'https://example.com'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-allow-methods', 'GET,POST'],
        ['access-control-allow-headers', 'x-a,x-b'],
        ['access-control-max-age', '86400'],
      ],
    });
  });

  test('regex origin', () => {
    const r = preflightOf(only({ cors: policy }), request(preflight('https://app.trusted.io')));
    assert.equal(r?.headers[0]?.[1], 'https://app.trusted.io');
  });

  test('preflight from another origin is forwarded by default (unmatchedPreflights FORWARD)', () => {
    assert.equal(preflightOf(only({ cors: policy }), request(preflight('https://evil.com'))), null);
  });

  test('unmatchedPreflights IGNORE answers without allow-origin', () => {
    const r = preflightOf(only({ cors: { ...policy, unmatchedPreflights: 'IGNORE' } }), request(preflight('https://evil.com')));
    assert.equal(r?.status, 200);
    assert.ok(r);
    assert.equal(r.headers.find(([n]) => n === 'access-control-allow-origin'), undefined);
  });

  test('OPTIONS without access-control-request-method is not a preflight', () => {
    assert.equal(preflightOf(only({ cors: policy }), request({ method: 'OPTIONS', headers: { origin: 'https://example.com' } })), null);
  });

  test('actual request from an allowed origin: allow-origin, credentials, expose headers', () => {
    const sel = only({ cors: policy });
    const req = request({ method: 'POST', headers: { origin: 'https://example.com' } });
    assert.equal(preflightOf(sel, req), null);
    assert.deepEqual(corsHeadersOf(sel, req), [
      ['access-control-allow-origin', 'https://example.com'],
      ['access-control-allow-credentials', 'true'],
      ['access-control-expose-headers', 'x-c'],
    ]);
  });

  test('actual request from another origin or without Origin: no CORS headers', () => {
    const sel = only({ cors: policy });
    assert.equal(corsHeadersOf(sel, request({ headers: { origin: 'https://evil.com' } })), null);
    assert.equal(corsHeadersOf(sel, request()), null);
  });

  test('allowOrigins exact "*" allows any origin and echoes it', () => {
    const sel = only({ cors: { allowOrigins: [{ exact: '*' }] } });
    assert.deepEqual(corsHeadersOf(sel, request({ headers: { origin: 'https://any.org' } })), [['access-control-allow-origin', 'https://any.org']]);
  });

  test('allowMethods / allowHeaders "*" echo the preflight request', () => {
    const sel = only({ cors: { allowOrigins: [{ prefix: 'https://' }], allowMethods: ['*'], allowHeaders: ['*'] } });
    const r = preflightOf(sel, request(preflight('https://a.org', { 'access-control-request-headers': 'x-custom' })));
    assert.deepEqual(r?.headers, [
      ['access-control-allow-origin', 'https://a.org'],
      ['access-control-allow-methods', 'POST'],
      ['access-control-allow-headers', 'x-custom'],
    ]);
  });

  test('no policy → nothing', () => {
    const sel = only({});
    assert.equal(preflightOf(sel, request(preflight('https://example.com'))), null);
    assert.equal(corsHeadersOf(sel, request({ headers: { origin: 'https://example.com' } })), null);
  });
});

describe('CORS filter verdicts', () => {
  const filter = compileCors({ allowOrigins: [{ exact: 'https://example.com' }], allowMethods: ['GET'], maxAgeSeconds: 10 }, 'cors');
  assert.ok(filter);

  test('a preflight from an allowed origin is answered locally (cors_response, no flag)', () => {
    const v = filter.decide(filterRequest({ method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'GET' } }));
    assert.deepEqual(v, {
      kind: 'reply',
      status: 200,
      body: '',
      headers: [
        ['access-control-allow-origin', 'https://example.com'],
        ['access-control-allow-methods', 'GET'],
        ['access-control-max-age', '10'],
      ],
      flags: 0,
      details: 'cors_response',
    });
  });

  test('any other request goes on: the shared CONTINUE', () => {
    assert.equal(filter.decide(filterRequest({ method: 'GET', headers: { origin: 'https://example.com' } })), CONTINUE);
    assert.equal(filter.decide(filterRequest({ method: 'OPTIONS', headers: { origin: 'https://evil.com', 'access-control-request-method': 'GET' } })), CONTINUE);
  });

  test('the response step sets allow-origin for an allowed origin, replacing the upstream\'s', () => {
    const req = filterRequest({ headers: { origin: 'https://example.com' } });
    const response = new Headers({ 'access-control-allow-origin': '*', 'content-type': 'text/plain' });
    filter.respond(req, response);
    assert.deepEqual(response.toObject(), { 'access-control-allow-origin': ['https://example.com'], 'content-type': ['text/plain'] });
    const other = new Headers({ 'content-type': 'text/plain' });
    filter.respond(filterRequest({ headers: { origin: 'https://evil.com' } }), other);
    assert.deepEqual(other.toObject(), { 'content-type': ['text/plain'] });
  });

  test('bad config names the field', () => {
    assert.throws(() => compileCors({ allowOrigins: [{ regex: '(' }] }, 'routes[0].cors'), /routes\[0\]\.cors\.allowOrigins\[0\]/);
    assert.throws(() => compileCors({ maxAgeSeconds: -1 }, 'routes[0].cors'), /routes\[0\]\.cors\.maxAgeSeconds/);
  });
});
