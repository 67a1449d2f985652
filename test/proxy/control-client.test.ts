/**
 * Real proxies fed by a real push server over HTTP/2: every proxy applies and ACKs, traffic
 * follows pushes, a bad snapshot is NACKed while the previous one keeps serving, and the proxies
 * keep serving while the control plane is away, then re-sync when it comes back on its port.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createPushServer } from '../../src/controlplane/push/server.js';
import type { PushServer } from '../../src/controlplane/push/server.js';
import type { ConnectedProxy } from '../../src/controlplane/push/types.js';
import { ControlClient } from '../../src/proxy/control-client.js';
import { SkiffProxy } from '../../src/proxy/proxy.js';
import type { ProxySnapshot } from '../../src/snapshot/index.js';
import { cluster, deadPort, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

interface World {
  backendPort: number;
  /** Make every snapshot refer to a route config that does not exist. */
  broken: boolean;
  /** Hand out snapshots for another node id. */
  wrongNode: boolean;
}

function snapshotFor(world: World, p: ConnectedProxy): ProxySnapshot {
  return snapshot({
    node: { id: world.wrongNode ? 'someone-else.default' : p.id, kind: 'sidecar' },
    listeners: [httpListener('out', world.broken ? 'missing' : 'r')],
    routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])],
    clusters: [cluster('svc', [world.backendPort])],
  });
}

interface Node {
  proxy: SkiffProxy;
  client: ControlClient;
  rejected: string[];
  log: string[];
}

describe('proxies fed by the push server', () => {
  let one: Backend;
  let two: Backend;
  let server: PushServer;
  let port: number;
  const world: World = { backendPort: 0, broken: false, wrongNode: false };
  const nodes: Node[] = [];

  const startServer = async (listenPort: number): Promise<PushServer> => {
    const s = createPushServer({ snapshotFor: (p) => snapshotFor(world, p), debounceMs: 20 });
    await s.listen(listenPort);
    return s;
  };
  const through = async (n: Node): Promise<string | undefined> => {
    const reply = await request(n.proxy.listenerAddress('out')!.port, '/', { headers: { host: 'svc' } });
    return reply.headers['x-backend'] as string | undefined;
  };
  const allSynced = (version?: string): boolean =>
    server.status().length === nodes.length && server.status().every((s) => s.state === 'SYNCED' && (version === undefined || s.ackedVersion === version));

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    one = disposer.add(await startBackend(echo('one')), (r) => r.close());
    two = disposer.add(await startBackend(echo('two')), (r) => r.close());
    world.backendPort = one.port;
    server = await startServer(0);
    // Whichever server runs at the end: a test restarts it.
    disposer.defer(() => server.close());
    port = server.address!.port;
    for (let i = 0; i < 3; i++) {
      const proxy = disposer.add(await SkiffProxy.create({ adminPort: 0, healthPort: 0, healthAddress: '127.0.0.1', drainTimeoutMs: 100 }), (p) => p.close());
      const log: string[] = [];
      const client = new ControlClient({
        url: server.url!,
        node: { id: `p${i}.default`, kind: 'sidecar' },
        target: proxy,
        adminUrl: `http://127.0.0.1:${proxy.adminAddress()!.port}`,
        minBackoffMs: 20,
        maxBackoffMs: 200,
        log: (line) => log.push(line),
      });
      const node: Node = { proxy, client, rejected: [], log };
      client.on('rejected', (version, e) => node.rejected.push(`${version} ${e.path}: ${e.reason}`));
      nodes.push(node);
      disposer.add(client, (c) => c.close());
      client.start();
    }
  }));

  after(() => disposer.drain());

  test('every proxy applies its snapshot, ACKs, and serves it', async () => {
    await eventually(() => allSynced(), 5000, 'all proxies SYNCED');
    for (const n of nodes) {
      assert.equal(await through(n), 'one');
      assert.equal(n.proxy.snapshot?.version, n.client.appliedVersion, 'the proxy runs the version it acknowledged');
      assert.equal(n.proxy.ready, true);
    }
    const st = server.status();
    assert.deepEqual(
      st.map((s) => s.id),
      ['p0.default', 'p1.default', 'p2.default'],
    );
    assert.match(st[0].adminUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a push reaches every proxy and traffic follows', async () => {
    world.backendPort = two.port;
    server.pushAll('backend moved');
    await eventually(() => allSynced() && nodes.every((n) => n.proxy.snapshot?.clusters[0]?.endpoints?.[0]?.port === two.port), 5000, 'the new snapshot everywhere');
    for (const n of nodes) assert.equal(await through(n), 'two');
  });

  test('a bad snapshot is NACKed with its reason; the proxy keeps serving the previous one', async () => {
    const good = new Map(server.status().map((s) => [s.id, s.ackedVersion]));
    world.broken = true;
    server.pushAll('broken edit');
    await eventually(() => server.status().every((s) => s.state === 'NACKED'), 5000, 'NACKED everywhere');
    for (const s of server.status()) {
      assert.equal(s.ackedVersion, good.get(s.id));
      assert.equal(s.lastNack?.path, 'listeners[0].http.routeConfig');
      assert.equal(s.lastNack?.reason, 'no route config named "missing" in routes');
    }
    for (const [i, n] of nodes.entries()) {
      assert.equal(await through(n), 'two', 'still serving the last good snapshot');
      assert.equal(n.proxy.snapshot?.version, good.get(`p${i}.default`));
      assert.equal(n.rejected.length, 1);
      assert.ok(n.log.some((l) => l.includes('rejected: listeners[0].http.routeConfig: no route config named "missing"')));
    }
    world.broken = false;
    server.pushAll('fixed');
    await eventually(() => allSynced(), 5000, 'SYNCED after the fix');
  });

  test('a snapshot for another node is refused', async () => {
    world.wrongNode = true;
    world.backendPort = one.port;
    server.pushAll('mix-up');
    await eventually(() => server.status().every((s) => s.state === 'NACKED'), 5000, 'NACKED');
    assert.equal(server.status()[0].lastNack?.path, 'node.id');
    assert.match(server.status()[0].lastNack!.reason, /snapshot is for "someone-else.default", this proxy is "p0.default"/);
    for (const n of nodes) assert.equal(await through(n), 'two');
    world.wrongNode = false;
    world.backendPort = two.port;
    server.pushAll('fixed');
    await eventually(() => allSynced(), 5000, 'SYNCED');
  });

  test('with the control plane gone the proxies keep serving; on its return they re-sync', async () => {
    await server.close();
    await eventually(() => nodes.every((n) => !n.client.connected), 5000, 'the proxies to notice');
    for (const n of nodes) {
      assert.equal(await through(n), 'two', 'serving while the control plane is away');
      assert.ok(n.log.some((l) => /lost the control plane .*serving snapshot .* meanwhile; reconnecting/.test(l)));
    }
    // A few reconnect attempts fail before the control plane comes back: the port refuses them.
    const refusing = await refuseConnections(port);
    await eventually(() => refusing.count >= 2 * nodes.length, 5000, 'two reconnect attempts per proxy');
    for (const n of nodes) assert.equal(await through(n), 'two');
    await refusing.close();

    world.backendPort = one.port;
    server = await startServer(port);
    await eventually(() => allSynced() && nodes.every((n) => n.proxy.snapshot?.clusters[0]?.endpoints?.[0]?.port === one.port), 5000, 're-sync');
    for (const n of nodes) assert.equal(await through(n), 'one');
  });
});

describe('a proxy started before the control plane', () => {
  test('waits without crashing, then takes its first snapshot', async () => {
    const backend = await startBackend(echo('late'));
    const world: World = { backendPort: backend.port, broken: false, wrongNode: false };
    const probe = await startServer0(world);
    const port = probe.address!.port;
    await probe.close();
    const proxy = await SkiffProxy.create({ adminPort: null, healthPort: null });
    const client = new ControlClient({ url: `http://127.0.0.1:${port}`, node: { id: 'early.default', kind: 'sidecar' }, target: proxy, minBackoffMs: 20, maxBackoffMs: 100 });
    const log: string[] = [];
    client.on('connected', () => log.push('connected'));
    client.start();
    let server: PushServer | null = null;
    const refusing = await refuseConnections(port);
    try {
      await eventually(() => refusing.count >= 2, 5000, 'two connection attempts');
      assert.equal(proxy.ready, false);
      assert.deepEqual(log, [], 'not connected');
      await refusing.close();
      server = createPushServer({ snapshotFor: (p) => snapshotFor(world, p), debounceMs: 10 });
      await server.listen(port);
      await eventually(() => proxy.ready, 5000, 'the first snapshot');
      const reply = await request(proxy.listenerAddress('out')!.port, '/', { headers: { host: 'svc' } });
      assert.equal(reply.headers['x-backend'], 'late');
      assert.deepEqual(log, ['connected']);
    } finally {
      await client.close();
      await proxy.close();
      await refusing.close();
      await server?.close();
      await backend.close();
    }
  });
});

/** Takes the port and closes every connection at once, counting them: each one a failed attempt to reach the control plane. */
async function refuseConnections(port: number): Promise<{ readonly count: number; close(): Promise<void> }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let closed = false;
  return {
    get count() {
      return count;
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startServer0(world: World): Promise<PushServer> {
  const s = createPushServer({ snapshotFor: (p) => snapshotFor(world, p) });
  await s.listen(0);
  return s;
}

/** A TCP relay between client and server whose open connections can go silent, as a dead peer looks. */
async function startRelay(targetPort: number): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  interface Pair {
    down: Socket;
    up: Socket;
    silent: boolean;
  }
  const pairs = new Set<Pair>();
  const server = createServer((down) => {
    const pair: Pair = { down, up: connect(targetPort, '127.0.0.1'), silent: false };
    pairs.add(pair);
    const { up } = pair;
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
    // A silent pair drops every byte and passes no close on: each side must notice by itself.
    down.on('data', (d: Buffer) => pair.silent || up.write(d));
    up.on('data', (d: Buffer) => pair.silent || down.write(d));
    down.on('close', () => {
      if (!pair.silent) up.destroy();
      pairs.delete(pair);
    });
    up.on('close', () => pair.silent || down.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      for (const p of pairs) p.silent = true;
    },
    close: async () => {
      for (const p of pairs) {
        p.down.destroy();
        p.up.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('keepalive', () => {
  test('a silent peer is noticed on both sides; the proxy reconnects and re-syncs', async () => {
    const world: World = { backendPort: 1, broken: false, wrongNode: false };
    const server = createPushServer({ snapshotFor: (p) => snapshotFor(world, p), keepaliveMs: 100, keepaliveTimeoutMs: 300 });
    await server.listen(0);
    const relay = await startRelay(server.address!.port);
    const applied: string[] = [];
    const log: string[] = [];
    const client = new ControlClient({
      url: `http://127.0.0.1:${relay.port}`,
      node: { id: 'k.default', kind: 'sidecar' },
      // The apply itself is not under test here: a target that records what it got.
      target: { applySnapshot: async (s: unknown) => (applied.push((s as ProxySnapshot).version), { version: (s as ProxySnapshot).version }) },
      keepaliveMs: 100,
      keepaliveTimeoutMs: 300,
      minBackoffMs: 20,
      maxBackoffMs: 100,
      log: (l) => log.push(l),
    });
    const disconnects: string[] = [];
    server.on('disconnect', (_p, why) => disconnects.push(why));
    try {
      client.start();
      await eventually(() => server.status()[0]?.state === 'SYNCED', 5000, 'SYNCED');
      const firstConnectedAt = server.status()[0].connectedAt;
      relay.freeze();
      await eventually(() => log.some((l) => /lost the control plane .*keepalive PING unanswered/.test(l)), 5000, 'the proxy to notice');
      await eventually(() => disconnects.length === 1, 5000, 'skiffd to drop the silent connection');
      assert.equal(disconnects[0], 'keepalive PING unanswered for 300 ms');
      await eventually(() => server.status().length === 1 && server.status()[0].connectedAt > firstConnectedAt && server.status()[0].state === 'SYNCED', 5000, 'a new stream');
      assert.equal(applied.length, 2, 'the reconnect brought the current snapshot');
    } finally {
      await client.close();
      await relay.close();
      await server.close();
    }
  });
});

describe('reconnect backoff (on the mock clock)', () => {
  /**
   * The client's connection attempts, seen through http2.connect; each session is kept so the
   * test can wait for its failure, after which the client arms its backoff timer.
   */
  function watchConnects(t: TestContext): Attempt[] {
    const attempts: Attempt[] = [];
    const real = http2.connect.bind(http2) as (...args: unknown[]) => ClientHttp2Session;
    t.mock.method(http2, 'connect', (...args: unknown[]) => {
      const session = real(...args);
      // Resolved in the same 'close' emit as the client's handler, so an awaiter resumes after the client armed its timer.
      attempts.push({ failed: new Promise((resolve) => session.once('close', () => resolve())) });
      return session;
    });
    return attempts;
  }

  interface Attempt {
    /** Resolves once the attempt failed and the client scheduled the next one. */
    failed: Promise<void>;
  }

  test('attempts follow 100, 200, 400 … ms doubling up to the 2 s cap, each jittered to 50–100 %', async (t) => {
    const port = await deadPort();
    const attempts = watchConnects(t);
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    const jitter = [1, 0, 1, 1, 1, 1, 0.5, 1];
    let draw = 0;
    const client = new ControlClient({
      url: `http://127.0.0.1:${port}`,
      node: { id: 'b.default', kind: 'sidecar' },
      target: { applySnapshot: () => Promise.reject(new Error('no snapshot expected')) },
      random: () => jitter[draw++],
    });
    // Ceilings 100, 200, 400, 800, 1600, 2000 (capped), 2000, 2000; the delay is ceiling × (0.5 + 0.5 × jitter).
    const delays = [100, 100, 400, 800, 1600, 2000, 1500, 2000];
    try {
      client.start();
      assert.equal(attempts.length, 1, 'the first attempt at once');
      for (const [i, delay] of delays.entries()) {
        await attempts[i].failed;
        t.mock.timers.tick(delay - 1);
        assert.equal(attempts.length, i + 1, `attempt ${i + 2} not before ${delay} ms`);
        t.mock.timers.tick(1);
        assert.equal(attempts.length, i + 2, `attempt ${i + 2} at ${delay} ms`);
      }
    } finally {
      await client.close();
    }
    t.mock.timers.tick(10_000);
    assert.equal(attempts.length, delays.length + 1, 'no attempt after close');
  });
});
