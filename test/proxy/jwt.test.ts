/**
 * RequestAuthentication on a real proxy with Istio's JWT samples (`jwks.json`, `demo.jwt`,
 * `groups-scope.jwt`, and tokens minted with `key.pem`): the key set inline and fetched from a
 * local server, Envoy's 401 texts, the 60 s clock skew, the token removed unless forwarded, claims
 * copied into headers, `presence: REQUIRED`, and authorization reading the verified principal and
 * claims (requestPrincipals, `request.auth.claims[groups]`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { cluster, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, Echo, TestProxy } from './helpers.js';
import type { AuthorizationConfig, JwtRuleConfig, ProxySnapshot } from '../../src/snapshot/index.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';
import { fetchStates } from '../../src/proxy/filters/jwt/key-sets.js';
import { Disposer } from '../helpers/disposer.js';

/** Waits for a key set's fetch to end as `done` says (a safety limit only). */
async function eventuallyState(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(done(), 'the fetch state never got there');
}

const ISSUER = 'testing@secure.istio.io';
const PRINCIPAL = `${ISSUER}/${ISSUER}`;

describe('JWT validation with Istio\'s samples', { skip: skipWithoutIstioSamples }, () => {
  let app: Backend;
  let jwksServer: http.Server;
  let jwksUrl: string;
  let jwksFetches = 0;
  /** What the key-set server answers: the set, an error status, or a body that is no key set. */
  let jwksAnswer: 'set' | 500 | 'not-a-set' = 'set';
  let proxy: TestProxy;
  let jwks: string;
  let demo: string;
  let groups: string;
  let key: KeyObject;
  let kid: string;
  let version = 0;

  const mint = async (claims: Record<string, unknown>, expiresInS: number): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInS)
      .sign(key);

  const apply = async (rule: Partial<JwtRuleConfig>, authorization?: AuthorizationConfig): Promise<void> => {
    const snap: ProxySnapshot = snapshot({
      version: String(++version),
      listeners: [httpListener('inbound_8000', 'inbound', { direction: 'inbound', policyPort: 8000 })],
      routes: [routeConfig('inbound', [{ name: 'all', domains: ['*'], routes: [forward('app', 'app')] }])],
      clusters: [cluster('app', [app.port])],
      requestAuthentication: { rules: [{ policy: 'foo/jwt-example', issuer: ISSUER, jwks, ...rule }] },
      ...(authorization === undefined ? {} : { authorization }),
    });
    await proxy.proxy.applySnapshot(snap);
  };
  const get = (path: string, token?: string, headers: Record<string, string> = {}): ReturnType<typeof request> =>
    request(proxy.port('inbound_8000'), path, { headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    const dir = requireIstioSamples();
    jwks = readFileSync(istioSample('jwt', 'jwks.json'), 'utf8');
    demo = readFileSync(istioSample('jwt', 'demo.jwt'), 'utf8').trim();
    groups = readFileSync(istioSample('jwt', 'groups-scope.jwt'), 'utf8').trim();
    key = createPrivateKey(readFileSync(istioSample('jwt', 'key.pem')));
    kid = (JSON.parse(jwks) as { keys: { kid: string }[] }).keys[0].kid;
    assert.ok(dir);
    app = disposer.add(await startBackend(echo('httpbin')), (r) => r.close());
    jwksServer = http.createServer((_req, res) => {
      jwksFetches++;
      if (jwksAnswer === 500) res.writeHead(500).end('down');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(jwksAnswer === 'set' ? jwks : '{"issuer": "not a key set"}');
    });
    disposer.add(jwksServer, (s) => s.close());
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/security/tools/jwt/samples/jwks.json`;
    proxy = disposer.add(await startProxy(null), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('no token passes; Bearer deadbeef is 401 with Envoy\'s text; demo.jwt passes and is not forwarded', async () => {
    await apply({});
    assert.equal((await get('/headers')).status, 200);
    const bad = await get('/headers', 'deadbeef');
    assert.equal(bad.status, 401);
    assert.equal(bad.body, 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    assert.match(String(bad.headers['www-authenticate']), /^Bearer realm="http:\/\/.*\/headers", error="invalid_token"$/);
    const ok = await get('/headers', demo);
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as Echo).headers.authorization, undefined, 'the token is removed by default');
    // The second time comes from the cache of verified tokens.
    assert.equal((await get('/headers', demo)).status, 200);
  });

  test('a tampered signature, an unknown issuer, an expired token and a token past the skew', async () => {
    await apply({});
    const [h, p, s] = demo.split('.');
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    assert.equal((await get('/headers', tampered)).body, 'Jwt verification fails');
    const other = `${h}.${Buffer.from(JSON.stringify({ iss: 'someone-else', sub: 'x' })).toString('base64url')}.${s}`;
    assert.equal((await get('/headers', other)).body, 'Jwt issuer is not configured');
    const expired = await mint({}, -120);
    const r = await get('/headers', expired);
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwt is expired');
    // Within the 60 s of clock skew a just-expired token still passes.
    assert.equal((await get('/headers', await mint({}, -30))).status, 200);
  });

  test('a key set fetched from jwksUri, fetched once; an unknown kid is answered as Envoy does', async () => {
    await apply({ jwks: undefined, jwksUri: jwksUrl });
    assert.equal((await get('/headers', demo)).status, 200);
    const fetches = jwksFetches;
    assert.equal((await get('/headers', await mint({ a: 1 }, 60))).status, 200);
    assert.equal(jwksFetches, fetches, 'the key set is kept');
    const otherKid = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'nope' }).setIssuer(ISSUER).setSubject('x').sign(key);
    assert.equal((await get('/headers', otherKid)).body, "Jwks doesn't have key to match kid or alg from Jwt");
  });

  test('an unreachable jwksUri: tokens get Jwks remote fetch is failed, requests without one pass', async () => {
    await apply({ jwks: undefined, jwksUri: 'http://127.0.0.1:9/unreachable/jwks.json', timeoutMs: 500 });
    const r = await get('/headers', demo);
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwks remote fetch is failed');
    assert.equal((await get('/headers')).status, 200);
  });

  test('the fetch state of each jwksUri: keys and when fetched, the error and the next try, only for URIs in force', async () => {
    jwksAnswer = 'set';
    await apply({ jwks: undefined, jwksUri: jwksUrl });
    assert.equal((await get('/headers', demo)).status, 200);
    const before = Date.now();
    let [state] = fetchStates(proxy.proxy);
    assert.equal(state.uri, jwksUrl);
    assert.equal(state.state, 'ready');
    assert.equal(state.keys, 1);
    assert.equal(state.error, '');
    assert.ok(state.fetchedAt > 0 && state.fetchedAt <= before, 'when the set arrived');
    assert.ok(state.nextFetchAt > before, 'the refresh is planned');

    // A refresh that fails (an unknown kid asks for one) keeps the set in use and says why.
    jwksAnswer = 500;
    const otherKid = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'rotated' }).setIssuer(ISSUER).setSubject('x').sign(key);
    assert.equal((await get('/headers', otherKid)).status, 401);
    await eventuallyState(() => fetchStates(proxy.proxy)[0]?.error === 'HTTP 500');
    [state] = fetchStates(proxy.proxy);
    assert.equal(state.state, 'ready');
    assert.equal(state.keys, 1);
    assert.equal(state.failures, 1);
    assert.equal((await get('/headers', demo)).status, 200, 'the keys fetched before still verify');

    // Another URI in force, where nothing listens: the first is no longer fetched nor reported.
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const nothing = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks.json`;
    closed.close();
    await once(closed, 'close');
    await apply({ jwks: undefined, jwksUri: nothing, timeoutMs: 500 });
    assert.equal((await get('/headers', demo)).body, 'Jwks remote fetch is failed');
    const states = fetchStates(proxy.proxy);
    assert.deepEqual(states.map((s) => s.uri), [nothing]);
    assert.equal(states[0].state, 'failed');
    assert.equal(states[0].keys, 0);
    assert.match(states[0].error, /ECONNREFUSED/);
    assert.ok(states[0].nextFetchAt > 0, 'a retry is planned');

    // A body that is no key set is a failed fetch, named.
    jwksAnswer = 'not-a-set';
    const notASet = `${jwksUrl}?v=not-a-set`;
    await apply({ jwks: undefined, jwksUri: notASet });
    assert.equal((await get('/headers', demo)).body, 'Jwks remote fetch is failed');
    assert.equal(fetchStates(proxy.proxy)[0]?.error, 'not a JSON Web Key Set (no "keys" list)');
    jwksAnswer = 'set';
    await apply({});
    assert.deepEqual(fetchStates(proxy.proxy), [], 'inline keys fetch nothing');
  });

  test('claims to headers, the payload to a header, the original token forwarded when asked', async () => {
    await apply({ outputClaimToHeaders: [{ header: 'x-jwt-iss', claim: 'iss' }], outputPayloadToHeader: 'x-jwt-payload', forwardOriginalToken: true });
    const seen = JSON.parse((await get('/headers', demo)).body) as Echo;
    assert.equal(seen.headers['x-jwt-iss'], ISSUER);
    assert.equal((JSON.parse(Buffer.from(seen.headers['x-jwt-payload'], 'base64url').toString()) as { sub: string }).sub, ISSUER);
    assert.equal(seen.headers.authorization, `Bearer ${demo}`);
  });

  test('presence REQUIRED refuses a request without the token', async () => {
    await apply({ presence: 'REQUIRED' });
    const r = await get('/headers');
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwt is missing');
  });

  test('authorization reads the request principal and the groups claim', async () => {
    const requireJwt: AuthorizationConfig = {
      policies: [{ name: 'require-jwt', namespace: 'foo', action: 'ALLOW', rules: [{ from: [{ source: { requestPrincipals: [PRINCIPAL] } }] }] }],
    };
    await apply({}, requireJwt);
    const none = await get('/headers');
    assert.equal(none.status, 403);
    assert.equal(none.body, 'RBAC: access denied');
    assert.equal((await get('/headers', demo)).status, 200);
    const withGroups: AuthorizationConfig = {
      policies: [
        {
          name: 'require-jwt',
          namespace: 'foo',
          action: 'ALLOW',
          rules: [{ from: [{ source: { requestPrincipals: [PRINCIPAL] } }], when: [{ key: 'request.auth.claims[groups]', values: ['group1'] }] }],
        },
      ],
    };
    await apply({}, withGroups);
    assert.equal((await get('/headers', demo)).status, 403, 'demo.jwt has no groups claim');
    assert.equal((await get('/headers', groups)).status, 200);
    assert.equal(proxy.records.at(-1)?.status, 200);
  });
});
