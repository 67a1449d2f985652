/**
 * ext-authz: the external authorizer of Istio's `samples/extauthz` (image
 * `registry.istio.io/testing/ext-authz`), its HTTP check service: a request carrying
 * `x-ext-authz: allow` is allowed (200, `x-ext-authz-check-result: allowed`), any other denied
 * (403, `x-ext-authz-check-result: denied`, body ``denied by ext_authz for not found header
 * `x-ext-authz: allow` in the request``). Both answers carry `x-ext-authz-check-received`, what
 * the check saw (method, host, path and headers), as the original does. The ports are the
 * manifest's (HTTP 8000, gRPC 9000): the first of PORTS under the local runtime, else PORT (8000); the
 * gRPC check service is not served here.
 */
import http from 'node:http';
import { exitOnSignals, hostFromEnv } from '../../lib/app-server.js';

const CHECK_HEADER = 'x-ext-authz';
const ALLOWED_VALUE = 'allow';
const RESULT_HEADER = 'x-ext-authz-check-result';
const RECEIVED_HEADER = 'x-ext-authz-check-received';
const OVERRIDE_HEADER = 'x-ext-authz-additional-header-override';
export const DENY_BODY = `denied by ext_authz for not found header \`${CHECK_HEADER}: ${ALLOWED_VALUE}\` in the request`;

function httpPort(): number {
  const first = (process.env.PORTS ?? '').split(',')[0]?.trim();
  const raw = first !== undefined && first !== '' ? first : (process.env.PORT ?? '8000');
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`ext-authz: "${raw}" is not a TCP port\n`);
    process.exit(2);
  }
  return port;
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
server.listen(httpPort(), hostFromEnv(), () => {
  const a = server.address();
  process.stdout.write(`ext-authz HTTP server listening on ${typeof a === 'object' && a !== null ? a.port : ''}\n`);
});

exitOnSignals('ext-authz', (done) => server.close(() => done()));
