/**
 * What a proxy reports of its fetched key sets: nothing while it fetches none (so a proxy without
 * RequestAuthentication sends no report), each change of a set it uses, and an empty list once the
 * last set it used is dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keySetFor, useKeySets, watchFetchStates, type FetchState } from '../../src/proxy/filters/jwt/key-sets.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('reports follow the sets a proxy uses: none without sets, each change, then an empty list', async () => {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  const proxy = {};
  const reports: FetchState[][] = [];
  const stop = watchFetchStates(proxy, (states) => reports.push(states));
  try {
    useKeySets(proxy, []);
    await turn();
    await turn();
    assert.equal(reports.length, 0, 'no set, no report');

    const set = keySetFor({ jwksUri: uri });
    useKeySets(proxy, [uri]);
    await set.settled();
    await turn();
    const last = reports.at(-1);
    assert.equal(last?.length, 1);
    assert.deepEqual({ uri: last?.[0].uri, state: last?.[0].state, error: last?.[0].error }, { uri, state: 'failed', error: 'HTTP 404' });

    const before = reports.length;
    useKeySets(proxy, []);
    await turn();
    assert.deepEqual(reports.slice(before), [[]], 'the dropped set is reported gone');
  } finally {
    stop();
    useKeySets(proxy, []);
    server.close();
  }
});
