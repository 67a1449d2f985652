/**
 * ext-authz: the external authorizer of Istio's `samples/extauthz` (image
 * `registry.istio.io/testing/ext-authz`), its two check services as the Go original has them.
 * - HTTP: a request carrying `x-ext-authz: allow` is allowed (200, `x-ext-authz-check-result:
 *   allowed`), any other denied (403, `x-ext-authz-check-result: denied`, body ``denied by
 *   ext_authz for not found header `x-ext-authz: allow` in the request``). Both answers carry
 *   `x-ext-authz-check-received`, what the check saw (method, host, path and headers).
 * - gRPC: Envoy's `envoy.service.auth.v3.Authorization/Check` with the same rule and texts
 *   (`grpc-server.ts`); without the header, the source principal's service account decides
 *   (`-allow_service_account`, default `a`).
 * The ports are the manifest's (HTTP 8000, gRPC 9000): under the local runtime the first and
 * second of PORTS, else PORT (8000) and GRPC_PORT (9000).
 */
import http from 'node:http';
import { exitOnSignals, hostFromEnv } from '../../lib/app-server.js';
import { ALLOWED_VALUE, CHECK_HEADER, DENY_BODY, OVERRIDE_HEADER, RECEIVED_HEADER, RESULT_HEADER, serveCheck } from './grpc-server.js';

function port(raw: string): number {
  const port = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`ext-authz: "${raw}" is not a TCP port\n`);
    process.exit(2);
  }
  return port;
}

/** The ports as mapped by the local runtime (PORTS), else PORT and GRPC_PORT, else the manifest's. */
function ports(): { http: number; grpc: number } {
  const mapped = (process.env.PORTS ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  return { http: port(mapped[0] ?? process.env.PORT ?? '8000'), grpc: port(mapped[1] ?? process.env.GRPC_PORT ?? '9000') };
}

/** Go's flag syntax for the one flag the original takes: `-allow_service_account=NAME` or `-allow_service_account NAME`. */
function allowServiceAccount(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const m = /^--?allow_service_account(?:=(.*))?$/.exec(args[i]);
    if (m !== null) return m[1] ?? args[i + 1] ?? '';
  }
  return 'a';
}

/** What the check saw, one line as the original prints it. */
function received(req: http.IncomingMessage): string {
  const headers = Object.entries(req.headers).map(([k, v]) => `${k}:${Array.isArray(v) ? v.join(',') : (v ?? '')}`);
  return `${req.method ?? ''} ${req.headers.host ?? ''}${req.url ?? ''}, headers:map[${headers.join(' ')}], body:[]`;
}

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const allowed = req.headers[CHECK_HEADER] === ALLOWED_VALUE;
    process.stdout.write(`[HTTP][${allowed ? 'allowed' : 'denied'}]: ${received(req)}\n`);
    res.setHeader(RECEIVED_HEADER, received(req).replace(/[^\t\x20-\x7e]/g, '?'));
    const override = req.headers[OVERRIDE_HEADER];
    if (typeof override === 'string') res.setHeader(OVERRIDE_HEADER, override);
    if (allowed) {
      res.setHeader(RESULT_HEADER, 'allowed');
      res.writeHead(200).end();
    } else {
      res.setHeader(RESULT_HEADER, 'denied');
      res.writeHead(403, { 'content-type': 'text/plain' }).end(DENY_BODY);
    }
  });
});
server.on('error', (err) => {
  process.stderr.write(`ext-authz: ${err.message}\n`);
  process.exit(1);
});
const { http: httpPort, grpc: grpcPort } = ports();
const host = hostFromEnv();
server.listen(httpPort, host, () => {
  const a = server.address();
  process.stdout.write(`ext-authz HTTP server listening on ${typeof a === 'object' && a !== null ? a.port : ''}\n`);
});
const grpcServer = serveCheck(`${host ?? '0.0.0.0'}:${grpcPort}`, allowServiceAccount(process.argv.slice(2)), (line) => process.stdout.write(`${line}\n`)).then(
  ({ server: s, port: p }) => {
    process.stdout.write(`ext-authz gRPC server listening on ${p}\n`);
    return s;
  },
  (err: unknown) => {
    process.stderr.write(`ext-authz: gRPC server on port ${grpcPort}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

exitOnSignals('ext-authz', (done) => {
  void grpcServer.then((g) => g.forceShutdown());
  server.close(() => done());
});
