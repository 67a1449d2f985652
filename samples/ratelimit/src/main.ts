/**
 * A rate-limit service speaking Envoy's RLS API (`envoy.service.ratelimit.v3.RateLimitService/
 * ShouldRateLimit` over gRPC), configured as envoyproxy/ratelimit is — `samples/images.yaml` maps
 * that image here, so Istio's `samples/ratelimit/rate-limit-service.yaml` runs unchanged:
 *
 * - configuration: every YAML file of `$RUNTIME_ROOT/$RUNTIME_SUBDIRECTORY/config` (the
 *   `ratelimit-config` ConfigMap mounted there), read under `SKIFF_POD_ROOT` when the local
 *   runtime gives one (`config.ts`);
 * - counters: Redis at `REDIS_URL` (`host:port`, reached through the sidecar as TCP), else memory
 *   (`store.ts`);
 * - ports: HTTP (`/healthcheck`) on `PORT` (8080), gRPC on `GRPC_PORT` (8081), debug on
 *   `DEBUG_PORT` (6070); under the local runtime `PORTS` lists the container's ports as mapped,
 *   in the manifest's order (8080, 8081, 6070).
 */
import http from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { proxyFor } from '../../lib/proxy-env.js';
import { loadConfigDir } from './config.js';
import { RateLimitService } from './service.js';
import { serveRateLimitService } from './grpc-server.js';
import { MemoryStore, RedisStore, type CounterStore } from './store.js';
import { tunnelConnector } from './redis-tunnel.js';

const env = process.env;
const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ratelimit: ${line}\n`);

function ports(): { http: number; grpc: number; debug: number } {
  const mapped = (env.PORTS ?? '').split(',').filter((p) => p !== '').map(Number);
  return {
    http: Number(env.PORT ?? mapped[0] ?? 8080),
    grpc: Number(mapped[1] ?? env.GRPC_PORT ?? 8081),
    debug: Number(mapped[2] ?? env.DEBUG_PORT ?? 6070),
  };
}

function redisStore(url: string): CounterStore {
  const m = /^(?:redis:\/\/)?\[?([^\]]+?)\]?:(\d+)\/?$/.exec(url);
  if (m === null) throw new Error(`REDIS_URL=${url}: expected host:port`);
  const [, host, port] = m;
  const proxy = proxyFor(new URL(`http://${host.includes(':') ? `[${host}]` : host}:${port}`));
  const options = { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2000 };
  const redis = proxy === undefined ? new Redis(Number(port), host, options) : new Redis({ ...options, Connector: tunnelConnector({ host, port: Number(port), proxy }) });
  redis.on('error', (err: Error) => log(`redis: ${err.message}`));
  return new RedisStore(redis);
}

function main(): void {
  const configDir = join(env.SKIFF_POD_ROOT ?? '/', env.RUNTIME_ROOT ?? '/srv/runtime_data/current', env.RUNTIME_SUBDIRECTORY ?? '', 'config');
  const domains = loadConfigDir(configDir);
  log(`loaded ${[...domains.keys()].join(', ') || 'no domains'} from ${configDir}`);
  const store = env.REDIS_URL !== undefined && env.REDIS_URL !== '' ? redisStore(env.REDIS_URL) : new MemoryStore();
  const service = new RateLimitService(domains, store);
  const p = ports();

  // Under the local runtime HOST is the loopback address the runtime keeps apps on (their sidecar
  // is the way in); elsewhere GRPC_HOST, as the original reads it.
  const grpcHost = env.HOST ?? (env.GRPC_HOST === '::' || env.GRPC_HOST === undefined ? '0.0.0.0' : env.GRPC_HOST);
  const grpcServer = serveRateLimitService(service, `${grpcHost}:${p.grpc}`, undefined, (message) => {
    if (env.LOG_LEVEL === 'debug') log(`ShouldRateLimit failed: ${message}`);
  });
  grpcServer.then(
    ({ port }) => log(`gRPC on ${grpcHost}:${port}`),
    (err: Error) => {
      log(`cannot listen on gRPC port ${p.grpc}: ${err.message}`);
      process.exit(1);
    },
  );
  const health = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.url === '/healthcheck' || req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      return;
    }
    res.writeHead(404).end();
  };
  const httpServer = http.createServer(health).listen(p.http, env.HOST, () => log(`HTTP on ${p.http}`));
  const debugServer = http.createServer(health).listen(p.debug, env.HOST);
  const stop = (): void => {
    httpServer.close();
    debugServer.close();
    const closeStore = (): void => void store.close().finally(() => process.exit(0));
    grpcServer.then(({ server }) => server.tryShutdown(closeStore), closeStore);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
