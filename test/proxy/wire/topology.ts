/**
 * The proxies wire tests send through, laid out as in the mesh: a client sidecar (its outbound
 * listener, the app's HTTP_PROXY side), a server sidecar (its inbound listener in front of the
 * app) and an ingress gateway, each with telemetry on (trace context and peer metadata, as every
 * proxy of the local runtime has), all in front of one recording backend.
 *
 * Paths through them: one hop on each listener, and two chained proxies (client sidecar outbound →
 * server sidecar inbound; gateway → server sidecar inbound), chosen by the Host the client sends.
 */
import { Writable } from 'node:stream';
import { SkiffProxy } from '../../../src/proxy/proxy.js';
import type { HttpListenerOptions, ListenerConfig, ProxySnapshot } from '../../../src/snapshot/index.js';
import { ProxyTelemetry } from '../../../src/telemetry/proxy-telemetry.js';
import type { Hop } from './envoy-model.js';
import { startRecordingBackend } from './raw-peers.js';
import type { RecordingBackend, Script } from './raw-peers.js';

/** Host that routes straight to the backend. */
export const DIRECT_HOST = 'backend.default.svc.cluster.local';
/** Host that routes to the server sidecar's inbound listener (outbound and gateway only). */
export const MESH_HOST = 'app.default.svc.cluster.local';

export interface Path {
  name: string;
  /** Listeners the request passes, in order. */
  hops: Hop[];
  port: number;
  host: string;
}

export interface WireTopology {
  backend: RecordingBackend;
  paths: Path[];
  close(): Promise<void>;
}

interface RunningProxy {
  proxy: SkiffProxy;
  telemetry: ProxyTelemetry;
}

async function start(snap: ProxySnapshot): Promise<RunningProxy> {
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const telemetry = new ProxyTelemetry({ accessLogStream: sink });
  const proxy = await SkiffProxy.create({ adminPort: null, healthPort: null, telemetry, drainTimeoutMs: 100 });
  await proxy.applySnapshot(snap);
  return { proxy, telemetry };
}

function listener(name: string, direction: Hop, routeConfig: string, http: Partial<HttpListenerOptions>): ListenerConfig {
  return { name, address: '127.0.0.1', port: 0, direction, protocol: 'http', http: { routeConfig, ...http } };
}

function routeAll(cluster: string): ProxySnapshot['routes'][number]['virtualHosts'][number]['routes'] {
  return [{ name: 'default', match: [], action: { type: 'route', destinations: [{ cluster, weight: 100 }] } }];
}

/** Starts the backend and the three proxies; `http` adds codec settings to every listener. */
export async function startWireTopology(script: Script, http: Partial<HttpListenerOptions> = {}): Promise<WireTopology> {
  const backend = await startRecordingBackend(script);
  // Every service port is `http` (HTTP/1.1 upstream, as Istio sets for a port named http).
  const backendCluster = { name: 'outbound|80||backend.default.svc.cluster.local', protocol: 'http1' as const, endpoints: [{ address: '127.0.0.1', port: backend.port }] };

  const server = await start({
    version: 'server-1',
    node: {
      id: 'sidecar~127.0.0.1~app-v1-7d4b9c8f6-qz2lp.default~default.svc.cluster.local',
      kind: 'sidecar',
      workload: { name: 'app-v1', namespace: 'default', labels: { app: 'app', version: 'v1' }, serviceAccount: 'app' },
    },
    listeners: [listener('inbound', 'inbound', 'inbound|80||', http)],
    routes: [{ name: 'inbound|80||', virtualHosts: [{ name: 'inbound|http|80', domains: ['*'], routes: routeAll('inbound|80||') }] }],
    clusters: [{ name: 'inbound|80||', protocol: 'http1', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
  });
  const inboundPort = server.proxy.listenerAddress('inbound')!.port;
  const meshCluster = { name: 'outbound|80||app.default.svc.cluster.local', protocol: 'http1' as const, endpoints: [{ address: '127.0.0.1', port: inboundPort }] };
  const hosts = (routeConfig: string): ProxySnapshot['routes'][number] => ({
    name: routeConfig,
    virtualHosts: [
      { name: 'backend', domains: [DIRECT_HOST], routes: routeAll(backendCluster.name) },
      { name: 'app', domains: [MESH_HOST], routes: routeAll(meshCluster.name) },
    ],
  });

  const client = await start({
    version: 'client-1',
    node: {
      id: 'sidecar~127.0.0.1~client-v1-5f6d8b7c9-x8k2m.default~default.svc.cluster.local',
      kind: 'sidecar',
      workload: { name: 'client-v1', namespace: 'default', labels: { app: 'client', version: 'v1' }, serviceAccount: 'client' },
    },
    listeners: [listener('outbound', 'outbound', '80', http)],
    routes: [hosts('80')],
    clusters: [backendCluster, meshCluster],
  });
  const gateway = await start({
    version: 'gateway-1',
    node: {
      id: 'router~127.0.0.1~istio-ingressgateway-6b8d7f9c5-m4n7p.istio-system~istio-system.svc.cluster.local',
      kind: 'gateway',
      workload: { name: 'istio-ingressgateway', namespace: 'istio-system', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' }, serviceAccount: 'istio-ingressgateway-service-account' },
    },
    listeners: [listener('gateway', 'gateway', 'http.8080', http)],
    routes: [hosts('http.8080')],
    clusters: [backendCluster, meshCluster],
  });

  const outboundPort = client.proxy.listenerAddress('outbound')!.port;
  const gatewayPort = gateway.proxy.listenerAddress('gateway')!.port;
  const paths: Path[] = [
    { name: 'sidecar outbound', hops: ['outbound'], port: outboundPort, host: DIRECT_HOST },
    { name: 'sidecar inbound', hops: ['inbound'], port: inboundPort, host: MESH_HOST },
    { name: 'gateway', hops: ['gateway'], port: gatewayPort, host: DIRECT_HOST },
    { name: 'sidecar outbound → sidecar inbound', hops: ['outbound', 'inbound'], port: outboundPort, host: MESH_HOST },
    { name: 'gateway → sidecar inbound', hops: ['gateway', 'inbound'], port: gatewayPort, host: MESH_HOST },
  ];
  return {
    backend,
    paths,
    close: async () => {
      for (const p of [client, gateway, server]) {
        await p.proxy.close();
        await p.telemetry.close();
      }
      await backend.close();
    },
  };
}
