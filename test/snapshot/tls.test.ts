/**
 * The contract's checks of TLS settings: a cluster's upstream `tls` (Istio's ClientTLSSettings
 * rules) and a listener's filter chains with their server TLS; each refusal names the field.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotError } from '../../src/snapshot/index.js';
import type { ProxySnapshot } from '../../src/snapshot/index.js';
import { checkSnapshot } from '../../src/proxy/snapshot.js';
import { cluster, forward, httpListener, routeConfig, snapshot } from '../proxy/helpers.js';
import { authority, spiffe } from '../helpers/test-pki.js';

const routes = [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('app', 'app')] }])];

function refused(snap: unknown, path: string, reason: RegExp): void {
  assert.throws(
    () => checkSnapshot(snap),
    (err: unknown) => err instanceof SnapshotError && err.path === path && reason.test(err.reason),
    `${path} ${String(reason)}`,
  );
}

/** Cluster errors name the cluster by position and by name, then the field: `clusters[0]: cluster[NAME].tls.mode: …`. */
function clusterRefused(snap: unknown, field: string, reason: RegExp): void {
  assert.throws(
    () => checkSnapshot(snap),
    (err: unknown) => err instanceof SnapshotError && err.path === 'clusters[0]' && err.reason.startsWith(`cluster[outbound|9080||reviews.default.svc.cluster.local].${field}: `) && reason.test(err.reason),
    `${field} ${String(reason)}`,
  );
}

describe('cluster tls', () => {
  const withTls = (tls: unknown, protocol: 'http1' | 'http2' | 'tcp' = 'http1'): ProxySnapshot =>
    snapshot({ clusters: [{ ...cluster('outbound|9080||reviews.default.svc.cluster.local', [9080], { protocol }), tls } as never] });

  test('Istio\'s rules for each mode, with the field at fault named', () => {
    clusterRefused(withTls({ mode: 'TLS' }), 'tls.mode', /DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL/);
    clusterRefused(withTls({ mode: 'MUTUAL' }), 'tls.clientCertificate', /client certificate required/);
    clusterRefused(withTls({ mode: 'ISTIO_MUTUAL', caCertificates: { pem: '-----BEGIN CERTIFICATE-----' } }), 'tls.caCertificates', /must be empty with ISTIO_MUTUAL/);
    clusterRefused(withTls({ mode: 'SIMPLE', insecureSkipVerify: true, subjectAltNames: ['a'] }), 'tls.subjectAltNames', /insecureSkipVerify/);
    clusterRefused(withTls({ mode: 'SIMPLE', caCertificates: { pem: 'not pem' } }), 'tls.caCertificates.pem', /not PEM text/);
    clusterRefused(withTls({ mode: 'SIMPLE', caCertificates: { path: '/x' } }), 'tls.caCertificates', /\{pem: .*\}, \{file: .*\} or \{secret: .*\}/);
  });

  test('ISTIO_MUTUAL is resolved with Istio\'s SNI and ALPN for the cluster', () => {
    const tcp = checkSnapshot(withTls({ mode: 'ISTIO_MUTUAL' }, 'tcp')).snapshot.clusters[0].tls;
    assert.deepEqual(tcp, { mode: 'ISTIO_MUTUAL', sni: 'outbound_.9080_._.reviews.default.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'] });
    const h2 = checkSnapshot(withTls({ mode: 'ISTIO_MUTUAL', sni: 'given' }, 'http2')).snapshot.clusters[0].tls;
    assert.deepEqual(h2, { mode: 'ISTIO_MUTUAL', sni: 'given', alpn: ['istio-peer-exchange', 'istio', 'h2'] });
  });
});

describe('listener filter chains', () => {
  const withChains = (filterChains: unknown): ProxySnapshot =>
    snapshot({ listeners: [{ ...httpListener('in', 'r'), filterChains } as never], routes, clusters: [cluster('app', [9080])] });

  test('their match, transport and server TLS are checked, and a chain no connection could reach is refused', () => {
    refused(withChains([]), 'listeners[0].filterChains', /at least one filter chain/);
    refused(withChains([{ name: 'a' }, { name: 'a', match: { destinationPort: 80 } }]), 'listeners[0].filterChains[1].name', /duplicate filter chain name "a"/);
    refused(withChains([{ name: 'a', match: { serverNames: ['b', 'a'] } }, { name: 'b', match: { serverNames: ['a', 'b'] } }]), 'listeners[0].filterChains[1].match', /filter chain "a" has the same match/);
    refused(withChains([{ name: 'a', match: { transportProtocol: 'quic' } }]), 'listeners[0].filterChains[0].match.transportProtocol', /tls, raw_buffer/);
    refused(withChains([{ name: 'a', match: { serverNames: ['a.*.com'] } }]), 'listeners[0].filterChains[0].match.serverNames[0]', /leading "\*\."/);
    refused(withChains([{ name: 'a', transport: { mode: 'STRICT' } }]), 'listeners[0].filterChains[0].transport.tls', /required with mode STRICT/);
    refused(withChains([{ name: 'a', transport: { mode: 'DISABLE', tls: { mode: 'ISTIO_MUTUAL' } } }]), 'listeners[0].filterChains[0].transport.tls', /not used with mode DISABLE/);
    refused(withChains([{ name: 'a', transport: { mode: 'STRICT', tls: { mode: 'SIMPLE' } } }]), 'listeners[0].filterChains[0].transport.tls.certificate', /required for SIMPLE/);
    refused(withChains([{ name: 'a', protocol: 'tcp' }]), 'listeners[0].filterChains[0].protocol', /tcp needs the listener's tcp routes/);
  });

  test('certificates are read and checked with the snapshot: a key of another certificate is refused', () => {
    const ca = authority('mesh');
    const one = ca.issue('one', [`URI:${spiffe('foo', 'one')}`]);
    const two = ca.issue('two', [`URI:${spiffe('foo', 'two')}`]);
    const tls = { mode: 'MUTUAL', certificate: { pem: one.cert }, privateKey: { pem: two.key }, caCertificates: { file: ca.certFile } };
    refused(withChains([{ name: 'a', transport: { mode: 'STRICT', tls } }]), 'listeners[0].filterChains[0].transport.tls.privateKey', /does not match the certificate/);
    const good = checkSnapshot(withChains([{ name: 'a', transport: { mode: 'PERMISSIVE', tls: { ...tls, privateKey: { file: one.keyFile } } } }]));
    assert.equal(good.snapshot.listeners[0].filterChains?.[0].transport?.mode, 'PERMISSIVE');
  });
});

describe('named secrets', () => {
  const withSecrets = (secrets: unknown, tls: unknown): ProxySnapshot =>
    snapshot({ listeners: [{ ...httpListener('gw', 'r'), filterChains: [{ name: 'a', transport: { mode: 'STRICT', tls } }] } as never], routes, clusters: [cluster('app', [9080])], secrets } as never);

  test('a chain takes a named secret\'s parts; a name not in secrets, or a part the secret lacks, is refused at the field', () => {
    const ca = authority('mesh');
    const leaf = ca.issue('gw', ['DNS:httpbin.example.com']);
    const secrets = [
      { name: 'kubernetes://cred', certificate: leaf.cert, privateKey: leaf.key },
      { name: 'kubernetes://cred-cacert', caCertificates: ca.cert },
    ];
    const tls = { mode: 'MUTUAL', certificate: { secret: 'kubernetes://cred' }, privateKey: { secret: 'kubernetes://cred' }, caCertificates: { secret: 'kubernetes://cred-cacert' } };
    const checked = checkSnapshot(withSecrets(secrets, tls));
    assert.equal(checked.serverTls.get('gw')?.get('a')?.verifiesClient, true);
    refused(withSecrets(secrets, { ...tls, certificate: { secret: 'kubernetes://other' } }), 'listeners[0].filterChains[0].transport.tls.certificate.secret', /no secret named "kubernetes:\/\/other" in secrets/);
    refused(withSecrets(secrets, { ...tls, caCertificates: { secret: 'kubernetes://cred' } }), 'listeners[0].filterChains[0].transport.tls.caCertificates.secret', /holds no caCertificates/);
    refused(withSecrets([...secrets, secrets[0]], tls), 'secrets[2].name', /duplicate secret name/);
    refused(withSecrets([{ name: 'k', certificate: leaf.cert }], tls), 'secrets[0].privateKey', /go together/);
    const otherKey = ca.issue('gw2', ['DNS:x.example.com']).key;
    refused(withSecrets([{ ...secrets[0], privateKey: otherKey }, secrets[1]], tls), 'listeners[0].filterChains[0].transport.tls.privateKey', /does not match the certificate/);
  });
});
