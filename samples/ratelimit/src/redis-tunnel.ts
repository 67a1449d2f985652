/**
 * Reaching Redis through the workload's sidecar: the local runtime has no traffic capture, so an
 * app's TCP connections to mesh services go through HTTP_PROXY as CONNECT tunnels (the sidecar
 * routes them as Istio routes captured TCP). This is an ioredis connector that opens such a
 * tunnel to `host:port` and hands ioredis the socket.
 */
import http from 'node:http';
import { Socket } from 'node:net';
import { AbstractConnector } from 'ioredis';

export interface TunnelOptions {
  host: string;
  port: number;
  proxy: URL;
}

/** Opens `CONNECT host:port` through the proxy. */
export function openTunnel(proxy: URL, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const authority = `${host}:${port}`;
    const req = http.request({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: authority, headers: { host: authority }, agent: false });
    req.on('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`proxy ${proxy.host} refused CONNECT ${authority} with status ${res.statusCode}`));
      }
    });
    req.on('error', reject);
    req.end();
  });
}

/** Builds the connector class ioredis instantiates (its `Connector` option) for one tunnel target. */
export function tunnelConnector(target: TunnelOptions): new (options: unknown) => AbstractConnector {
  return class TunnelConnector extends AbstractConnector {
    constructor() {
      super(2000);
    }

    async connect(): Promise<Socket> {
      this.connecting = true;
      let socket: Socket;
      try {
        socket = await openTunnel(target.proxy, target.host, target.port);
      } catch (err) {
        // A refused tunnel (Redis not ready yet: the sidecar answers 503) must be retried as a
        // refused TCP connect is. ioredis ends a client whose connector rejects, but retries one
        // whose stream arrives already closed, reporting `firstError`.
        this.firstError = err instanceof Error ? err : new Error(String(err));
        socket = new Socket();
        socket.destroy();
      }
      this.stream = socket;
      return socket;
    }
  };
}
