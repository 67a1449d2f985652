/**
 * A real gRPC client and server (@grpc/grpc-js, h2c) talking through the proxy's outbound
 * listener: what a gRPC application sees — messages, initial and trailing metadata, status codes
 * and details, bidi streams, the proxy's own errors, and deadlines that cancel the upstream call.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { cluster, eventually, forward, httpListener, routeConfig, snapshot, startProxy } from './helpers.js';
import type { TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { Disposer } from '../helpers/disposer.js';

const identity = (b: Buffer): Buffer => b;
const method = (name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/skiff.test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const SERVICE: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  Denied: method('Denied', false, false),
  Slow: method('Slow', false, false),
  Bidi: method('Bidi', true, true),
};

interface Outcome {
  error: grpc.ServiceError | null;
  value: Buffer | undefined;
  headers: grpc.Metadata | null;
  trailers: grpc.Metadata | null;
}

describe('gRPC interop (grpc-js client and server through the proxy)', () => {
  let server: grpc.Server;
  let proxy: TestProxy;
  let slowCancelled = 0;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    server = disposer.add(new grpc.Server(), (s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve())));
    server.addService(SERVICE, {
      Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const md = new grpc.Metadata();
        md.set('x-backend', 'grpc-js');
        call.sendMetadata(md);
        const trailers = new grpc.Metadata();
        trailers.set('x-trailer', `seen ${String(call.metadata.get('x-user')[0] ?? '')}`);
        cb(null, Buffer.from(`echo:${call.request.toString()}`), trailers);
      },
      Denied: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const md = new grpc.Metadata();
        md.set('x-reason', 'policy');
        cb({ code: grpc.status.PERMISSION_DENIED, details: 'not for you', metadata: md });
      },
      Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const timer = setTimeout(() => cb(null, Buffer.from('late')), 5000);
        call.on('cancelled', () => {
          slowCancelled++;
          clearTimeout(timer);
        });
      },
      Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (m: Buffer) => call.write(Buffer.from(`echo:${m.toString()}`)));
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
    );
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [
          routeConfig('routes', [
            { name: 'echo', domains: ['echo.grpc:50051'], routes: [forward('echo', 'outbound|50051||echo')] },
            { name: 'empty', domains: ['empty.grpc:50051'], routes: [forward('empty', 'outbound|50051||empty')] },
            { name: 'fault', domains: ['fault.grpc:50051'], routes: [forward('fault', 'outbound|50051||echo', { fault: { abort: { grpcStatus: 'NOT_FOUND', percent: 100 } } })] },
          ]),
        ],
        clusters: [cluster('outbound|50051||echo', [port], { protocol: 'http2' }), cluster('outbound|50051||empty', [], { protocol: 'http2' })],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  /** A client that dials the proxy and names `authority` as the service it wants. */
  const clientFor = (authority: string): grpc.Client => {
    const c = new grpc.Client(`127.0.0.1:${proxy.port('out')}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });
    disposer.add(c, (client) => client.close());
    return c;
  };

  const unary = (c: grpc.Client, name: string, body: string, md = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<Outcome> =>
    new Promise((resolve) => {
      const out: Outcome = { error: null, value: undefined, headers: null, trailers: null };
      const call = c.makeUnaryRequest(`/skiff.test.Echo/${name}`, identity, identity, Buffer.from(body), md, options, (err, value) => {
        out.error = err;
        out.value = value;
      });
      call.on('metadata', (m: grpc.Metadata) => (out.headers = m));
      call.on('status', (s: grpc.StatusObject) => {
        out.trailers = s.metadata;
        // The callback runs before 'status'; resolve once both are in.
        setImmediate(() => resolve(out));
      });
    });

  test('a unary call keeps its message, initial metadata and trailing metadata', async () => {
    const md = new grpc.Metadata();
    md.set('x-user', 'alice');
    const r = await unary(clientFor('echo.grpc:50051'), 'Unary', 'hi', md);
    assert.equal(r.error, null);
    assert.equal(r.value?.toString(), 'echo:hi');
    assert.deepEqual(r.headers?.get('x-backend'), ['grpc-js']);
    assert.deepEqual(r.trailers?.get('x-trailer'), ['seen alice']);
  });

  test('an error status with details and metadata reaches the client unchanged', async () => {
    const r = await unary(clientFor('echo.grpc:50051'), 'Denied', 'x');
    assert.equal(r.error?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(r.error?.details, 'not for you');
    assert.deepEqual(r.error?.metadata.get('x-reason'), ['policy']);
  });

  test('a bidi stream echoes message by message', async () => {
    const call = clientFor('echo.grpc:50051').makeBidiStreamRequest('/skiff.test.Echo/Bidi', identity, identity);
    const got: string[] = [];
    call.on('data', (m: Buffer) => got.push(m.toString()));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    for (const m of ['one', 'two', 'three']) {
      const n = got.length;
      call.write(Buffer.from(m));
      await eventually(() => got.length > n, 5000, `the echo of ${m}`);
    }
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.deepEqual(got, ['echo:one', 'echo:two', 'echo:three']);
  });

  test('no healthy upstream: the client sees UNAVAILABLE "no healthy upstream"', async () => {
    const r = await unary(clientFor('empty.grpc:50051'), 'Unary', 'x');
    assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(r.error?.details, 'no healthy upstream');
  });

  test('a fault abort with grpcStatus NOT_FOUND: the client sees NOT_FOUND "fault filter abort"', async () => {
    const r = await unary(clientFor('fault.grpc:50051'), 'Unary', 'x');
    assert.equal(r.error?.code, grpc.status.NOT_FOUND);
    assert.equal(r.error?.details, 'fault filter abort');
  });

  test('a client deadline cancels the call upstream', async () => {
    const before = slowCancelled;
    const r = await unary(clientFor('echo.grpc:50051'), 'Slow', 'x', new grpc.Metadata(), { deadline: Date.now() + 150 });
    // Whichever fires first — the client's deadline or the proxy's grpc-timeout — the call fails
    // as a deadline or as Envoy's timeout reply, and the upstream handler sees it cancelled.
    assert.ok(r.error?.code === grpc.status.DEADLINE_EXCEEDED || r.error?.code === grpc.status.UNAVAILABLE, `code ${String(r.error?.code)}`);
    await eventually(() => slowCancelled > before, 5000, 'the upstream call to be cancelled');
    await eventually(() => proxy.records.some((rec) => rec.path === '/skiff.test.Echo/Slow'), 5000, 'the record');
    const flags = formatResponseFlags(proxy.records.find((rec) => rec.path === '/skiff.test.Echo/Slow')!.flags);
    assert.match(flags, /UT|DC/);
  });
});
