/**
 * Access logs as Istio users read them: Envoy's default text format field by field on the client
 * sidecar, Istio's JSON encoding on the server sidecar, TCP connections logged too, and logging
 * switched by the snapshot's telemetry section.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JSON_KEYS } from '../../src/telemetry/access-log/format.js';
import { get, tcpRoundTrip } from './helpers.js';
import { REVIEWS, startMesh, TCP_ECHO } from './mesh.js';
import type { Mesh } from './mesh.js';
import { eventually } from '../proxy/helpers.js';

/** Envoy's default format, one capture group per field. */
const TEXT_LINE = new RegExp(
  [
    String.raw`^\[(?<start>[^\]]+)\]`,
    String.raw`"(?<method>\S+) (?<path>\S+) (?<protocol>\S+)"`,
    String.raw`(?<code>\d+)`,
    String.raw`(?<flags>\S+)`,
    String.raw`(?<details>\S+)`,
    String.raw`(?<termination>\S+)`,
    String.raw`"(?<transport>[^"]*)"`,
    String.raw`(?<received>\d+)`,
    String.raw`(?<sent>\d+)`,
    String.raw`(?<duration>\d+)`,
    String.raw`(?<serviceTime>\S+)`,
    String.raw`"(?<xff>[^"]*)"`,
    String.raw`"(?<ua>[^"]*)"`,
    String.raw`"(?<requestId>[^"]*)"`,
    String.raw`"(?<authority>[^"]*)"`,
    String.raw`"(?<upstreamHost>[^"]*)"`,
    String.raw`(?<cluster>\S+)`,
    String.raw`(?<upstreamLocal>\S+)`,
    String.raw`(?<downstreamLocal>\S+)`,
    String.raw`(?<downstreamRemote>\S+)`,
    String.raw`(?<sni>\S+)`,
    String.raw`(?<route>\S+)$`,
  ].join(' '),
);

function fields(line: string): Record<string, string> {
  const m = TEXT_LINE.exec(line);
  assert.ok(m?.groups, `not Envoy's default format: ${line}`);
  return m.groups;
}

describe('access logs', () => {
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh({
      clientTelemetry: { accessLog: { enabled: true } },
      serverTelemetry: { accessLog: { format: 'json' } },
      app: (req, res) => {
        if (req.url === '/status/418') {
          res.writeHead(418, { 'x-more-info': 'http://tools.ietf.org/html/rfc2324' });
          res.end("I'm a teapot!");
          return;
        }
        res.writeHead(200);
        res.end('ok');
      },
    });
  });

  after(async () => {
    await mesh?.close();
  });

  test('the client sidecar writes one text line per request, fields in Envoy order', async () => {
    const before = mesh.client.log.lines.length;
    const res = await get(mesh.client.port('outbound-http'), '/status/418', { host: 'reviews:9080', 'user-agent': 'curl/8.5.0', 'x-request-id': 'access-log-1' });
    assert.equal(res.status, 418);
    await eventually(() => mesh.client.log.lines.length > before, 5000, 'the log line');
    const lines = mesh.client.log.lines.slice(before);
    assert.equal(lines.length, 1);
    const f = fields(lines[0]);
    assert.ok(!Number.isNaN(Date.parse(f.start)) && f.start.endsWith('Z'), f.start);
    assert.equal(f.method, 'GET');
    assert.equal(f.path, '/status/418');
    assert.equal(f.protocol, 'HTTP/1.1');
    assert.equal(f.code, '418');
    assert.equal(f.flags, '-');
    assert.equal(f.details, 'via_upstream');
    assert.equal(f.termination, '-');
    assert.equal(f.transport, '-');
    assert.equal(f.received, '0');
    assert.equal(f.sent, String("I'm a teapot!".length));
    assert.match(f.serviceTime, /^\d+$/);
    assert.equal(f.ua, 'curl/8.5.0');
    assert.equal(f.requestId, 'access-log-1');
    assert.equal(f.authority, 'reviews:9080');
    assert.equal(f.upstreamHost, `127.0.0.1:${mesh.server.port('inbound-http')}`);
    assert.equal(f.cluster, REVIEWS);
    assert.equal(f.upstreamLocal, '-');
    assert.equal(f.downstreamLocal, `127.0.0.1:${mesh.client.port('outbound-http')}`);
    assert.match(f.downstreamRemote, /^127\.0\.0\.1:\d+$/);
    assert.equal(f.sni, '-');
    assert.equal(f.route, 'default');
  });

  test('the server sidecar writes the same request as JSON with Istio keys', async () => {
    await eventually(() => mesh.server.log.lines.some((l) => l.includes('access-log-1')), 5000, 'the JSON line');
    const line = mesh.server.log.lines.find((l) => l.includes('access-log-1'))!;
    const o = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o), [...JSON_KEYS]);
    assert.equal(o.method, 'GET');
    assert.equal(o.path, '/status/418');
    assert.equal(o.protocol, 'HTTP/1.1');
    assert.equal(o.response_code, 418);
    assert.equal(o.response_flags, '-');
    assert.equal(o.response_code_details, 'via_upstream');
    assert.equal(o.bytes_sent, 13);
    assert.equal(o.bytes_received, 0);
    assert.equal(typeof o.duration, 'number');
    assert.match(String(o.upstream_service_time), /^\d+$/);
    assert.equal(o.user_agent, 'curl/8.5.0');
    assert.equal(o.request_id, 'access-log-1');
    assert.equal(o.authority, 'reviews:9080');
    assert.equal(o.upstream_cluster, 'inbound|9080||');
    assert.equal(o.connection_termination_details, null);
    assert.equal(o.requested_server_name, null);
    assert.equal(o.route_name, 'default');
  });

  test('local replies log their flags and details', async () => {
    const before = mesh.client.log.lines.length;
    const res = await get(mesh.client.port('outbound-http'), '/ratings/0', { host: 'ratings:9080' });
    assert.equal(res.status, 500);
    await eventually(() => mesh.client.log.lines.length > before, 5000, 'the log line');
    const f = fields(mesh.client.log.lines[before]);
    assert.equal(f.code, '500');
    assert.equal(f.flags, 'FI');
    assert.equal(f.details, 'fault_filter_abort');
    assert.equal(f.serviceTime, '-');
    assert.equal(f.upstreamHost, '-');
    assert.equal(f.cluster, '-');
    assert.equal(f.route, 'ratings-abort');
    assert.equal(f.ua, '-');
  });

  test('TCP connections are logged with their byte counts', async () => {
    const before = mesh.client.log.lines.length;
    assert.equal(await tcpRoundTrip(mesh.client.port('outbound-tcp'), 'hello tcp'), 'hello tcp');
    await eventually(() => mesh.client.log.lines.length > before, 5000, 'the TCP log line');
    const f = fields(mesh.client.log.lines[before]);
    assert.equal(`${f.method} ${f.path} ${f.protocol}`, '- - -');
    assert.equal(f.code, '0');
    assert.equal(f.flags, '-');
    assert.equal(f.received, '9');
    assert.equal(f.sent, '9');
    assert.equal(f.serviceTime, '-');
    assert.equal(f.upstreamHost, `127.0.0.1:${mesh.server.port('inbound-tcp')}`);
    assert.equal(f.cluster, TCP_ECHO);
    assert.equal(f.route, '-');
    await eventually(() => mesh.server.log.lines.some((l) => (JSON.parse(l) as { upstream_cluster: string }).upstream_cluster === 'inbound|9000||'), 5000, 'the server TCP line');
  });

  test('a snapshot without the access log section turns logging off', async () => {
    const snap = { ...mesh.clientSnapshot, version: 'client-2', telemetry: { accessLog: { enabled: false } } };
    await mesh.client.proxy.applySnapshot(snap);
    const before = mesh.client.log.lines.length;
    assert.equal((await get(mesh.client.port('outbound-http'), '/', { host: 'reviews:9080' })).status, 200);
    // The server sidecar still logs, so its line shows the request is done and flushed.
    await eventually(() => mesh.server.log.lines.some((l) => l.includes('"path":"/"')), 5000, 'the server line');
    await mesh.client.telemetry.flush();
    assert.equal(mesh.client.log.lines.length, before);
    // TCP connections too: the server's TCP line shows the connection is closed and recorded.
    const serverTcpLines = (): number => mesh.server.log.lines.filter((l) => (JSON.parse(l) as { upstream_cluster: string }).upstream_cluster === 'inbound|9000||').length;
    const serverTcpBefore = serverTcpLines();
    assert.equal(await tcpRoundTrip(mesh.client.port('outbound-tcp'), 'quiet tcp'), 'quiet tcp');
    await eventually(() => serverTcpLines() > serverTcpBefore, 5000, 'the server TCP line');
    await mesh.client.telemetry.flush();
    assert.deepEqual(mesh.client.log.lines.slice(before), [], 'no client line for the TCP connection');
  });
});

describe('access log default', () => {
  test('no telemetry section and no flag: nothing is logged', async () => {
    const mesh = await startMesh();
    try {
      assert.equal((await get(mesh.client.port('outbound-http'), '/', { host: 'reviews:9080' })).status, 200);
      await mesh.client.telemetry.flush();
      await mesh.server.telemetry.flush();
      assert.deepEqual(mesh.client.log.lines, []);
      assert.deepEqual(mesh.server.log.lines, []);
    } finally {
      await mesh.close();
    }
  });
});
