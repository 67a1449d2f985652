/**
 * The push server over real HTTP/2 sockets, with the proxy's own control client on the other
 * end: snapshots on connect, debouncing (on node:test's mock clock), unchanged snapshots not
 * re-sent, ACK/NACK tracking, refusals of bad streams, and 200 proxies at once. "Nothing was
 * sent" is shown by a later send arriving after it, streams being in order.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createPushServer } from '../../../src/controlplane/push/server.js';
import type { PushServer } from '../../../src/controlplane/push/server.js';
import type { ConnectedProxy, PushServerOptions } from '../../../src/controlplane/push/types.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import { TestProxy } from './proxies.js';
import type { TestProxyOptions } from './proxies.js';

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

const open: { servers: PushServer[]; proxies: TestProxy[] } = { servers: [], proxies: [] };

async function start(world: World, opts: Partial<PushServerOptions> = {}): Promise<PushServer> {
  const server = createPushServer({ snapshotFor: (p) => snapshotOf(world, p), ...opts });
  open.servers.push(server);
  await server.listen(0);
  return server;
}

async function proxy(server: PushServer, id: string, opts: TestProxyOptions = {}): Promise<TestProxy> {
  const p = await TestProxy.connect(server.url!, id, opts);
  open.proxies.push(p);
  return p;
}

/** Resolves once `check` holds on the server's side (polled: the status has no events). */
function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
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

const configs = (p: TestProxy): string[] => p.received.map((r) => `${r.snapshot.routes[0].name} ${r.outcome}`);
/** The proxy's client has applied (and so acknowledged) a snapshot of `config`. */
const applied = (p: TestProxy, config: string): (() => boolean) => () => p.lastConfig === config && p.client.appliedVersion === p.last?.version;

afterEach(async () => {
  await Promise.all(open.proxies.splice(0).map((p) => p.close()));
  await Promise.all(open.servers.splice(0).map((s) => s.close()));
});

describe('push server', () => {
  test('a proxy gets its snapshot on connect; its ACK makes it SYNCED', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 20 });
    const connects: string[] = [];
    server.on('connect', (p) => connects.push(p.id));
    const a = await proxy(server, 'a.default', { adminUrl: 'http://127.0.0.1:15000' });
    await a.waitFor(applied(a, 'config-1'), 'the first snapshot');
    assert.match(a.last!.version, /^\d+-[0-9a-f]{12}$/);
    assert.equal(a.client.appliedVersion, a.last!.version, 'the client applied the version the snapshot carries');
    await until(() => server.status()[0]?.state === 'SYNCED', 'SYNCED');
    const [st] = server.status();
    assert.equal(st.id, 'a.default');
    assert.equal(st.sentVersion, a.last!.version);
    assert.equal(st.ackedVersion, a.last!.version);
    assert.equal(st.adminUrl, 'http://127.0.0.1:15000');
    assert.deepEqual(st.workload, { name: 'a', namespace: 'default' }, 'workload from the snapshot node when the hello named none');
    assert.deepEqual(connects, ['a.default']);
  });

  test('changes within the quiet period coalesce into one send per proxy, of the latest config, when the period ends', async (t) => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 80, maxDebounceMs: 2000 });
    const proxies = await Promise.all(['a', 'b', 'c'].map((n) => proxy(server, `${n}.default`)));
    await Promise.all(proxies.map((p) => p.waitFor(applied(p, 'config-1'), 'the first snapshot')));
    const sendsBefore = server.counters.sends;
    const pushesBefore = server.counters.pushes;
    // The debounce timer on the mock clock; the sockets stay real.
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    for (let i = 2; i <= 6; i++) {
      world.config = i;
      server.pushAll(`edit ${i}`);
      t.mock.timers.tick(10);
    }
    // The last change was 10 ms ago: 69 ms more are still within its quiet period.
    t.mock.timers.tick(69);
    assert.equal(server.counters.pushes, pushesBefore, 'no push within the quiet period');
    t.mock.timers.tick(1);
    await Promise.all(proxies.map((p) => p.waitFor(applied(p, 'config-6'), 'config-6')));
    await server.settled();
    assert.equal(server.counters.pushes - pushesBefore, 1, 'one push round');
    assert.equal(server.counters.sends - sendsBefore, 3, 'one send per proxy');
    for (const p of proxies) assert.deepEqual(configs(p), ['config-1 applied', 'config-6 applied'], `${p.id}: the connect snapshot and one update`);
  });

  test('under a steady stream of changes a push goes out maxDebounceMs after the first', async (t) => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 60, maxDebounceMs: 150 });
    const a = await proxy(server, 'a.default');
    await a.waitFor(applied(a, 'config-1'), 'the first snapshot');
    const pushesBefore = server.counters.pushes;
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    // A change every 20 ms never leaves a 60 ms quiet period; the cap lets the push through.
    for (let i = 2; i <= 8; i++) {
      world.config = i;
      server.pushAll('steady');
      t.mock.timers.tick(20);
    }
    assert.equal(server.counters.pushes, pushesBefore, '140 ms: still within the cap');
    world.config = 9;
    server.pushAll('steady');
    t.mock.timers.tick(10);
    assert.equal(server.counters.pushes, pushesBefore + 1, '150 ms: pushed at the cap, in the middle of the stream');
    await a.waitFor(applied(a, 'config-9'), 'the capped push');
    await server.settled();
  });

  test('an unchanged snapshot is not sent again; pushTo reaches only the named proxies', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    const a = await proxy(server, 'a.default');
    const b = await proxy(server, 'b.default');
    await Promise.all([a, b].map((p) => p.waitFor(applied(p, 'config-1'), 'the first snapshot')));
    const sends = server.counters.sends;
    server.pushAll('nothing changed');
    await server.settled();
    assert.equal(server.counters.sends, sends);
    assert.ok(server.counters.unchanged >= 2);

    world.config = 2;
    const calls = world.calls;
    server.pushTo(['b.default', 'not-connected.default'], 'registry');
    await server.settled();
    await b.waitFor(applied(b, 'config-2'), 'config-2');
    assert.equal(world.calls - calls, 1, 'snapshots computed for the named, connected proxy only');
    const [sa, sb] = server.status();
    assert.notEqual(sa.sentVersion, sb.sentVersion);
    // A later push to a arrives after anything sent to it before: config-2 never was.
    world.config = 3;
    server.pushTo(['a.default'], 'later');
    await a.waitFor(applied(a, 'config-3'), 'config-3');
    assert.deepEqual(configs(a), ['config-1 applied', 'config-3 applied']);
  });

  test('NACK: the proxy is NACKED with the reason until a later snapshot is acknowledged', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    const nacks: string[] = [];
    server.on('nack', (p, n) => nacks.push(`${p.id} ${n.path}: ${n.reason}`));
    const a = await proxy(server, 'a.default', {
      judge: (s) => (s.routes[0].name === 'config-2' ? { path: 'listeners[0].port', reason: 'cannot listen on 127.0.0.1:80: EACCES' } : null),
    });
    await a.waitFor(applied(a, 'config-1'), 'the first snapshot');
    const good = a.last!.version;
    world.config = 2;
    server.pushAll('bad edit');
    await until(() => server.status()[0]?.state === 'NACKED', 'NACKED');
    let [st] = server.status();
    assert.equal(st.ackedVersion, good, 'the proxy still runs the previous version');
    assert.equal(a.client.appliedVersion, good);
    assert.notEqual(st.sentVersion, good);
    assert.equal(st.lastNack?.path, 'listeners[0].port');
    assert.equal(st.lastNack?.reason, 'cannot listen on 127.0.0.1:80: EACCES');
    assert.equal(st.lastNack?.version, st.sentVersion);
    assert.deepEqual(nacks, ['a.default listeners[0].port: cannot listen on 127.0.0.1:80: EACCES']);
    assert.ok(a.log.some((l) => l.includes('rejected: listeners[0].port: cannot listen on 127.0.0.1:80: EACCES')), a.log.join('\n'));

    // The same refused content is not pushed again on an unrelated push: the fix is the next thing the proxy gets.
    server.pushAll('unrelated');
    await server.settled();
    world.config = 3;
    server.pushAll('fix');
    await until(() => server.status()[0]?.state === 'SYNCED', 'SYNCED after the fix');
    assert.deepEqual(configs(a), ['config-1 applied', 'config-2 rejected', 'config-3 applied']);
    [st] = server.status();
    assert.equal(st.lastNack?.path, 'listeners[0].port', 'the last NACK stays on record');
  });

  test('STALE while a snapshot is unanswered', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    const quiet = await proxy(server, 'quiet.default', { judge: () => 'hold' });
    await quiet.waitFor(() => quiet.received.length === 1, 'the snapshot to reach the proxy');
    const [st] = server.status();
    assert.equal(st.state, 'STALE');
    assert.notEqual(st.sentVersion, null);
    assert.equal(st.ackedVersion, null);
  });

  test('a snapshot that cannot be computed is reported, and sent once it can', async () => {
    const world: World = { config: 1, calls: 0, fail: 'no workload named a in namespace default' };
    const server = await start(world, { debounceMs: 10 });
    const a = await proxy(server, 'a.default');
    await until(() => server.status()[0]?.error !== undefined, 'the error in status');
    const [st] = server.status();
    assert.equal(st.state, 'STALE');
    assert.equal(st.sentVersion, null);
    assert.match(st.error!, /no workload named a/);
    assert.equal(a.received.length, 0);
    delete world.fail;
    server.pushAll('registry');
    await a.waitFor(applied(a, 'config-1'), 'the snapshot once it can be computed');
    await until(() => server.status()[0]?.state === 'SYNCED', 'SYNCED');
    assert.equal(server.status()[0].error, undefined);
  });

  test('a reconnecting proxy gets the current snapshot at once; two streams with one id are both served', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 10 });
    const events: string[] = [];
    server.on('connect', (p) => events.push(`connect ${p.id}`));
    server.on('disconnect', (p, why) => events.push(`disconnect ${p.id} (${why})`));
    const first = await proxy(server, 'a.default');
    await first.waitFor(applied(first, 'config-1'), 'the first snapshot');
    world.config = 2;
    const second = await proxy(server, 'a.default');
    await second.waitFor(applied(second, 'config-2'), 'the current snapshot at once');
    assert.equal(server.status().length, 2);
    server.pushTo(['a.default'], 'change');
    await first.waitFor(applied(first, 'config-2'), 'the change');
    assert.deepEqual(configs(first), ['config-1 applied', 'config-2 applied'], 'the change reached the first stream once, by the push');
    assert.equal(first.client.connected, true);
    await until(() => server.status().every((st) => st.state === 'SYNCED'), 'both SYNCED');
    await second.close();
    await until(() => server.status().length === 1, 'the disconnect');
    await first.close();
    await until(() => server.status().length === 0, 'the second disconnect');
    assert.deepEqual(events, ['connect a.default', 'connect a.default', 'disconnect a.default (stream closed)', 'disconnect a.default (stream closed)']);
  });

  test("a proxy's JWKS fetch states are shown in its status, again after it reconnects; a malformed report is refused", async () => {
    const world: World = { config: 1, calls: 0 };
    const warnings: string[] = [];
    const server = await start(world, { logger: { info: () => {}, warn: (m) => warnings.push(m) } });
    const a = await proxy(server, 'a.default');
    await a.waitFor(applied(a, 'config-1'), 'the first snapshot');
    assert.equal(server.status()[0].jwks, undefined, 'nothing reported, nothing shown');
    const failed = { uri: 'https://keys.example/jwks.json', state: 'failed' as const, keys: 0, fetchedAt: 0, error: 'HTTP 404', failures: 3, nextFetchAt: Date.now() + 4000 };
    a.client.reportStatus([failed]);
    await until(() => server.status()[0]?.jwks?.[0]?.error === 'HTTP 404', 'the reported state');
    assert.deepEqual(server.status()[0].jwks, [failed]);
    assert.deepEqual(warnings.filter((w) => w.includes('JWKS')), ['push: a.default cannot fetch the JWKS https://keys.example/jwks.json: HTTP 404']);
    const ready = { ...failed, state: 'ready' as const, keys: 2, fetchedAt: Date.now(), error: '', failures: 0 };
    a.client.reportStatus([ready]);
    await until(() => server.status()[0]?.jwks?.[0]?.state === 'ready', 'the next report replacing it');
    // A new stream starts with nothing known; the client reports its last state again on it.
    const port = Number(new URL(server.url!).port);
    await server.close();
    open.servers.splice(open.servers.indexOf(server), 1);
    const again = createPushServer({ snapshotFor: (p) => snapshotOf(world, p) });
    open.servers.push(again);
    await again.listen(port);
    await until(() => again.status()[0]?.jwks?.[0]?.keys === 2, 'the state on the new stream');

    const session = http2.connect(again.url!);
    session.on('error', () => {});
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/skiff.v1/stream' }, { endStream: false });
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (d: string) => (body += d));
        req.on('end', () => resolve(body));
        req.on('error', reject);
        req.write('{"type":"hello","node":{"id":"b.default","kind":"sidecar"}}\n{"type":"status","jwks":[{"uri":"x","state":"broken"}]}\n');
      });
      assert.match(text, /status\.jwks\[0\]\.state must be fetching, ready or failed/);
    } finally {
      session.destroy();
    }
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

  test('200 proxies: one change reaches every one in one push round, and all are SYNCED', async () => {
    const world: World = { config: 1, calls: 0 };
    const server = await start(world, { debounceMs: 100 });
    const fleet: TestProxy[] = [];
    // Connected a few at a time, as proxies start on a real machine.
    for (let i = 0; i < 200; i += 20) fleet.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => proxy(server, `p${i + k}.default`)))));
    await Promise.all(fleet.map((p) => p.waitFor(applied(p, 'config-1'), 'the first snapshot')));
    world.config = 2;
    server.pushAll('scale');
    await Promise.all(fleet.map((p) => p.waitFor(applied(p, 'config-2'), 'the change')));
    const rounds = new Set(fleet.map((p) => p.last!.version.split('-')[0]));
    assert.equal(rounds.size, 1, 'one push round reached every proxy');
    assert.ok(fleet.every((p) => p.received.length === 2));
    await until(() => server.status().length === 200 && server.status().every((st) => st.state === 'SYNCED'), 'all SYNCED');
  });
});
