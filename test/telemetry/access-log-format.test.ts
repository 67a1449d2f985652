/**
 * Custom access-log formats: Envoy format strings and labels maps parsed (errors named with their
 * position), compiled, and written for finished requests — every operator Skiff prints, absent
 * values as `-` (text) or `null` (JSON), `%%`, `:N` truncation, `REQ(X?Y)` alternatives, strftime
 * start times, the TLS facts read from a real TLS connection, and custom formats on real proxies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { FORMAT_OPERATORS, FormatStringError, JsonFormatError, checkJsonFormat, parseFormatString } from '../../src/api/access-log-format.js';
import { compileJsonFormat, compileTextFormat } from '../../src/telemetry/access-log/compile.js';
import { compileTimeFormat } from '../../src/telemetry/access-log/time-format.js';
import { newRecord } from '../../src/telemetry/request-record.js';
import type { RequestRecord, TlsFacts } from '../../src/telemetry/request-record.js';
import { RequestState } from '../../src/telemetry/request-state.js';
import { SnapshotView } from '../../src/telemetry/snapshot-view.js';
import { ResponseFlag } from '../../src/telemetry/response-flags.js';
import { HeaderList } from '../../src/proxy/http/headers.js';
import { SocketTlsFacts } from '../../src/proxy/tls/tls-facts.js';
import { authority, spiffe } from '../helpers/test-pki.js';
import { get, tcpRoundTrip } from './helpers.js';
import { REVIEWS, startMesh, TCP_ECHO } from './mesh.js';
import type { Mesh } from './mesh.js';
import { eventually } from '../proxy/helpers.js';
import type { Leaf } from '../helpers/test-pki.js';

/** A finished HTTP request with every field a format can print. */
function httpRecord(): RequestRecord {
  const rec = newRecord('http', '0.0.0.0_9080', 'outbound', 'HTTP/1.1', '::ffff:10.0.0.7:51234');
  Object.assign(rec, {
    status: 418,
    details: 'via_upstream',
    method: 'GET',
    authority: 'reviews:9080',
    path: '/status/418?x=1',
    requestId: 'req-1',
    userAgent: 'curl/8.5.0',
    bytesReceived: 12,
    bytesSent: 345,
    startTime: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    durationMs: 42.9,
    upstreamServiceTimeMs: 30,
    upstreamHost: '10.0.0.9:9080',
    upstreamCluster: 'outbound|9080||reviews.default.svc.cluster.local',
    routeName: 'reviews-v1',
    downstreamLocalAddress: '10.0.0.8:9080',
    attempts: 2,
    flags: ResponseFlag.URX,
    serverName: 'outbound_.9080_._.reviews.default.svc.cluster.local',
    connectionId: 17,
    requestCompleteMs: 3.4,
    responseStartMs: 35.2,
  } satisfies Partial<RequestRecord>);
  return rec;
}

function state(): RequestState {
  const st = new RequestState(new SnapshotView({ version: '1', node: { id: 'sidecar~test', kind: 'sidecar' }, listeners: [], routes: [], clusters: [] }));
  st.scheme = 'https';
  st.requestHeadBytes = 120;
  st.responseHeadBytes = 80;
  st.requestHeaders = HeaderList.from([
    ['X-Forwarded-For', '10.1.1.1'],
    ['X-Envoy-Original-Path', '/original?q=1'],
    ['X-Custom', 'a-very-long-value'],
  ]);
  st.responseHeaders = HeaderList.from([['x-envoy-upstream-service-time', '30']]);
  st.responseTrailers = HeaderList.from([['grpc-message', 'done']]);
  return st;
}

function text(format: string, rec: RequestRecord = httpRecord(), st: RequestState | null = state()): string {
  return compileTextFormat(format).line(rec, st);
}

function parseError(format: string): FormatStringError {
  try {
    parseFormatString(format);
  } catch (e) {
    assert.ok(e instanceof FormatStringError, String(e));
    return e;
  }
  assert.fail(`${JSON.stringify(format)} parsed`);
}

describe('access-log format strings: parsing', () => {
  test('literal text, %% and operators with arguments and lengths', () => {
    assert.deepEqual(parseFormatString('100%% [%REQ(X-A?X-B):5%] %DURATION%'), [
      { kind: 'text', text: '100% [' },
      { kind: 'operator', name: 'REQ', arg: 'X-A?X-B', maxLength: 5, at: 7 },
      { kind: 'text', text: '] ' },
      { kind: 'operator', name: 'DURATION', arg: null, maxLength: null, at: 25 },
    ]);
  });

  test('a strftime pattern keeps its own % signs inside the parentheses', () => {
    const [op] = parseFormatString('%START_TIME(%Y-%m-%dT%H:%M:%S%z)%');
    assert.deepEqual(op, { kind: 'operator', name: 'START_TIME', arg: '%Y-%m-%dT%H:%M:%S%z', maxLength: null, at: 0 });
  });

  test('an unknown operator is named with its 1-based position', () => {
    const e = parseError('[%START_TIME%] %DOWNSTREAM_PEER_URI_SANS% x');
    assert.equal(e.position, 16);
    assert.equal(e.message, 'at character 16: unknown command operator %DOWNSTREAM_PEER_URI_SANS%');
  });

  test('malformed operators are named with their position', () => {
    assert.equal(parseError('abc %DURATION').message, 'at character 5: %DURATION is not closed with "%"');
    assert.equal(parseError('%REQ(:PATH%').message, 'at character 1: %REQ( is not closed with ")"');
    assert.equal(parseError('50% off').message, 'at character 3: a lone "%" (write "%%" for a literal percent sign)');
    assert.equal(parseError('%DURATION(x)%').message, 'at character 1: %DURATION% takes no argument');
    assert.equal(parseError(' %REQ%').message, 'at character 2: %REQ(...)% needs an argument');
    assert.equal(parseError('%DURATION:%').message, 'at character 10: ":" after %DURATION must be followed by a length');
    assert.equal(parseError('%REQ(a b)%').message, 'at character 1: "a b" is not a header name (or NAME?ALTERNATIVE)');
    assert.equal(parseError('%GRPC_STATUS(LOUD)%').message, 'at character 1: GRPC_STATUS takes one of CAMEL_STRING, SNAKE_STRING, NUMBER, got "LOUD"');
  });

  test('a labels map names the key of a bad format string', () => {
    assert.throws(
      () => checkJsonFormat({ a: '%DURATION%', peer: { san: '%PEER_SAN%' } }),
      (e: unknown) => e instanceof JsonFormatError && e.key === 'peer.san' && e.message === 'peer.san: at character 1: unknown command operator %PEER_SAN%',
    );
    assert.doesNotThrow(() => checkJsonFormat({ n: 1, b: true, z: null, list: ['%NOT_CHECKED%'] }));
  });

  test('every operator the parser accepts compiles', () => {
    for (const [name, rule] of Object.entries(FORMAT_OPERATORS)) {
      const arg = rule === 'none' ? '' : name === 'GRPC_STATUS' ? '(NUMBER)' : name.startsWith('REQ') || name === 'RESP' || name === 'TRAILER' ? '(x-a)' : rule === 'required' ? '(ns:key)' : '';
      const line = compileTextFormat(`%${name}${arg}%`).line(httpRecord(), state());
      assert.equal(typeof line, 'string', name);
    }
  });
});

describe('access-log format strings: text', () => {
  test('request and response operators', () => {
    assert.equal(
      text('%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %REQ_WITHOUT_QUERY(:PATH)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%'),
      'GET /original?q=1 /status/418 HTTP/1.1 418 URX via_upstream',
    );
    assert.equal(text('%REQ(:AUTHORITY)% %REQ(HOST)% %REQ(:SCHEME)% %REQ(X-REQUEST-ID)% %REQ(USER-AGENT)% %REQ(X-FORWARDED-FOR)%'), 'reviews:9080 reviews:9080 https req-1 curl/8.5.0 10.1.1.1');
    assert.equal(text('%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %TRAILER(GRPC-MESSAGE)% %RESP(x-none)% %REQ(X-NONE?X-ALSO-NONE)%'), '30 done - -');
  });

  test('bytes, durations and connection facts', () => {
    assert.equal(text('%BYTES_RECEIVED% %BYTES_SENT% %REQUEST_HEADERS_BYTES% %RESPONSE_HEADERS_BYTES%'), '12 345 120 80');
    assert.equal(text('%DURATION% %REQUEST_DURATION% %RESPONSE_DURATION% %RESPONSE_TX_DURATION%'), '42 3 35 7');
    assert.equal(
      text('%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%'),
      '10.0.0.7:51234 10.0.0.7:51234 10.0.0.7 51234',
    );
    assert.equal(text('%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%'), '10.0.0.8:9080 10.0.0.8 9080');
    assert.equal(text('%REQUESTED_SERVER_NAME% %CONNECTION_ID% %HOSTNAME%'), `outbound_.9080_._.reviews.default.svc.cluster.local 17 ${hostname()}`);
  });

  test('upstream and route operators', () => {
    assert.equal(
      text('%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %UPSTREAM_CLUSTER_RAW% %ROUTE_NAME% %UPSTREAM_REQUEST_ATTEMPT_COUNT% %UPSTREAM_LOCAL_ADDRESS%'),
      '10.0.0.9:9080 outbound|9080||reviews.default.svc.cluster.local outbound|9080||reviews.default.svc.cluster.local reviews-v1 2 -',
    );
  });

  test('IPv6 addresses keep their brackets, and lose them without the port', () => {
    const rec = httpRecord();
    rec.downstreamRemoteAddress = '::1:40000';
    assert.equal(text('%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', rec), '[::1]:40000 ::1');
  });

  test('absent values print -, a request not yet answered has no response durations', () => {
    const rec = newRecord('http', 'l', 'inbound', 'HTTP/1.1', '');
    rec.requestCompleteMs = -1;
    rec.responseStartMs = -1;
    assert.equal(
      text('%REQ(:METHOD)% %UPSTREAM_HOST% %ROUTE_NAME% %REQUEST_DURATION% %RESPONSE_DURATION% %RESPONSE_TX_DURATION% %REQUESTED_SERVER_NAME% %DOWNSTREAM_REMOTE_ADDRESS%', rec, null),
      '- - - - - - - -',
    );
  });

  test('TLS operators print - on a plaintext connection', () => {
    const ops = [
      'DOWNSTREAM_PEER_URI_SAN', 'DOWNSTREAM_LOCAL_URI_SAN', 'DOWNSTREAM_PEER_SUBJECT', 'DOWNSTREAM_LOCAL_SUBJECT', 'DOWNSTREAM_PEER_ISSUER',
      'DOWNSTREAM_TLS_VERSION', 'DOWNSTREAM_TLS_CIPHER', 'DOWNSTREAM_PEER_FINGERPRINT_256', 'DOWNSTREAM_PEER_SERIAL', 'DOWNSTREAM_PEER_CERT_V_START',
      'DOWNSTREAM_PEER_CERT_V_END', 'UPSTREAM_PEER_URI_SAN', 'UPSTREAM_PEER_SUBJECT', 'UPSTREAM_TLS_VERSION', 'UPSTREAM_TLS_CIPHER',
    ];
    assert.equal(text(ops.map((o) => `%${o}%`).join(' ')), ops.map(() => '-').join(' '));
  });

  test(':N cuts a value to N characters; %% is a percent sign', () => {
    assert.equal(text('%REQ(X-CUSTOM):6%|%UPSTREAM_CLUSTER:8%|%RESPONSE_CODE:1%|100%%'), 'a-very|outbound|4|100%');
  });

  test('gRPC status in its three forms', () => {
    const st = state();
    st.grpcStatus = '14';
    assert.equal(text('%GRPC_STATUS% %GRPC_STATUS(SNAKE_STRING)% %GRPC_STATUS(NUMBER)% %GRPC_STATUS_NUMBER%', httpRecord(), st), 'Unavailable UNAVAILABLE 14 14');
    assert.equal(text('%GRPC_STATUS%'), '-');
  });

  test('metadata Skiff keeps: the access-log hint of an AUDIT rule; other keys print -', () => {
    const rec = httpRecord();
    assert.equal(text('%DYNAMIC_METADATA(envoy.common:access_log_hint)% %FILTER_STATE(x)%', rec), '- -');
    rec.authz = { audit: 'ns[foo]-policy[audit]-rule[0]' };
    assert.equal(text('%DYNAMIC_METADATA(envoy.common:access_log_hint)% %DYNAMIC_METADATA(istio.mixer:x)%', rec), 'true -');
  });

  test('TCP connections: no HTTP fields, the SNI as the requested server name, the transport failure', () => {
    const rec = newRecord('tcp', 'l', 'outbound', 'tcp', '127.0.0.1:5000');
    rec.authority = 'example.com';
    rec.details = 'upstream_connect_error: delayed connect error: 111';
    rec.bytesReceived = 5;
    assert.equal(
      text('%REQ(:METHOD)% %PROTOCOL% %RESPONSE_CODE% %REQUESTED_SERVER_NAME% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %RESPONSE_CODE_DETAILS% %BYTES_RECEIVED%', rec, null),
      '- - 0 example.com "delayed connect error: 111" - 5',
    );
  });
});

describe('access-log format strings: start times', () => {
  const at = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

  test('the default is ISO 8601 to the millisecond', () => {
    assert.equal(text('%START_TIME%'), '2024-01-02T03:04:05.678Z');
  });

  test('strftime conversions in UTC, fractions by digit count', () => {
    assert.equal(text('%START_TIME(%Y/%m/%d %H:%M:%S.%3f %z)%'), '2024/01/02 03:04:05.678 +0000');
    assert.equal(compileTimeFormat('%s|%f|%1f|%6f|%j|%a %b %e|%F %T|%%|%Q')(at), `${Math.floor(at / 1000)}|678000000|6|678000|002|Tue Jan  2|2024-01-02 03:04:05|%|%Q`);
  });
});

describe('access-log format strings: JSON', () => {
  test('a value that is one operator keeps its type; absent values are null; mixed strings are strings', () => {
    const line = compileJsonFormat({
      code: '%RESPONSE_CODE%',
      method: '%REQ(:METHOD)%',
      missing: '%UPSTREAM_LOCAL_ADDRESS%',
      mixed: '%REQ(:METHOD)% %UPSTREAM_LOCAL_ADDRESS%',
      fixed: 'skiff',
      num: 7,
      flag: false,
      nested: { peer: '%DOWNSTREAM_PEER_URI_SAN%', bytes: '%BYTES_SENT%' },
    }).line(httpRecord(), state());
    assert.ok(line.endsWith('}\n'));
    assert.deepEqual(JSON.parse(line), {
      code: 418,
      method: 'GET',
      missing: null,
      mixed: 'GET -',
      fixed: 'skiff',
      num: 7,
      flag: false,
      nested: { peer: null, bytes: 345 },
    });
  });

  test('values are escaped as JSON strings', () => {
    const st = state();
    st.requestHeaders = HeaderList.from([['x-q', 'say "hi"\\']]);
    assert.deepEqual(JSON.parse(compileJsonFormat({ q: '%REQ(X-Q)%', cut: '%REQ(X-Q):4%' }).line(httpRecord(), st)), { q: 'say "hi"\\', cut: 'say ' });
  });
});

describe('access-log format strings: headers kept only when printed', () => {
  test('a format says which header lists it needs', () => {
    assert.deepEqual(compileTextFormat('%REQ(:PATH)% %REQ(USER-AGENT)% %DURATION%\n').needs, { requestHeaders: false, responseHeaders: false, responseTrailers: false });
    assert.deepEqual(compileTextFormat('%REQ(X-A)%').needs, { requestHeaders: true, responseHeaders: false, responseTrailers: false });
    assert.deepEqual(compileJsonFormat({ a: { b: '%RESP(X-A)% %TRAILER(X-B)%' } }).needs, { requestHeaders: false, responseHeaders: true, responseTrailers: true });
  });
});

describe('TLS facts of a real connection', () => {
  let serverLeaf: Leaf;
  let clientLeaf: Leaf;
  let caCert: string;
  let server: tls.Server;
  let serverFacts: Promise<TlsFacts>;
  let clientFacts: TlsFacts;
  let client: tls.TLSSocket;

  before(async () => {
    const ca = authority('access-log');
    caCert = ca.cert;
    serverLeaf = ca.issue('httpbin', [`URI:${spiffe('default', 'httpbin')}`]);
    clientLeaf = ca.issue('sleep', [`URI:${spiffe('default', 'sleep')}`, 'DNS:sleep.default']);
    let resolveFacts: (f: TlsFacts) => void = () => {};
    serverFacts = new Promise((resolve) => (resolveFacts = resolve));
    server = tls.createServer({ cert: serverLeaf.cert, key: serverLeaf.key, ca: caCert, requestCert: true, rejectUnauthorized: true }, (s) => {
      resolveFacts(new SocketTlsFacts(s));
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    client = tls.connect({ port, host: '127.0.0.1', cert: clientLeaf.cert, key: clientLeaf.key, ca: caCert, checkServerIdentity: () => undefined });
    await new Promise<void>((resolve, reject) => client.once('secureConnect', resolve).once('error', reject));
    clientFacts = new SocketTlsFacts(client);
  });

  after(async () => {
    client?.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  test('the downstream side: version, cipher, both certificates', async () => {
    const facts = await serverFacts;
    const rec = httpRecord();
    rec.downstreamTls = facts;
    const peer = new X509Certificate(clientLeaf.cert);
    assert.equal(
      text('%DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_LOCAL_URI_SAN% %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER%', rec),
      `${spiffe('default', 'sleep')} ${spiffe('default', 'httpbin')} TLSv1.3 TLS_AES_256_GCM_SHA384`,
    );
    assert.equal(text('%DOWNSTREAM_PEER_SUBJECT%|%DOWNSTREAM_PEER_ISSUER%|%DOWNSTREAM_LOCAL_SUBJECT%', rec), 'O=skiff-test|CN=access-log,O=skiff-test|O=skiff-test');
    assert.equal(text('%DOWNSTREAM_PEER_FINGERPRINT_256%', rec), peer.fingerprint256.replaceAll(':', '').toLowerCase());
    assert.equal(text('%DOWNSTREAM_PEER_SERIAL%', rec), clientLeaf.serial.toLowerCase());
    assert.equal(text('%DOWNSTREAM_PEER_CERT_V_START% %DOWNSTREAM_PEER_CERT_V_END(%s)%', rec), `${new Date(peer.validFrom).toISOString()} ${Math.floor(Date.parse(peer.validTo) / 1000)}`);
  });

  test('the upstream side: the server the proxy connected to', () => {
    const rec = httpRecord();
    rec.upstreamTls = clientFacts;
    assert.equal(text('%UPSTREAM_PEER_URI_SAN% %UPSTREAM_PEER_SUBJECT% %UPSTREAM_TLS_VERSION% %UPSTREAM_TLS_CIPHER%', rec), `${spiffe('default', 'httpbin')} O=skiff-test TLSv1.3 TLS_AES_256_GCM_SHA384`);
  });

  test('a certificate with two names prints them comma-joined', async () => {
    const rec = httpRecord();
    rec.downstreamTls = await serverFacts;
    assert.equal(text('%DOWNSTREAM_PEER_DNS_SAN%', rec), 'sleep.default');
    assert.deepEqual(JSON.parse(compileJsonFormat({ peer: '%DOWNSTREAM_PEER_URI_SAN%' }).line(rec, null)), { peer: spiffe('default', 'sleep') });
  });
});

describe('custom formats on real proxies', () => {
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh({
      clientTelemetry: { accessLog: { text: 'probe=%REQ(X-PROBE)% code=%RESPONSE_CODE% answer=%RESP(X-ANSWER)% cluster=%UPSTREAM_CLUSTER% sni=%REQUESTED_SERVER_NAME% conn=%CONNECTION_ID%' } },
      serverTelemetry: { accessLog: { labels: { probe: '%REQ(X-PROBE)%', code: '%RESPONSE_CODE%', peer: '%DOWNSTREAM_PEER_URI_SAN%', bytes: '%BYTES_RECEIVED%' } } },
      app: (_req, res) => {
        res.writeHead(200, { 'x-answer': 'forty-two' });
        res.end('ok');
      },
    });
  });

  after(async () => {
    await mesh?.close();
  });

  test('the client prints its format string (a newline added), headers as forwarded and answered', async () => {
    assert.equal((await get(mesh.client.port('outbound-http'), '/', { host: 'reviews:9080', 'x-probe': 'custom-1' })).status, 200);
    await eventually(() => mesh.client.log.lines.some((l) => l.startsWith('probe=custom-1 ')), 5000, 'the client line');
    const line = mesh.client.log.lines.find((l) => l.startsWith('probe=custom-1 '));
    assert.match(line ?? '', new RegExp(`^probe=custom-1 code=200 answer=forty-two cluster=${REVIEWS.replaceAll('|', '\\|')} sni=- conn=\\d+$`));
  });

  test('the server prints JSON lines with typed values', async () => {
    await eventually(() => mesh.server.log.lines.some((l) => l.includes('"custom-1"')), 5000, 'the server line');
    const line = mesh.server.log.lines.find((l) => l.includes('"custom-1"'));
    assert.deepEqual(JSON.parse(line ?? ''), { probe: 'custom-1', code: 200, peer: null, bytes: 0 });
  });

  test('TCP connections print the HTTP fields as -', async () => {
    const before = mesh.client.log.lines.length;
    assert.equal(await tcpRoundTrip(mesh.client.port('outbound-tcp'), 'hello tcp'), 'hello tcp');
    await eventually(() => mesh.client.log.lines.slice(before).some((l) => l.includes(TCP_ECHO)), 5000, 'the TCP line');
    assert.match(mesh.client.log.lines.slice(before).find((l) => l.includes(TCP_ECHO)) ?? '', /^probe=- code=0 answer=- cluster=\S+ sni=- conn=\d+$/);
  });

  test('a snapshot without the custom format brings the default format back', async () => {
    await mesh.client.proxy.applySnapshot({ ...mesh.clientSnapshot, version: 'client-2', telemetry: { accessLog: { enabled: true } } });
    assert.equal((await get(mesh.client.port('outbound-http'), '/', { host: 'reviews:9080', 'x-request-id': 'default-again' })).status, 200);
    await eventually(() => mesh.client.log.lines.some((l) => l.includes('"default-again"')), 5000, 'the default line');
    assert.match(mesh.client.log.lines.find((l) => l.includes('"default-again"')) ?? '', /^\[\S+\] "GET \/ HTTP\/1\.1" 200 /);
  });
});
