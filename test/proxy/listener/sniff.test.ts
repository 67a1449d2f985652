/**
 * What the listener decides from a connection's first bytes, at the level of the functions that
 * decide: a real ClientHello (captured from node:tls) read for its SNI and ALPN, incomplete or
 * foreign bytes; HTTP/1.x, the HTTP/2 preface and anything else told apart for `auto`; and the
 * filter-chain match in Envoy's order of fields.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { readClientHello } from '../../../src/proxy/listener/client-hello.js';
import { FilterChains } from '../../../src/proxy/listener/filter-chains.js';
import type { CompiledChain } from '../../../src/proxy/listener/filter-chains.js';
import { sniffProtocol } from '../../../src/proxy/listener/sniff.js';
import type { FilterChainMatch } from '../../../src/snapshot/index.js';

/** The first bytes a node:tls client sends: its ClientHello. */
async function clientHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = tls.connect({ host: '127.0.0.1', port, ...opts });
  client.on('error', () => {});
  const [socket] = await accepted;
  let bytes = Buffer.alloc(0);
  // The whole record: its length is in the header.
  while (bytes.length < 5 || bytes.length < 5 + bytes.readUInt16BE(3)) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    bytes = Buffer.concat([bytes, chunk]);
  }
  client.destroy();
  socket.destroy();
  server.close();
  return bytes;
}

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('ClientHello', () => {
  test('SNI and ALPN of a real ClientHello, in the client\'s order', async () => {
    const hello = await clientHello({ servername: 'Reviews.Default.svc', ALPNProtocols: ['istio-peer-exchange', 'istio', 'h2'] });
    assert.deepEqual(readClientHello(hello), { sni: 'reviews.default.svc', alpn: ['istio-peer-exchange', 'istio', 'h2'] });
  });

  test('a hello without SNI or ALPN is TLS with neither', async () => {
    const hello = await clientHello({ servername: '' });
    assert.deepEqual(readClientHello(hello), { sni: null, alpn: [] });
  });

  test('a record cut short asks for more; bytes that are not a handshake record are not TLS', async () => {
    const hello = await clientHello({ servername: 'a.example.com' });
    assert.equal(readClientHello(hello.subarray(0, 1)), 'more');
    assert.equal(readClientHello(hello.subarray(0, 40)), 'more');
    assert.equal(readClientHello(ascii('GET / HTTP/1.1\r\n')), null);
    assert.equal(readClientHello(Buffer.from([22, 9, 1])), null, 'a record version other than 3.x');
    assert.equal(readClientHello(Buffer.from([22, 3, 1, 0xff, 0xff])), null, 'a record longer than TLS allows');
  });
});

describe('protocol sniffing (auto)', () => {
  test('an HTTP/1.x request line is HTTP/1.1, the whole HTTP/2 preface is h2', () => {
    assert.equal(sniffProtocol(ascii('GET /x HTTP/1.1\r\nhost: a\r\n')), 'http1');
    assert.equal(sniffProtocol(ascii('POST / HTTP/1.0\n')), 'http1');
    assert.equal(sniffProtocol(ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2');
  });

  test('a prefix of either waits for more', () => {
    assert.equal(sniffProtocol(ascii('GE')), 'more');
    assert.equal(sniffProtocol(ascii('GET /long/path')), 'more');
    assert.equal(sniffProtocol(ascii('PRI * HT')), 'more');
  });

  test('anything else is TCP: a banner, TLS, a request line with another version, a long token', () => {
    assert.equal(sniffProtocol(ascii('SSH-2.0-OpenSSH_9.6\r\n')), 'tcp');
    assert.equal(sniffProtocol(Buffer.from([22, 3, 1, 0, 200])), 'tcp');
    assert.equal(sniffProtocol(ascii('GET / SIP/2.0\r\n')), 'tcp');
    assert.equal(sniffProtocol(ascii('ABCDEFGHIJKLMNOPQRSTUVWXYZ')), 'tcp');
  });
});

describe('filter-chain match', () => {
  const chain = (name: string, match: FilterChainMatch): CompiledChain => ({ name, match, protocol: 'http', mode: 'DISABLE', tls: null, needsSni: false });
  const pick = (chains: FilterChains, port: number, hello: { sni: string | null; alpn: string[] } | null): string | null => chains.select({ port, hello })?.name ?? null;

  test('transport: a ClientHello takes the tls chain, anything else the raw_buffer one', () => {
    const chains = new FilterChains([chain('tls', { transportProtocol: 'tls' }), chain('plain', { transportProtocol: 'raw_buffer' })]);
    assert.equal(pick(chains, 80, { sni: null, alpn: [] }), 'tls');
    assert.equal(pick(chains, 80, null), 'plain');
    assert.equal(chains.readsClientHello, true);
    assert.equal(chains.direct, null);
  });

  test('server names: an exact name before the longest wildcard; no SNI matches no named chain', () => {
    const chains = new FilterChains([chain('wide', { serverNames: ['*.com'] }), chain('wild', { serverNames: ['*.example.com'] }), chain('exact', { serverNames: ['a.example.com'] })]);
    assert.equal(pick(chains, 443, { sni: 'a.example.com', alpn: [] }), 'exact');
    assert.equal(pick(chains, 443, { sni: 'b.example.com', alpn: [] }), 'wild');
    assert.equal(pick(chains, 443, { sni: 'other.com', alpn: [] }), 'wide');
    assert.equal(pick(chains, 443, { sni: 'example.com', alpn: [] }), 'wide');
    assert.equal(pick(chains, 443, { sni: null, alpn: [] }), null);
    assert.equal(pick(chains, 443, null), null);
  });

  test('a chain leaving a field out is the fallback for that field', () => {
    const chains = new FilterChains([chain('named', { serverNames: ['a.example.com'] }), chain('any', {})]);
    assert.equal(pick(chains, 443, { sni: 'a.example.com', alpn: [] }), 'named');
    assert.equal(pick(chains, 443, { sni: 'b.example.com', alpn: [] }), 'any');
    assert.equal(pick(chains, 443, null), 'any');
  });

  test('the destination port decides first: a port-specific chain wins even when another names the SNI', () => {
    const chains = new FilterChains([chain('by-name', { serverNames: ['a.example.com'] }), chain('by-port', { destinationPort: 8443 })]);
    assert.equal(pick(chains, 8443, { sni: 'a.example.com', alpn: [] }), 'by-port');
    assert.equal(pick(chains, 443, { sni: 'a.example.com', alpn: [] }), 'by-name');
  });

  test('application protocols: the client\'s first protocol some chain names decides', () => {
    const chains = new FilterChains([chain('h2', { applicationProtocols: ['h2'] }), chain('mesh-tcp', { applicationProtocols: ['istio-peer-exchange', 'istio'] }), chain('other', {})]);
    assert.equal(pick(chains, 80, { sni: null, alpn: ['istio', 'h2'] }), 'mesh-tcp');
    assert.equal(pick(chains, 80, { sni: null, alpn: ['h2', 'istio'] }), 'h2');
    assert.equal(pick(chains, 80, { sni: null, alpn: ['http/1.1'] }), 'other');
  });

  test('one plaintext chain matching everything is served directly, reading nothing', () => {
    const chains = new FilterChains([chain('default', {})]);
    assert.equal(chains.direct?.name, 'default');
    assert.equal(chains.readsClientHello, false);
  });
});
