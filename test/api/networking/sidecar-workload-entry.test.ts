import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SidecarSpec, WorkloadEntrySpec } from '../../../src/api/kinds/networking/index.js';
import { render, runCases, validate, type Case } from './helpers.js';

const egress = (...listeners: Array<Record<string, unknown>>): Record<string, unknown> => ({ egress: listeners });
const ingress = (l: Record<string, unknown>): Record<string, unknown> => ({ ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'http' }, ...l }] });

test('Sidecar: ingress, egress and outbound policy validate and come back typed', () => {
  const spec = {
    workloadSelector: { labels: { app: 'ratings' } },
    ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'somename' }, defaultEndpoint: '127.0.0.1:8080', connectionPool: { http: { http1MaxPendingRequests: 10 } } }],
    egress: [
      { port: { number: 9080, protocol: 'HTTP', name: 'egresshttp' }, hosts: ['prod-us1/*'] },
      { port: { number: 0, protocol: 'HTTP' }, bind: 'unix:///var/run/someuds.sock', hosts: ['*/*'] },
      { hosts: ['istio-system/*', './*'] },
    ],
    outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'egress.example.com', port: { number: 3128 } } },
  };
  const result = validate('Sidecar', spec);
  assert.deepEqual(render(result.issues), []);
  assert.equal((result.resource?.spec as SidecarSpec).egress?.[1]?.bind, 'unix:///var/run/someuds.sock');
});

test('WorkloadEntry: a VM with ports, labels and identity validates', () => {
  const result = validate('WorkloadEntry', { address: '10.0.0.5', ports: { http: 8080 }, labels: { app: 'vm' }, serviceAccount: 'vm-sa', network: 'vpc1', locality: 'us-east1/a' });
  assert.deepEqual(render(result.issues), []);
  assert.equal((result.resource?.spec as WorkloadEntrySpec).ports?.http, 8080);
  assert.deepEqual(render(validate('WorkloadEntry', { address: 'vm1.example.com' }).issues), []);
});

const sidecarCases: Case[] = [
  { name: 'empty configuration', spec: { workloadSelector: { labels: { app: 'a' } } }, expect: 'error spec: sidecar: empty configuration provided' },
  { name: 'selector without labels', spec: { workloadSelector: {}, egress: [{ hosts: ['./*'] }] }, expect: 'warning spec.workloadSelector: sidecar: workload selector specified without labels, will be applied to all services in namespace' },
  { name: 'egress host without namespace', spec: egress({ hosts: ['reviews.default.svc.cluster.local'] }), expect: 'error spec.egress[0].hosts[0]: host must be of form namespace/dnsName' },
  { name: 'egress host with bad namespace', spec: egress({ hosts: ['Bad_NS/*'] }), expect: 'error spec.egress[0].hosts[0]: invalid namespace value "Bad_NS" in sidecar' },
  { name: 'egress host short name', spec: egress({ hosts: ['ns/reviews'] }), expect: 'error spec.egress[0].hosts[0]: short names (non FQDN) are not allowed' },
  { name: 'egress without hosts', spec: egress({ hosts: [] }), expect: 'error spec.egress[0].hosts: sidecar: egress listener must contain at least one host' },
  { name: 'egress hosts field missing', spec: egress({ port: { number: 80, protocol: 'HTTP' } }), expect: 'error spec.egress[0].hosts: required field "hosts" is missing' },
  { name: 'catch-all listener not last', spec: egress({ hosts: ['./*'] }, { port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['./*'] }), expect: 'error spec.egress[0]: sidecar: the egress listener with empty port should be the last listener in the list' },
  { name: 'two catch-all listeners', spec: egress({ hosts: ['./*'] }, { hosts: ['*/*'] }), expect: 'error spec.egress[1]: sidecar: egress can have only one listener with empty port' },
  { name: 'duplicate egress ports', spec: egress({ port: { number: 80, protocol: 'HTTP' }, hosts: ['./*'] }, { port: { number: 80, protocol: 'HTTP' }, hosts: ['./*'] }), expect: 'error spec.egress[1].port.number: sidecar: ports on IP bound listeners must be unique' },
  { name: 'port 0 without a unix bind', spec: egress({ port: { number: 0, protocol: 'HTTP' }, hosts: ['./*'] }), expect: 'error spec.egress[0].bind: sidecar: ports with 0 value must have a unix domain socket bind address' },
  { name: 'unix listener with IPTABLES capture', spec: egress({ port: { number: 0 }, bind: 'unix:///a.sock', captureMode: 'IPTABLES', hosts: ['./*'] }), expect: 'error spec.egress[0].captureMode: sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners' },
  { name: 'egress bind not an IP', spec: egress({ port: { number: 80 }, bind: 'eth0', hosts: ['./*'] }), expect: 'error spec.egress[0].bind: eth0 is not a valid IP' },
  { name: 'egress protocol unknown', spec: egress({ port: { number: 80, protocol: 'SPDY' }, hosts: ['./*'] }), expect: 'error spec.egress[0].port.protocol: unsupported protocol: SPDY' },
  { name: 'duplicated egress host', spec: egress({ hosts: ['ns1/*', 'ns1/a.example.com'] }), expect: 'warning spec.egress[0].hosts[1]: duplicated egress host: ns1/a.example.com' },
  { name: 'ingress without port', spec: { ingress: [{ defaultEndpoint: '127.0.0.1:8080' }] }, expect: 'error spec.ingress[0].port: required field "port" is missing' },
  { name: 'ingress port 0', spec: { ingress: [{ port: { number: 0, protocol: 'HTTP' } }] }, expect: 'error spec.ingress[0].port.number: port number 0 must be in the range 1..65535' },
  { name: 'ingress targetPort', spec: ingress({ port: { number: 80, protocol: 'HTTP', targetPort: 8080 } }), expect: 'error spec.ingress[0].port.targetPort: targetPort has no impact on Sidecars' },
  { name: 'ingress default endpoint elsewhere', spec: ingress({ defaultEndpoint: '10.0.0.1:8080' }), expect: 'error spec.ingress[0].defaultEndpoint: sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset' },
  { name: 'ingress default endpoint without port', spec: ingress({ defaultEndpoint: '127.0.0.1' }), expect: 'error spec.ingress[0].defaultEndpoint: address 127.0.0.1: missing port in address' },
  { name: 'ingress default endpoint port out of range', spec: ingress({ defaultEndpoint: '127.0.0.1:0' }), expect: 'error spec.ingress[0].defaultEndpoint: port number 0 must be in the range 1..65535' },
  { name: 'ingress TLS ISTIO_MUTUAL', spec: ingress({ tls: { mode: 'ISTIO_MUTUAL' } }), expect: 'error spec.ingress[0].tls.mode: configuration is invalid: cannot set mode to ISTIO_MUTUAL in sidecar ingress tls' },
  { name: 'ingress TLS credentialName', spec: ingress({ tls: { mode: 'SIMPLE', credentialName: 'c' } }), expect: 'error spec.ingress[0].tls.credentialName: sidecar: credentialName is not currently supported' },
  { name: 'ingress TLS without certificate', spec: ingress({ tls: { mode: 'SIMPLE', privateKey: '/k.pem' } }), expect: 'error spec.ingress[0].tls.serverCertificate: SIMPLE TLS requires a server certificate' },
  { name: 'ingress HTTP pool on TCP port', spec: { ingress: [{ port: { number: 3306, protocol: 'TCP', name: 'db' }, connectionPool: { http: { maxRetries: 1 } } }] }, expect: 'warning spec.ingress[0].connectionPool.http: sidecar: HTTP connection pool settings are configured for port 3306 ("db") but its protocol is not HTTP (TCP); only TCP settings will apply' },
  { name: 'empty inbound connection pool', spec: { inboundConnectionPool: {} }, expect: 'error spec.inboundConnectionPool: connection pool must have at least one field' },
  { name: 'inbound pool idle timeout under 1ms', spec: { inboundConnectionPool: { http: { idleTimeout: '0s' } } }, expect: 'error spec.inboundConnectionPool.http.idleTimeout: duration must be greater than 1ms' },
  { name: 'egress proxy with REGISTRY_ONLY', spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY', egressProxy: { host: 'p.example.com', port: { number: 3128 } } } }, expect: 'error spec.outboundTrafficPolicy.egressProxy: sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode' },
  { name: 'egress proxy without port', spec: { outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'p.example.com' } } }, expect: 'error spec.outboundTrafficPolicy.egressProxy.port: sidecar: egress_proxy port must be non-nil' },
  { name: 'unknown outbound mode', spec: { outboundTrafficPolicy: { mode: 'DENY' } }, expect: /^error spec\.outboundTrafficPolicy\.mode: must be one of "REGISTRY_ONLY", "ALLOW_ANY"/ },
];

const workloadEntryCases: Case[] = [
  { name: 'no address and no network', spec: { ports: { http: 80 } }, expect: 'error spec.address: address is required' },
  { name: 'no address but a network', spec: { network: 'vpc1' }, expect: 'warning spec.address: address is unset with network "vpc1"' },
  { name: 'address no IP or name', spec: { address: '10.0.0.1:80' }, expect: 'error spec.address: endpoint address "10.0.0.1:80" is not a valid FQDN or an IP address' },
  { name: 'unix address with ports', spec: { address: 'unix:///a.sock', ports: { http: 80 } }, expect: 'error spec.ports: unix endpoint unix:///a.sock must not include ports' },
  { name: 'unix address relative', spec: { address: 'unix://a.sock' }, expect: 'error spec.address: a.sock is not an absolute path to a file' },
  { name: 'port out of range', spec: { address: '10.0.0.1', ports: { http: 65536 } }, expect: 'error spec.ports.http: port number 65536 must be in the range 1..65535' },
  { name: 'port name invalid', spec: { address: '10.0.0.1', ports: { HTTP_1: 80 } }, expect: 'error spec.ports.HTTP_1: invalid port name: HTTP_1' },
  { name: 'label key invalid', spec: { address: '10.0.0.1', labels: { '-app': 'x' } }, expect: 'error spec.labels: invalid tag key: "-app"' },
  { name: 'address too long', spec: { address: `${'a'.repeat(250)}.example.com` }, expect: 'error spec.address: must be at most 256 characters long (is 262)' },
  { name: 'weight negative', spec: { address: '10.0.0.1', weight: -1 }, expect: 'error spec.weight: must be an integer between 0 and 4294967295 (got -1)' },
];

runCases('Sidecar', sidecarCases);
runCases('WorkloadEntry', workloadEntryCases);
