/**
 * The connection phase: its runner on connection descriptions (order, stops, waits, cancels,
 * failures), then on a real proxy — TCP-proxied connections and CONNECT tunnels closed with a FIN
 * or reset with an RST by a connection filter, a filter that waits holding the client's bytes, and
 * a client that leaves while it waits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, echo, eventually, forward, httpListener, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { runConnectionPhase, type ConnectionOutcome } from '../../src/proxy/connection/connection-phase.js';
import { stopConnection, type ConnectionContext, type ConnectionFilter, type ConnectionVerdict } from '../../src/proxy/filters/connection-filter.js';
import { CONTINUE, waitFor } from '../../src/proxy/filters/verdict.js';
import { ResponseFlag, formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { Gate, connection, withListenerFilters } from './filters/helpers.js';
import { Disposer } from '../helpers/disposer.js';

const DENY = stopConnection('close', 'rbac_access_denied_matched_policy[none]');
const STRICT = stopConnection('reset', 'strict_mtls_plaintext_refused');

/** A filter that answers `verdict` at once, recording the contexts it saw. */
function fixed(name: string, verdict: ConnectionVerdict, seen: ConnectionContext[] = []): ConnectionFilter {
  return {
    name,
    decide(conn) {
      seen.push(conn);
      return verdict;
    },
  };
}

interface Outcome {
  outcome: ConnectionOutcome;
  flags: number;
}

/** Runs the phase and collects what `done` hears. */
function run(filters: ConnectionFilter[], conn = connection()): { outcomes: Outcome[]; cancel: (() => void) | null } {
  const outcomes: Outcome[] = [];
  const cancel = runConnectionPhase(conn, filters, outcomes, (o, outcome, flags) => o.push({ outcome, flags }));
  return { outcomes, cancel };
}

describe('connection phase runner', () => {
  test('no filters: a pass-through that answers at once with nothing to cancel', () => {
    const { outcomes, cancel } = run([]);
    assert.equal(cancel, null);
    assert.deepEqual(outcomes, [{ outcome: CONTINUE, flags: 0 }]);
  });

  test('filters run in order until one stops the connection', () => {
    const seen: ConnectionContext[] = [];
    const later: ConnectionContext[] = [];
    const { outcomes } = run([fixed('identity', CONTINUE, seen), fixed('authz', DENY), fixed('limits', CONTINUE, later)]);
    assert.deepEqual(outcomes, [{ outcome: DENY, flags: 0 }]);
    assert.equal(seen.length, 1);
    assert.equal(later.length, 0);
  });

  test('a wait holds the phase; the filters after it run when it resumes', () => {
    const gate = new Gate<ConnectionContext, ConnectionVerdict>();
    const later: ConnectionContext[] = [];
    const { outcomes, cancel } = run([gate, fixed('limits', CONTINUE, later)]);
    assert.notEqual(cancel, null);
    assert.deepEqual(outcomes, []);
    assert.equal(later.length, 0);
    gate.held[0].resume(CONTINUE);
    assert.deepEqual(outcomes, [{ outcome: CONTINUE, flags: 0 }]);
    assert.equal(later.length, 1);
  });

  test('a wait that ends in a stop, and waits that lead to more waits, carry their flags', () => {
    const first = new Gate<ConnectionContext, ConnectionVerdict>();
    const second = new Gate<ConnectionContext, ConnectionVerdict>();
    const flagged: ConnectionFilter = { name: 'slow', decide: () => waitFor<ConnectionVerdict>((resume) => first.decide(connection()).start(resume), ResponseFlag.DI) };
    const { outcomes } = run([flagged]);
    first.held[0].resume(second.decide(connection()));
    assert.deepEqual(outcomes, []);
    second.held[0].resume(STRICT);
    assert.deepEqual(outcomes, [{ outcome: STRICT, flags: ResponseFlag.DI }]);
  });

  test('cancelled while waiting: the filter lets go, and done is never called', () => {
    const gate = new Gate<ConnectionContext, ConnectionVerdict>();
    const { outcomes, cancel } = run([gate]);
    cancel?.();
    assert.equal(gate.held[0].cancelled, true);
    gate.held[0].resume(CONTINUE);
    assert.deepEqual(outcomes, []);
  });

  test('a filter that throws closes the connection, naming the filter', () => {
    const broken: ConnectionFilter = {
      name: 'broken',
      decide() {
        throw new Error('bug');
      },
    };
    const { outcomes } = run([broken, fixed('never', CONTINUE)]);
    assert.deepEqual(outcomes, [{ outcome: { kind: 'close', details: 'filter_failed{broken}', flags: 0 }, flags: 0 }]);
  });
});

interface TcpEcho {
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function startTcpEcho(): Promise<TcpEcho> {
  const sockets = new Set<net.Socket>();
  const echoServer: TcpEcho = { port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((s) => {
    echoServer.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(`echo:${d.toString()}`));
    s.on('end', () => s.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  echoServer.port = (server.address() as net.AddressInfo).port;
  echoServer.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return echoServer;
}

/** How a client's connection ended: what it read, and whether it was reset. */
interface Ending {
  data: string;
  reset: boolean;
}

function ending(s: net.Socket): Promise<Ending> {
  return new Promise((resolve) => {
    let data = '';
    let reset = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    s.on('error', (err: NodeJS.ErrnoException) => (reset ||= err.code === 'ECONNRESET'));
    s.on('close', () => resolve({ data, reset }));
  });
}

describe('connection phase on a proxy', () => {
  let tcpEcho: TcpEcho;
  let http: Backend;
  let proxy: TestProxy;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    tcpEcho = disposer.add(await startTcpEcho(), (r) => r.close());
    http = disposer.add(await startBackend(echo('http')), (r) => r.close());
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [
          httpListener('out', 'routes'),
          { name: 'tcp', address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'echo', weight: 1 }] }] } },
        ],
        routes: [
          routeConfig('routes', [
            { name: 'echo', domains: ['echo:9000'], routes: [forward('echo', 'echo')] },
            { name: 'http', domains: ['*'], routes: [forward('http', 'http')] },
          ]),
        ],
        clusters: [cluster('echo', [tcpEcho.port]), cluster('http', [http.port])],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  const tcp = (filters: ConnectionFilter[]): void => withListenerFilters(proxy.proxy, 'tcp', { connection: filters });
  const out = (filters: ConnectionFilter[]): void => withListenerFilters(proxy.proxy, 'out', { connection: filters });

  /** A client of the TCP listener, and how its connection ends (watched from the start: a reset may come first). */
  function tcpClient(): { s: net.Socket; end: Promise<Ending> } {
    const s = net.connect(proxy.port('tcp'), '127.0.0.1');
    return { s, end: ending(s) };
  }

  test('with no connection filters, TCP proxying is as before', async () => {
    tcp([]);
    const { s, end } = tcpClient();
    s.end('hi');
    assert.equal((await end).data, 'echo:hi');
  });

  test('a filter that closes: a FIN, no upstream connection, the details in the record', async () => {
    const seen: ConnectionContext[] = [];
    tcp([fixed('authz', DENY, seen)]);
    const before = tcpEcho.connections;
    const n = proxy.records.length;
    const { s, end } = tcpClient();
    await once(s, 'connect');
    const clientPort = s.localPort;
    s.write('hello');
    const { data, reset } = await end;
    assert.equal(data, '');
    assert.equal(reset, false, 'closed, not reset');
    assert.equal(tcpEcho.connections, before);
    await eventually(() => proxy.records.length > n, 5000, 'the record');
    assert.equal(proxy.records[n].details, 'rbac_access_denied_matched_policy[none]');
    assert.equal(seen[0].listener, 'tcp');
    assert.equal(seen[0].direction, 'inbound');
    assert.equal(seen[0].localPort, proxy.port('tcp'));
    assert.equal(seen[0].destinationPort, proxy.port('tcp'));
    assert.equal(seen[0].remoteAddress, '127.0.0.1');
    assert.equal(seen[0].remotePort, clientPort);
  });

  test('a filter that resets: the client sees ECONNRESET (curl would exit 56, not 52)', async () => {
    tcp([fixed('peer-authn', STRICT)]);
    const before = tcpEcho.connections;
    const { reset } = await tcpClient().end;
    assert.equal(reset, true);
    assert.equal(tcpEcho.connections, before);
  });

  test('a filter that waits holds the client\'s bytes, then lets them through', async () => {
    const gate = new Gate<ConnectionContext, ConnectionVerdict>();
    tcp([gate]);
    const before = tcpEcho.connections;
    const { s, end } = tcpClient();
    s.write('early');
    await eventually(() => gate.held.length === 1, 5000, 'the connection at the filter');
    assert.equal(tcpEcho.connections, before, 'no upstream connection while the filter waits');
    gate.held[0].resume(CONTINUE);
    await eventually(() => tcpEcho.connections === before + 1, 5000, 'the upstream connection');
    s.end();
    assert.equal((await end).data, 'echo:early');
  });

  test('a client that leaves while a filter waits: the wait is cancelled, the record says DC', async () => {
    const gate = new Gate<ConnectionContext, ConnectionVerdict>();
    tcp([gate]);
    const before = tcpEcho.connections;
    const n = proxy.records.length;
    const { s } = tcpClient();
    await eventually(() => gate.held.length === 1, 5000, 'the connection at the filter');
    // Gone for good (a FIN alone is a half-close: the client may still read an answer).
    s.resetAndDestroy();
    await eventually(() => gate.held[0].cancelled, 5000, 'the wait cancelled');
    gate.held[0].resume(CONTINUE);
    assert.equal(tcpEcho.connections, before, 'a late resume opens nothing');
    await eventually(() => proxy.records.length > n, 5000, 'the record');
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'DC');
    assert.equal(proxy.proxy.stats().get('tcp.tcp.downstream_cx_active') ?? 0, 0);
  });

  async function connect(target: string): Promise<Ending> {
    const s = net.connect(proxy.port('out'), '127.0.0.1');
    const end = ending(s);
    await once(s, 'connect');
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    return end;
  }

  test('a CONNECT tunnel the phase closes: answered 200, then closed, no upstream connection', async () => {
    const seen: ConnectionContext[] = [];
    out([fixed('authz', DENY, seen)]);
    const before = tcpEcho.connections;
    const n = proxy.records.length;
    const { data, reset } = await connect('echo:9000');
    assert.match(data, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(reset, false);
    assert.equal(tcpEcho.connections, before);
    await eventually(() => proxy.records.length > n, 5000, 'the record');
    assert.equal(proxy.records[n].details, 'rbac_access_denied_matched_policy[none]');
    // The tunnel's context: the connection it opened on, going where the CONNECT asked.
    assert.equal(seen[0].listener, 'out');
    assert.equal(seen[0].tunnelTarget, 'echo:9000');
    assert.equal(seen[0].destinationPort, 9000);
    assert.equal(seen[0].localPort, proxy.port('out'));
    out([]);
  });

  test('a CONNECT tunnel the phase resets: an RST and no answer', async () => {
    out([fixed('peer-authn', STRICT)]);
    const before = tcpEcho.connections;
    const { data, reset } = await connect('echo:9000');
    assert.equal(data, '');
    assert.equal(reset, true);
    assert.equal(tcpEcho.connections, before);
    out([]);
  });

  test('a CONNECT tunnel whose filter waits opens when it goes on', async () => {
    const gate = new Gate<ConnectionContext, ConnectionVerdict>();
    out([gate]);
    const s = net.connect(proxy.port('out'), '127.0.0.1');
    await once(s, 'connect');
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.write('CONNECT echo:9000 HTTP/1.1\r\nHost: echo:9000\r\n\r\n');
    await eventually(() => gate.held.length === 1, 5000, 'the tunnel at the filter');
    assert.equal(got, '', 'no answer while the filter waits');
    gate.held[0].resume(CONTINUE);
    await eventually(() => got.includes('\r\n\r\n'), 5000, 'the 200');
    got = '';
    s.write('ping');
    await eventually(() => got === 'echo:ping', 5000, 'the echo');
    s.destroy();
    out([]);
  });
});
