/**
 * The push server over real HTTP/2 sockets, with simulated proxies speaking the protocol:
 * snapshots on connect, debouncing, unchanged snapshots not re-sent, ACK/NACK tracking,
 * refusals of bad streams, and a scale smoke run.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createPushServer } from '../../../src/controlplane/push/server.js';
import type { PushServer } from '../../../src/controlplane/push/server.js';
import { SimProxy, connectSimFleet, waitForFleet } from '../../../src/controlplane/push/sim-client.js';
import type { SimProxyOptions } from '../../../src/controlplane/push/sim-client.js';
import type { ConnectedProxy, PushServerOptions } from '../../../src/controlplane/push/types.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';

/** The "config" the snapshots are made from: a version the tests bump, and a per-proxy override. */
interface World {
  config: number;
  calls: number;
  fail?: string;
}

function snapshotOf(world: World, proxy: ConnectedProxy): ProxySnapshot {
  world.calls++;
  if (world.fail !== undefined) throw new Error(world.fail);
  return {
    version: 'ignored',
    node: { id: proxy.id, kind: proxy.node.kind, workload: { name: proxy.id.split('.')[0], namespace: 'default', labels: {}, serviceAccount: 'default' } },
    listeners: [],
    routes: [{ name: `config-${world.config}`, virtualHosts: [] }],
    clusters: [],
  };
}

const open: { servers: PushServer[]; sims: SimProxy[] } = { servers: [], sims: [] };

async function start(world: World, opts: Partial<PushServerOptions> = {}): Promise<PushServer> {
  const server = createPushServer({ snapshotFor: (p) => snapshotOf(world, p), ...opts });
  open.servers.push(server);
  await server.listen(0);
  return server;
}

async function sim(server: PushServer, id: string, extra: Partial<SimProxyOptions> = {}): Promise<SimProxy> {
  const s = await SimProxy.connect({ url: server.url!, node: { id, kind: 'sidecar' }, parse: true, ...extra });
  open.sims.push(s);
  return s;
}

function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

afterEach(async () => {
  await Promise.all(open.sims.splice(0).map((s) => s.close()));
  await Promise.all(open.servers.splice(0).map((s) => s.close()));
});

describe('push server', () => {
  test('a proxy gets its snapshot on connect; its ACK makes it SYNCED', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 20 });
    const connects: string[] = [];
    server.on('connect', (p) => connects.push(p.id));
    const a = await sim(server, 'a.default', { adminUrl: 'http://127.0.0.1:15000' });
    await a.waitFor((s) => s.lastAck !== null);
    const snap = a.last!.snapshot as ProxySnapshot;
    assert.equal(snap.version, a.last!.version, 'the snapshot carries the version of its message');
    assert.equal(snap.routes[0].name, 'config-1');
    assert.match(a.last!.version, /^\d+-[0-9a-f]{12}$/);
    await until(() => server.status()[0]?.state === 'SYNCED', 'SYNCED');
    const [st] = server.status();
    assert.equal(st.id, 'a.default');
    assert.equal(st.sentVersion, a.last!.version);
    assert.equal(st.ackedVersion, a.last!.version);
    assert.equal(st.adminUrl, 'http://127.0.0.1:15000');
    assert.deepEqual(st.workload, { name: 'a', namespace: 'default' }, 'workload from the snapshot node when the hello named none');
    assert.deepEqual(connects, ['a.default']);
  });

  test('changes within the debounce window coalesce into one send per proxy; the latest is sent', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 80, maxDebounceMs: 2000 });
    const sims = await Promise.all(['a', 'b', 'c'].map((n) => sim(server, `${n}.default`)));
    await Promise.all(sims.map((s) => s.waitFor((x) => x.lastAck !== null)));
    const sendsBefore = server.counters.sends;
    const pushesBefore = server.counters.pushes;
    for (let i = 2; i <= 6; i++) {
      world.config = i;
      server.pushAll(`edit ${i}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await server.settled();
    await Promise.all(sims.map((s) => s.waitFor((x) => (x.last!.snapshot as ProxySnapshot).routes[0].name === 'config-6')));
    assert.equal(server.counters.pushes - pushesBefore, 1, 'one push round');
    assert.equal(server.counters.sends - sendsBefore, 3, 'one send per proxy');
    for (const s of sims) assert.equal(s.received.length, 2, `${s.id}: the connect snapshot and one update`);
  });

  test('maxDebounceMs bounds the wait under a steady stream of changes', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 60, maxDebounceMs: 150 });
    const a = await sim(server, 'a.default');
    await a.waitFor((x) => x.lastAck !== null);
    const stopAt = Date.now() + 600;
    let i = 1;
    // Changes every 20 ms never leave a 60 ms quiet period; the cap still lets pushes through.
    while (Date.now() < stopAt) {
      world.config = ++i;
      server.pushAll('steady');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(a.received.length >= 3, `pushes went out during the burst (got ${a.received.length - 1})`);
    await server.settled();
  });

  test('an unchanged snapshot is not sent again; pushTo reaches only the named proxies', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    const a = await sim(server, 'a.default');
    const b = await sim(server, 'b.default');
    await Promise.all([a, b].map((s) => s.waitFor((x) => x.lastAck !== null)));
    const sends = server.counters.sends;
    server.pushAll('nothing changed');
    await server.settled();
    assert.equal(server.counters.sends, sends);
    assert.ok(server.counters.unchanged >= 2);

    world.config = 2;
    const calls = world.calls;
    server.pushTo(['b.default', 'not-connected.default'], 'registry');
    await server.settled();
    await b.waitFor((x) => x.received.length === 2);
    assert.equal(world.calls - calls, 1, 'snapshots computed for the named, connected proxy only');
    assert.equal(a.received.length, 1);
    const [sa, sb] = server.status();
    assert.notEqual(sa.sentVersion, sb.sentVersion);
  });

  test('NACK: the proxy is NACKED with the reason until a later snapshot is acknowledged', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    const nacks: string[] = [];
    server.on('nack', (p, n) => nacks.push(`${p.id} ${n.path}: ${n.reason}`));
    const a = await sim(server, 'a.default', {
      judge: (s) => ((s.snapshot as ProxySnapshot).routes[0].name === 'config-2' ? { path: 'listeners[0].port', reason: 'cannot listen on 127.0.0.1:80: EACCES' } : null),
    });
    await a.waitFor((x) => x.lastAck !== null);
    const good = a.lastAck!.version;
    world.config = 2;
    server.pushAll('bad edit');
    await until(() => server.status()[0]?.state === 'NACKED', 'NACKED');
    let [st] = server.status();
    assert.equal(st.ackedVersion, good, 'the proxy still runs the previous version');
    assert.notEqual(st.sentVersion, good);
    assert.equal(st.lastNack?.path, 'listeners[0].port');
    assert.equal(st.lastNack?.reason, 'cannot listen on 127.0.0.1:80: EACCES');
    assert.equal(st.lastNack?.version, st.sentVersion);
    assert.deepEqual(nacks, ['a.default listeners[0].port: cannot listen on 127.0.0.1:80: EACCES']);

    // The same refused content is not pushed again on an unrelated push.
    server.pushAll('unrelated');
    await server.settled();
    assert.equal(a.received.length, 2);

    world.config = 3;
    server.pushAll('fix');
    await until(() => server.status()[0]?.state === 'SYNCED', 'SYNCED after the fix');
    [st] = server.status();
    assert.equal(st.lastNack?.path, 'listeners[0].port', 'the last NACK stays on record');
  });

  test('STALE while a snapshot is unanswered', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    await sim(server, 'quiet.default', { judge: () => 'ignore' });
    await until(() => server.status()[0]?.sentVersion !== null && server.status()[0]?.sentVersion !== undefined, 'a send');
    const [st] = server.status();
    assert.equal(st.state, 'STALE');
    assert.equal(st.ackedVersion, null);
  });

  test('a snapshot that cannot be computed is reported, and sent once it can', async () => {
    const world: World = { config: 1, calls: 0, fail: 'no workload named a in namespace default' };
    const server = await start(world, { debounceMs: 10 });
    const a = await sim(server, 'a.default');
    await until(() => server.status()[0]?.error !== undefined, 'the error in status');
    const [st] = server.status();
    assert.equal(st.state, 'STALE');
    assert.equal(st.sentVersion, null);
    assert.match(st.error!, /no workload named a/);
    delete world.fail;
    server.pushAll('registry');
    await a.waitFor((x) => x.lastAck !== null);
    await until(() => server.status()[0]?.state === 'SYNCED', 'SYNCED');
    assert.equal(server.status()[0].error, undefined);
  });

  test('a reconnecting proxy gets the current snapshot at once; two streams with one id are both served', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    const events: string[] = [];
    server.on('connect', (p) => events.push(`connect ${p.id}`));
    server.on('disconnect', (p, why) => events.push(`disconnect ${p.id} (${why})`));
    const first = await sim(server, 'a.default');
    await first.waitFor((x) => x.lastAck !== null);
    world.config = 2;
    const second = await sim(server, 'a.default');
    await second.waitFor((x) => x.lastAck !== null);
    assert.equal((second.last!.snapshot as ProxySnapshot).routes[0].name, 'config-2', 'the new stream gets the current snapshot at once');
    assert.equal(first.received.length, 1, 'the change itself was never pushed');
    assert.equal(server.status().length, 2);
    server.pushTo(['a.default'], 'change');
    await first.waitFor((x) => x.received.length === 2);
    assert.equal(first.closedReason, null);
    await until(() => server.status().every((st) => st.state === 'SYNCED'), 'both SYNCED');
    await second.close();
    await until(() => server.status().length === 1, 'the disconnect');
    await first.close();
    await until(() => server.status().length === 0, 'the second disconnect');
    assert.deepEqual(events, ['connect a.default', 'connect a.default', 'disconnect a.default (stream closed)', 'disconnect a.default (stream closed)']);
  });

  test('bad streams are refused with a reason: a bad hello, no hello in time, another path', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { helloTimeoutMs: 100 });
    const session = http2.connect(server.url!);
    session.on('error', () => {});
    try {
      const exchange = (path: string, body: string | null): Promise<{ status: number; text: string }> =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':method': 'POST', ':path': path }, { endStream: false });
          let status = 0;
          let text = '';
          req.setEncoding('utf8');
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', (d: string) => (text += d));
          req.on('end', () => resolve({ status, text }));
          req.on('error', reject);
          if (body !== null) req.write(body);
        });
      const badKind = await exchange('/skiff.v1/stream', '{"type":"hello","node":{"id":"x","kind":"router"}}\n');
      assert.equal(badKind.status, 200);
      assert.deepEqual(JSON.parse(badKind.text), { type: 'error', reason: 'hello.node.kind must be sidecar or gateway' });
      const ackFirst = await exchange('/skiff.v1/stream', '{"type":"ack","version":"1","nonce":"1"}\n');
      assert.match(ackFirst.text, /the first message must be hello, got ack/);
      const notJson = await exchange('/skiff.v1/stream', 'hello there\n');
      assert.match(notJson.text, /message is not JSON/);
      const silent = await exchange('/skiff.v1/stream', null);
      assert.match(silent.text, /no hello within 100 ms/);
      const other = await exchange('/other', null);
      assert.equal(other.status, 404);
      assert.equal(server.status().length, 0);
      assert.equal(world.calls, 0);
    } finally {
      session.destroy();
    }
  });

  test('scale smoke: 200 simulated proxies, one change, time to the last ACK', async (t) => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 100 });
    const sims = await connectSimFleet(200, { url: server.url! });
    open.sims.push(...sims);
    await waitForFleet(sims, (s) => s.lastAck !== null);
    world.config = 2;
    const changedAt = Date.now();
    server.pushAll('scale');
    const lastAck = await waitForFleet(sims, (s) => s.received.length === 2 && s.lastAck?.version === s.last!.version);
    const versions = new Set(sims.map((s) => s.last!.version.split('-')[0]));
    assert.equal(versions.size, 1, 'one push round reached every proxy');
    await until(() => server.status().every((st) => st.state === 'SYNCED'), 'all SYNCED');
    t.diagnostic(`200 proxies: change to last ACK ${lastAck - changedAt} ms (debounce 100 ms included)`);
  });
});
