/**
 * The rate-limit service sample: envoyproxy/ratelimit's configuration format (nested descriptors,
 * value-less keys, units, mistakes named), its fixed-window decisions with an injected clock
 * (minute limits, and hour limits — the quotas — counting across minutes), counted in memory and
 * in a real redis-server (INCRBY and EXPIRE together, one shared count for two service replicas),
 * and the service as a process answering Envoy's `ShouldRateLimit` over gRPC.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError, limitFor, loadConfigDir, parseConfig } from '../../samples/ratelimit/src/config.js';
import { RateLimitService, type ShouldRateLimitRequest } from '../../samples/ratelimit/src/service.js';
import { MemoryStore, RedisStore } from '../../samples/ratelimit/src/store.js';
import { RateLimitServiceClientSet } from '../../src/proxy/rls/rls-client.js';
import { createCluster } from '../../src/proxy/upstream/cluster.js';
import { Http2ClusterPool } from '../../src/proxy/upstream/pool-http2.js';
import { tunnelConnector } from '../../samples/ratelimit/src/redis-tunnel.js';
import { stopProcess } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { tool } from '../helpers/tools.js';
import { distRoot } from './helpers.js';

/** The page's ConfigMap, plus an hourly quota. */
const PAGE_CONFIG = `domain: ratelimit
descriptors:
  - key: PATH
    value: "/productpage"
    rate_limit:
      unit: minute
      requests_per_unit: 1
  - key: PATH
    value: "api"
    rate_limit:
      unit: minute
      requests_per_unit: 2
  - key: PATH
    rate_limit:
      unit: minute
      requests_per_unit: 100
  - key: tenant
    value: acme
    rate_limit:
      unit: hour
      requests_per_unit: 3
    descriptors:
      - key: PATH
        rate_limit:
          unit: second
          requests_per_unit: 5
`;

const path = (p: string): ShouldRateLimitRequest => ({ domain: 'ratelimit', descriptors: [{ entries: [{ key: 'PATH', value: p }] }] });
const tenant = (): ShouldRateLimitRequest => ({ domain: 'ratelimit', descriptors: [{ entries: [{ key: 'tenant', value: 'acme' }] }] });

async function free(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('ratelimit config', () => {
  const { root } = parseConfig(PAGE_CONFIG, 'config.yaml');

  test('a descriptor finds its value\'s limit, else its key\'s; nested descriptors; unknown keys are not limited', () => {
    assert.deepEqual(limitFor(root, [{ key: 'PATH', value: '/productpage' }]), { requestsPerUnit: 1, unit: 'MINUTE' });
    assert.deepEqual(limitFor(root, [{ key: 'PATH', value: 'api' }]), { requestsPerUnit: 2, unit: 'MINUTE' });
    assert.deepEqual(limitFor(root, [{ key: 'PATH', value: '/other' }]), { requestsPerUnit: 100, unit: 'MINUTE' });
    assert.deepEqual(limitFor(root, [{ key: 'tenant', value: 'acme' }, { key: 'PATH', value: '/x' }]), { requestsPerUnit: 5, unit: 'SECOND' });
    assert.equal(limitFor(root, [{ key: 'tenant', value: 'other' }]), undefined);
    assert.equal(limitFor(root, [{ key: 'user', value: 'x' }]), undefined);
  });

  test('mistakes are named with the file and the descriptor', () => {
    assert.throws(() => parseConfig('descriptors: []\n', 'a.yaml'), new ConfigError('a.yaml: the config needs a domain'));
    assert.throws(() => parseConfig('domain: d\ndescriptors:\n  - key: K\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n', 'b.yaml'), /b\.yaml: descriptors\[0\]\.rate_limit\.unit "fortnight" is not one of second, minute, hour, day/);
    assert.throws(() => parseConfig('domain: d\ndescriptors:\n  - key: K\n  - key: K\n', 'c.yaml'), /c\.yaml: descriptors\[1\]: duplicate descriptor K/);
  });

  test('a config directory: every YAML file a domain, dot files ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-config-'));
    try {
      writeFileSync(join(dir, 'config.yaml'), PAGE_CONFIG);
      writeFileSync(join(dir, '.hidden.yaml'), 'not: a config');
      writeFileSync(join(dir, 'other.yml'), 'domain: other\ndescriptors: []\n');
      assert.deepEqual([...loadConfigDir(dir).keys()], ['ratelimit', 'other']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('decisions, in memory, with an injected clock', () => {
  test('the page\'s limits: /productpage 1 a minute, api 2 a minute; the next minute starts a new window', async () => {
    let now = Date.UTC(2026, 0, 1, 10, 0, 5);
    const svc = new RateLimitService(loadFrom(PAGE_CONFIG), new MemoryStore(() => now), () => now);
    const codes = async (req: ShouldRateLimitRequest, n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await svc.shouldRateLimit(req)).overallCode);
      return out;
    };
    assert.deepEqual(await codes(path('/productpage'), 2), ['OK', 'OVER_LIMIT']);
    assert.deepEqual(await codes(path('api'), 3), ['OK', 'OK', 'OVER_LIMIT']);
    const status = (await svc.shouldRateLimit(path('/other'))).statuses[0];
    assert.deepEqual(status, { code: 'OK', currentLimit: { name: '', requestsPerUnit: 100, unit: 'MINUTE' }, limitRemaining: 99, durationUntilReset: { seconds: 55, nanos: 0 } });
    now += 55_000;
    assert.deepEqual(await codes(path('/productpage'), 1), ['OK'], 'a new minute');
  });

  test('quotas: an hourly limit counts across minutes and resets with the hour', async () => {
    let now = Date.UTC(2026, 0, 1, 10, 0, 0);
    const svc = new RateLimitService(loadFrom(PAGE_CONFIG), new MemoryStore(() => now), () => now);
    const seen: string[] = [];
    for (const minute of [0, 10, 20, 30, 59]) {
      now = Date.UTC(2026, 0, 1, 10, minute, 30);
      seen.push((await svc.shouldRateLimit(tenant())).overallCode);
    }
    assert.deepEqual(seen, ['OK', 'OK', 'OK', 'OVER_LIMIT', 'OVER_LIMIT']);
    now = Date.UTC(2026, 0, 1, 11, 0, 1);
    const next = await svc.shouldRateLimit(tenant());
    assert.equal(next.overallCode, 'OK', 'the next hour');
    assert.deepEqual(next.statuses[0]?.durationUntilReset, { seconds: 3599, nanos: 0 });
  });

  test('an unknown domain is an error, a descriptor without a limit is OK', async () => {
    const svc = new RateLimitService(loadFrom(PAGE_CONFIG), new MemoryStore());
    await assert.rejects(svc.shouldRateLimit({ domain: 'nope', descriptors: [] }), /no configuration for domain "nope"/);
    const r = await svc.shouldRateLimit({ domain: 'ratelimit', descriptors: [{ entries: [{ key: 'user', value: 'x' }] }] });
    assert.deepEqual(r.statuses, [{ code: 'OK', currentLimit: null, limitRemaining: 0, durationUntilReset: null }]);
  });
});

function loadFrom(text: string) {
  const { domain, root } = parseConfig(text, 'config.yaml');
  return new Map([[domain, root]]);
}

const redisTool = tool('redis-server');

describe('decisions in a real redis-server', { skip: redisTool.skip }, () => {
  let port: number;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    // Refused connections while redis-server starts are expected; the probe retries.
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    // The clients the tests open: disconnected once redis-server is gone.
    disposer.defer(() => {
      for (const c of clients) c.disconnect();
    });
    port = await free();
    disposer.add(spawn(redisTool.require(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '--appendonly', 'no'], { stdio: 'ignore' }), (r) => stopProcess(r, { signal: 'SIGKILL' }));
    const probe = client();
    for (let i = 0; i < 100; i++) {
      if ((await probe.ping().catch(() => '')) === 'PONG') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail('redis-server did not start');
  }));

  after(() => disposer.drain());

  test('two service replicas share one count per window; each key expires with its window', async () => {
    const now = Date.UTC(2026, 0, 1, 10, 0, 20);
    const a = new RateLimitService(loadFrom(PAGE_CONFIG), new RedisStore(client()), () => now);
    const b = new RateLimitService(loadFrom(PAGE_CONFIG), new RedisStore(client()), () => now);
    const codes = [];
    for (const svc of [a, b, a, b]) codes.push((await svc.shouldRateLimit(path('api'))).overallCode);
    assert.deepEqual(codes, ['OK', 'OK', 'OVER_LIMIT', 'OVER_LIMIT']);
    const windowStart = Math.floor(now / 1000 / 60) * 60;
    const key = `ratelimit_PATH_api_${windowStart}`;
    const c = client();
    assert.equal(await c.get(key), '4');
    const ttl = await c.ttl(key);
    assert.ok(ttl > 0 && ttl <= 60, `the key expires with its minute (ttl ${ttl})`);
  });

  test('through a sidecar\'s CONNECT tunnel: a refused tunnel (Redis not ready yet) is retried, not the end of the client', async () => {
    // A CONNECT proxy standing for the sidecar: 503 twice (no ready endpoint yet), then a tunnel to redis-server.
    let refusals = 2;
    const proxy = http.createServer();
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
      if (refusals > 0) {
        refusals--;
        socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const upstream = net.connect(port, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 OK\r\n\r\n');
        upstream.pipe(socket).pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await new Promise((r) => proxy.once('listening', r));
    const proxyUrl = new URL(`http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`);
    const tunnelled = new Redis({ maxRetriesPerRequest: 5, Connector: tunnelConnector({ host: 'redis', port: 6379, proxy: proxyUrl }) });
    const errors: string[] = [];
    tunnelled.on('error', (e: Error) => errors.push(e.message));
    clients.push(tunnelled);
    try {
      const store = new RedisStore(tunnelled);
      assert.deepEqual(await store.increment([{ key: 'tunnel-test', hits: 1, ttlSeconds: 60 }]), [1]);
      assert.equal(refusals, 0);
      assert.ok(errors.some((e) => /refused CONNECT redis:6379 with status 503/.test(e)), errors.join('; '));
    } finally {
      proxy.close();
    }
  });

  test('quotas in Redis: an hourly limit counts across minutes', async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const svc = new RateLimitService(loadFrom(PAGE_CONFIG), new RedisStore(client()), () => now);
    const seen = [];
    for (const minute of [1, 15, 30, 45]) {
      now = Date.UTC(2026, 0, 1, 12, minute, 0);
      seen.push((await svc.shouldRateLimit(tenant())).overallCode);
    }
    assert.deepEqual(seen, ['OK', 'OK', 'OK', 'OVER_LIMIT']);
  });
});

describe('the service as a process', () => {
  let dir: string;
  let child: ChildProcess | null = null;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rl-svc-'));
  });
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads $RUNTIME_ROOT/$RUNTIME_SUBDIRECTORY/config under SKIFF_POD_ROOT and answers ShouldRateLimit over gRPC', async () => {
    mkdirSync(join(dir, 'data', 'ratelimit', 'config'), { recursive: true });
    writeFileSync(join(dir, 'data', 'ratelimit', 'config', 'config.yaml'), PAGE_CONFIG);
    const [http, grpcPort, debug] = [await free(), await free(), await free()];
    const env = { ...process.env, SKIFF_POD_ROOT: dir, RUNTIME_ROOT: '/data', RUNTIME_SUBDIRECTORY: 'ratelimit', PORT: String(http), PORTS: `${http},${grpcPort},${debug}`, REDIS_URL: '' };
    const proc = spawn(process.execPath, [join(distRoot, 'samples', 'ratelimit', 'src', 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    for (let i = 0; i < 100 && !/gRPC on/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(err, /loaded ratelimit from .*data\/ratelimit\/config/);
    // The proxy's own client, against the sample, through a one-host cluster and its HTTP/2 pool.
    const rls = createCluster({ name: 'outbound|8081||ratelimit.default.svc.cluster.local', protocol: 'http2', endpoints: [{ address: '127.0.0.1', port: grpcPort }] });
    const pool = new Http2ClusterPool(rls, { maxResponseHeaderBytes: 65536 });
    const clients = new RateLimitServiceClientSet({ cluster: (name) => (name === rls.name ? rls : undefined), http2Pool: () => pool });
    const c = clients.clientFor(rls.name, 'ratelimit.default.svc.cluster.local');
    const ask = () => c.shouldRateLimit('ratelimit', [[{ key: 'PATH', value: '/productpage' }]], 5000, new AbortController().signal);
    const first = await ask();
    const second = await ask();
    clients.close();
    pool.destroy();
    rls.close();
    assert.equal(first.overallCode, 'OK');
    assert.equal(second.overallCode, 'OVER_LIMIT');
    assert.deepEqual(second.statuses[0]?.currentLimit, { requestsPerUnit: 1, unit: 'MINUTE' });
    assert.equal(second.statuses[0]?.limitRemaining, 0);
  });
});
