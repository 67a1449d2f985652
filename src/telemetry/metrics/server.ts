/**
 * The metrics endpoint Prometheus scrapes: `GET /stats/prometheus` on the merged-metrics port
 * (Istio's 15020), Prometheus text format 0.0.4; and `GET /stats/istio`, the same standard
 * metrics as JSON (`MetricsDump`), which skiffd reads without parsing text. Off the request path,
 * so plain node:http.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const PROMETHEUS_PATH = '/stats/prometheus';
/** The standard metrics as JSON (`MetricsDump`). */
export const METRICS_DUMP_PATH = '/stats/istio';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Another handler of the port's requests: true when it answered. */
export type StatusPortHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export class MetricsServer {
  private constructor(private readonly server: http.Server) {}

  /**
   * Listens on `address:port` (0 = any free port); rejects with the OS error. `other` may answer
   * other paths of the same port first (the status port's app probes), returning whether it did.
   */
  static async start(port: number, address: string, render: () => string | Promise<string>, dump?: () => unknown, other?: StatusPortHandler): Promise<MetricsServer> {
    const server = http.createServer((req, res) => {
      if (other?.(req, res) === true) return;
      const path = (req.url ?? '/').split('?')[0];
      if (dump !== undefined && path === METRICS_DUMP_PATH && req.method === 'GET') {
        Promise.resolve()
          .then(dump)
          .then(
            (value) => {
              res.writeHead(200, { 'content-type': 'application/json' });
              res.end(JSON.stringify(value));
            },
            (err: unknown) => {
              res.writeHead(500, { 'content-type': 'text/plain' });
              res.end(`cannot dump metrics: ${err instanceof Error ? err.message : String(err)}\n`);
            },
          );
        return;
      }
      if (path !== PROMETHEUS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`not found; metrics are at ${PROMETHEUS_PATH}\n`);
        return;
      }
      Promise.resolve()
        .then(render)
        .then(
          (body) => {
            res.writeHead(200, { 'content-type': CONTENT_TYPE });
            res.end(req.method === 'HEAD' ? undefined : body);
          },
          (err: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(`cannot render metrics: ${err instanceof Error ? err.message : String(err)}\n`);
          },
        );
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Exclusive: under --concurrency the port belongs to one process, never shared through the primary.
      server.listen({ port, host: address, exclusive: true }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    return new MetricsServer(server);
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
