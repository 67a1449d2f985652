/**
 * A route's own answers: the redirect (its location built from the request) and the direct
 * response (one answer object built at compile time), as the request path sends them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDirectResponse } from '../../../src/proxy/filters/redirect/direct-response.js';
import { compileRedirect } from '../../../src/proxy/filters/redirect/redirect.js';
import { filterRequest } from './helpers.js';

describe('redirect and direct response verdicts', () => {
  test('a redirect answers its code with the location and no body', () => {
    const r = compileRedirect({ type: 'redirect', uri: '/v1/bookinfo', authority: 'bookinfo.example.com', redirectCode: 308 }, 'action');
    assert.deepEqual(r.decide(filterRequest({ authority: 'old.example.com', path: '/productpage?u=1' })), {
      kind: 'reply',
      status: 308,
      body: '',
      headers: [['location', 'http://bookinfo.example.com/v1/bookinfo?u=1']],
      flags: 0,
      details: 'direct_response',
    });
  });

  test('a direct response answers the same object every time', () => {
    const d = compileDirectResponse({ type: 'direct', status: 503, body: 'maintenance' }, 'action');
    const first = d.decide();
    assert.deepEqual(first, { kind: 'reply', status: 503, body: 'maintenance', headers: null, flags: 0, details: 'direct_response' });
    assert.equal(d.decide(), first);
  });

  test('bad config names the field', () => {
    assert.throws(() => compileRedirect({ type: 'redirect', redirectCode: 200 }, 'routes[0].action'), /routes\[0\]\.action\.redirectCode/);
    assert.throws(() => compileDirectResponse({ type: 'direct', status: 42 }, 'routes[0].action'), /routes\[0\]\.action\.status/);
  });
});
