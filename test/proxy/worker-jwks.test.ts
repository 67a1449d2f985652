/**
 * `skiff proxy --concurrency 2` with a RequestAuthentication whose key set is fetched: each worker
 * fetches it, and the primary reports one state per URI to the control plane — failed with the
 * reason while the server answers 404, ready with its keys once a retry gets the set.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { createPushServer } from '../../src/controlplane/push/server.js';
import type { PushServer } from '../../src/controlplane/push/server.js';
import { mergeJwksStates } from '../../src/proxy/control-relay.js';
import type { JwksFetchState } from '../../src/snapshot/index.js';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { cluster, echo, eventually, forward, httpListener, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

test('the primary reports, per URI, the workers\' state that fails requests first', () => {
  const at = (state: JwksFetchState['state'], error = ''): JwksFetchState => ({ uri: 'http://k/jwks.json', state, keys: state === 'ready' ? 1 : 0, fetchedAt: 0, error, failures: error === '' ? 0 : 1, nextFetchAt: 0 });
  const other: JwksFetchState = { ...at('ready'), uri: 'http://a/jwks.json' };
  assert.deepEqual(mergeJwksStates([[at('ready'), other], [at('failed', 'HTTP 404')]]), [other, at('failed', 'HTTP 404')]);
  assert.deepEqual(mergeJwksStates([[at('ready')], [at('ready', 'HTTP 503')]]), [at('ready', 'HTTP 503')]);
  assert.deepEqual(mergeJwksStates([]), []);
});

describe('skiff proxy --concurrency 2 fetching a JWKS', () => {
  let backend: Backend;
  let keys: http.Server;
  let serving = false;
  let jwks = '';
  let uri = '';
  let server: PushServer;
  let proc: ChildProcess | undefined;
  let stderr = '';

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend(echo('app')), (r) => r.close());
    const { publicKey } = await generateKeyPair('RS256');
    jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] });
    keys = http.createServer((_req, res) => {
      if (serving) res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      else res.writeHead(404).end('404: Not Found');
    });
    disposer.add(keys, (s) => s.close());
    keys.listen(0, '127.0.0.1');
    await once(keys, 'listening');
    uri = `http://127.0.0.1:${(keys.address() as AddressInfo).port}/jwks.json`;
    server = createPushServer({
      debounceMs: 20,
      snapshotFor: (p) =>
        snapshot({
          node: { id: p.id, kind: p.node.kind },
          listeners: [httpListener('inbound', 'in', { direction: 'inbound' })],
          routes: [routeConfig('in', [{ name: 'all', domains: ['*'], routes: [forward('a', 'app')] }])],
          clusters: [cluster('app', [backend.port])],
          requestAuthentication: { rules: [{ policy: 'foo/jwt-example', issuer: 'testing@secure.istio.io', jwksUri: uri }] },
        }),
    });
    disposer.add(server, (s) => s.close());
    await server.listen(0);
    proc = spawn(process.execPath, [skiffBin, 'proxy', '--control-plane', server.url!, '--id', 'httpbin-1.foo', '--concurrency', '2', '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--drain-ms', '100'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    disposer.add(proc, (c) => stopProcess(c, { signal: 'SIGKILL' }));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  }));

  after(() => disposer.drain());

  const reported = (): JwksFetchState | undefined => server.status().find((s) => s.id === 'httpbin-1.foo')?.jwks?.[0];

  test('failed with the reason while the server answers 404, then ready with its keys', async () => {
    await eventually(() => reported()?.state === 'failed', 20_000, `the failed fetch to be reported; proxy log:\n${stderr}`);
    const failed = reported()!;
    assert.equal(failed.uri, uri);
    assert.equal(failed.error, 'HTTP 404');
    assert.equal(server.status().find((s) => s.id === 'httpbin-1.foo')?.jwks?.length, 1, 'one state per URI, not one per worker');
    serving = true;
    await eventually(() => reported()?.state === 'ready', 60_000, 'a retry to fetch the set');
    assert.deepEqual({ keys: reported()?.keys, error: reported()?.error }, { keys: 1, error: '' });
  });
});
