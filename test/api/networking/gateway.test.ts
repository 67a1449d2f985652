import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewaySpec } from '../../../src/api/kinds/networking/index.js';
import { render, runCases, validate, type Case } from './helpers.js';

const server = (extra: Record<string, unknown> = {}, port: Record<string, unknown> = {}): Record<string, unknown> => ({
  port: { number: 80, name: 'http', protocol: 'HTTP', ...port },
  hosts: ['*'],
  ...extra,
});
const https = (tls: Record<string, unknown>): Record<string, unknown> => ({
  selector: { istio: 'ingressgateway' },
  servers: [server({ tls }, { number: 443, name: 'https', protocol: 'HTTPS' })],
});
const gw = (...servers: Array<Record<string, unknown>>): Record<string, unknown> => ({ selector: { istio: 'ingressgateway' }, servers });

test('Gateway: HTTP with redirect, HTTPS from a secret, TLS passthrough', () => {
  const spec = gw(
    server({ hosts: ['bookinfo/*.example.com', './reviews.example.com'], tls: { httpsRedirect: true } }),
    server({ hosts: ['*.example.com'], tls: { mode: 'SIMPLE', credentialName: 'example-cert', minProtocolVersion: 'TLSV1_2', ecdhCurves: ['X25519', 'P-256'] } }, { number: 443, name: 'https', protocol: 'HTTPS' }),
    server({ hosts: ['db.example.com'], tls: { mode: 'PASSTHROUGH' } }, { number: 15443, name: 'tls', protocol: 'TLS' }),
    server({ tls: { mode: 'MUTUAL', serverCertificate: '/c.pem', privateKey: '/k.pem', caCertificates: '/ca.pem' } }, { number: 8443, name: 'mtls', protocol: 'HTTPS' }),
  );
  const result = validate('Gateway', spec);
  assert.deepEqual(render(result.issues), []);
  assert.equal((result.resource?.spec as GatewaySpec).servers?.[1]?.tls?.credentialName, 'example-cert');
});

const cases: Case[] = [
  { name: 'no servers', spec: { selector: { istio: 'ingressgateway' } }, expect: 'error spec.servers: gateway must have at least one server' },
  { name: 'name with a dot', spec: gw(server()), metadata: { name: 'my.gateway' }, expect: /^error metadata\.name: invalid name "my\.gateway": must be a DNS-1123 label/ },
  { name: 'server without hosts field', spec: gw({ port: { number: 80, name: 'http', protocol: 'HTTP' } }), expect: 'error spec.servers[0].hosts: required field "hosts" is missing' },
  { name: 'server with empty hosts', spec: gw(server({ hosts: [] })), expect: 'error spec.servers[0].hosts: server config must contain at least one host' },
  { name: 'short host name', spec: gw(server({ hosts: ['ns/reviews'] })), expect: 'error spec.servers[0].hosts[0]: short names (non FQDN) are not allowed' },
  { name: 'partial wildcard host', spec: gw(server({ hosts: ['*foo.example.com'] })), expect: 'error spec.servers[0].hosts[0]: partial wildcard "*foo.example.com" not allowed' },
  { name: 'bad namespace in host', spec: gw(server({ hosts: ['Bad_NS/a.example.com'] })), expect: 'error spec.servers[0].hosts[0]: invalid namespace value "Bad_NS" in gateway' },
  { name: 'port without protocol', spec: gw({ port: { number: 80, name: 'http' }, hosts: ['*'] }), expect: 'error spec.servers[0].port.protocol: required field "protocol" is missing' },
  { name: 'unknown protocol', spec: gw(server({}, { protocol: 'QUIC' })), expect: 'error spec.servers[0].port.protocol: invalid protocol "QUIC", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP' },
  { name: 'port out of range', spec: gw(server({}, { number: 0 })), expect: 'error spec.servers[0].port.number: port number 0 must be in the range 1..65535' },
  { name: 'port beyond uint32', spec: gw(server({}, { number: -1 })), expect: 'error spec.servers[0].port.number: must be an integer between 0 and 4294967295 (got -1)' },
  { name: 'empty port name', spec: gw(server({}, { name: '' })), expect: 'error spec.servers[0].port.name: port name must be set' },
  { name: 'targetPort on a gateway', spec: gw(server({}, { targetPort: 8080 })), expect: 'error spec.servers[0].port.targetPort: targetPort has no impact on Gateways' },
  { name: 'duplicate port names', spec: gw(server(), server({}, { number: 8080 })), expect: 'error spec.servers[1].port.name: port names in servers must be unique: duplicate name http' },
  { name: 'bind not an IP', spec: gw(server({ bind: 'localhost' })), expect: 'error spec.servers[0].bind: localhost is not a valid IP' },
  { name: 'unix bind with a port', spec: gw(server({ bind: 'unix:///var/run/gw.sock' })), expect: 'error spec.servers[0].port.number: port number must be 0 for unix domain socket: 80' },
  { name: 'HTTPS without TLS settings', spec: gw(server({}, { number: 443, protocol: 'HTTPS', name: 'https' })), expect: 'error spec.servers[0]: server must have TLS settings for HTTPS/TLS protocols' },
  { name: 'HTTP with certificates', spec: gw(server({ tls: { mode: 'SIMPLE', credentialName: 'c' } })), expect: 'error spec.servers[0].tls: server cannot have TLS settings for plain text HTTP ports' },
  { name: 'TCP with TLS settings', spec: gw(server({ tls: { httpsRedirect: true } }, { protocol: 'TCP' })), expect: 'error spec.servers[0].tls: server cannot have TLS settings for non HTTPS/TLS ports' },
  { name: 'httpsRedirect on a TLS server', spec: gw(server({ tls: { mode: 'PASSTHROUGH', httpsRedirect: true } }, { protocol: 'TLS', number: 443, name: 'tls' })), expect: 'warning spec.servers[0].tls.httpsRedirect: tls.httpsRedirect should only be used with http servers' },
  { name: 'SIMPLE without certificate', spec: https({ mode: 'SIMPLE', privateKey: '/k.pem' }), expect: 'error spec.servers[0].tls.serverCertificate: SIMPLE TLS requires a server certificate' },
  { name: 'SIMPLE without key', spec: https({ mode: 'SIMPLE', serverCertificate: '/c.pem' }), expect: 'error spec.servers[0].tls.privateKey: SIMPLE TLS requires a private key' },
  { name: 'MUTUAL without CA', spec: https({ mode: 'MUTUAL', serverCertificate: '/c.pem', privateKey: '/k.pem' }), expect: 'error spec.servers[0].tls.caCertificates: MUTUAL TLS requires a client CA bundle' },
  { name: 'ISTIO_MUTUAL with a credential', spec: https({ mode: 'ISTIO_MUTUAL', credentialName: 'c' }), expect: 'error spec.servers[0].tls.credentialName: ISTIO_MUTUAL TLS cannot have associated credentialName' },
  { name: 'CRL with SIMPLE', spec: https({ mode: 'SIMPLE', serverCertificate: '/c.pem', privateKey: '/k.pem', caCrl: '/crl.pem' }), expect: 'error spec.servers[0].tls.caCrl: CRL is not supported with SIMPLE TLS' },
  { name: 'credentialName and credentialNames', spec: https({ mode: 'SIMPLE', credentialName: 'a', credentialNames: ['b'] }), expect: 'error spec.servers[0].tls: only one of credentialName or credentialNames can be set' },
  { name: 'three credentialNames', spec: https({ mode: 'SIMPLE', credentialNames: ['a', 'b', 'c'] }), expect: 'error spec.servers[0].tls.credentialNames: must have at most 2 items (has 3)' },
  { name: 'tlsCertificates entry without key', spec: https({ mode: 'SIMPLE', tlsCertificates: [{ serverCertificate: '/c.pem' }] }), expect: 'error spec.servers[0].tls.tlsCertificates[0].privateKey: SIMPLE TLS requires a private key' },
  { name: 'passthrough with certificates', spec: gw(server({ tls: { mode: 'PASSTHROUGH', serverCertificate: '/c.pem' } }, { protocol: 'TLS', number: 443, name: 'tls' })), expect: 'warning spec.servers[0].tls: PASSTHROUGH mode does not use certificates, they will be ignored' },
  { name: 'old TLS without ciphers', spec: https({ mode: 'SIMPLE', credentialName: 'c', minProtocolVersion: 'TLSV1_0' }), expect: 'warning spec.servers[0].tls.minProtocolVersion: TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.' },
  { name: 'unknown TLS mode', spec: https({ mode: 'STRICT' }), expect: /^error spec\.servers\[0\]\.tls\.mode: must be one of "PASSTHROUGH", "SIMPLE"/ },
];

runCases('Gateway', cases);
