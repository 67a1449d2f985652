import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceEntrySpec } from '../../../src/api/kinds/networking/index.js';
import { render, runCases, validate, type Case } from './helpers.js';

const https = { number: 443, name: 'https', protocol: 'TLS' };
const se = (extra: Record<string, unknown>): Record<string, unknown> => ({ hosts: ['api.example.com'], ports: [https], resolution: 'DNS', ...extra });

test('ServiceEntry: external DNS, static endpoints and a mesh-internal selector all validate', () => {
  const dns = validate('ServiceEntry', se({ location: 'MESH_EXTERNAL' }));
  assert.deepEqual(render(dns.issues), []);
  assert.equal((dns.resource?.spec as ServiceEntrySpec).resolution, 'DNS');
  const statik = se({
    hosts: ['db.internal'],
    addresses: ['10.1.0.0/16'],
    ports: [{ number: 5432, name: 'tcp-pg', protocol: 'TCP', targetPort: 15432 }],
    resolution: 'STATIC',
    endpoints: [{ address: '10.1.2.3', ports: { 'tcp-pg': 5433 }, labels: { app: 'pg' } }, { address: 'unix:///var/run/pg.sock' }],
  });
  assert.deepEqual(render(validate('ServiceEntry', statik).issues), []);
  const selector = se({ hosts: ['vm.internal'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', location: 'MESH_INTERNAL', workloadSelector: { labels: { app: 'vm' } } });
  assert.deepEqual(render(validate('ServiceEntry', selector).issues), []);
  assert.deepEqual(render(validate('ServiceEntry', se({ hosts: ['*.example.com'], resolution: 'NONE' })).issues), []);
});

const cases: Case[] = [
  { name: 'hosts missing', spec: { ports: [https] }, expect: 'error spec.hosts: required field "hosts" is missing' },
  { name: 'hosts empty', spec: se({ hosts: [] }), expect: 'error spec.hosts: must have at least 1 item' },
  { name: 'host *', spec: se({ hosts: ['*'] }), expect: 'error spec.hosts[0]: invalid host *' },
  { name: 'host invalid', spec: se({ hosts: ['api_example.com'] }), expect: 'error spec.hosts[0]: domain name "api_example.com" invalid (label "api_example" invalid)' },
  { name: 'partial wildcard host', spec: se({ hosts: ['*api.example.com'], resolution: 'NONE' }), expect: 'warning spec.hosts[0]: partial wildcard "*api.example.com" not allowed' },
  { name: 'DNS with a wildcard host and no endpoints', spec: se({ hosts: ['*.example.com'] }), expect: 'error spec.hosts[0]: hosts must be FQDN if no endpoints are provided for resolution mode DNS' },
  { name: 'duplicate port number', spec: se({ ports: [https, { ...https, name: 'tls2' }] }), expect: 'error spec.ports[1].number: service entry port 443 already defined' },
  { name: 'duplicate port name', spec: se({ ports: [https, { ...https, number: 8443 }] }), expect: 'error spec.ports[1].name: service entry port name "https" already defined' },
  { name: 'port 0', spec: se({ ports: [{ ...https, number: 0 }] }), expect: 'error spec.ports[0].number: port number 0 must be in the range 1..65535' },
  { name: 'port without name', spec: se({ ports: [{ number: 80, protocol: 'HTTP' }] }), expect: 'error spec.ports[0].name: required field "name" is missing' },
  { name: 'port name not a DNS label', spec: se({ ports: [{ ...https, name: 'TLS_port' }] }), expect: 'error spec.ports[0].name: invalid port name: TLS_port' },
  { name: 'unknown protocol', spec: se({ ports: [{ ...https, protocol: 'SCTP' }] }), expect: 'error spec.ports[0].protocol: unsupported protocol: SCTP' },
  { name: 'targetPort out of range', spec: se({ ports: [{ ...https, targetPort: 70000 }] }), expect: 'error spec.ports[0].targetPort: port number 70000 must be in the range 1..65535' },
  { name: 'targetPort with resolution NONE', spec: se({ ports: [{ ...https, targetPort: 8443 }], resolution: 'NONE' }), expect: 'warning spec.ports[0].targetPort: targetPort has no effect when resolution mode is NONE' },
  { name: 'bad address', spec: se({ addresses: ['10.0.0.256'], resolution: 'STATIC' }), expect: 'error spec.addresses[0]: 10.0.0.256 is not a valid IP' },
  { name: 'CIDR with DNS resolution', spec: se({ addresses: ['10.0.0.0/8'] }), expect: 'error spec.addresses: CIDR addresses are allowed only for NONE/STATIC resolution types' },
  { name: 'NONE with endpoints', spec: se({ resolution: 'NONE', endpoints: [{ address: '10.0.0.1' }] }), expect: 'error spec.endpoints: no endpoints should be provided for resolution type none' },
  { name: 'DNS_ROUND_ROBIN with two endpoints', spec: se({ resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'a.com' }, { address: 'b.com' }] }), expect: 'error spec.endpoints: there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN' },
  { name: 'selector and endpoints', spec: se({ resolution: 'STATIC', workloadSelector: { labels: { app: 'a' } }, endpoints: [{ address: '10.0.0.1' }] }), expect: 'error spec: only one of WorkloadSelector or Endpoints is allowed in Service Entry' },
  { name: 'STATIC endpoint that is a DNS name', spec: se({ resolution: 'STATIC', endpoints: [{ address: 'db.example.com' }] }), expect: 'error spec.endpoints[0].address: endpoint address "db.example.com" is not a valid IP address' },
  { name: 'DNS endpoint that is no name', spec: se({ endpoints: [{ address: 'not a host' }] }), expect: 'error spec.endpoints[0].address: endpoint address "not a host" is not a valid FQDN or an IP address' },
  { name: 'endpoint port for an unknown service port', spec: se({ resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', ports: { http: 8080 } }] }), expect: 'error spec.endpoints[0].ports.http: endpoint port 8080 is not defined by the service entry' },
  { name: 'endpoint port out of range', spec: se({ resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', ports: { https: 0 } }] }), expect: 'error spec.endpoints[0].ports.https: port number 0 must be in the range 1..65535' },
  { name: 'endpoint without address', spec: se({ resolution: 'STATIC', endpoints: [{ ports: { https: 8443 } }] }), expect: 'error spec.endpoints[0].address: address is required' },
  { name: 'unix endpoint with ports', spec: se({ resolution: 'STATIC', endpoints: [{ address: 'unix:///a.sock', ports: { https: 1 } }] }), expect: 'error spec.endpoints[0].ports: unix endpoint unix:///a.sock must not include ports' },
  { name: 'unix endpoint to a directory', spec: se({ resolution: 'STATIC', endpoints: [{ address: 'unix:///var/run/' }] }), expect: 'error spec.endpoints[0].address: /var/run/ is not an absolute path to a file' },
  { name: 'several hosts with a TCP port', spec: se({ hosts: ['a.com', 'b.com'], ports: [{ number: 9000, name: 'tcp', protocol: 'TCP' }] }), expect: 'error spec.ports[0].protocol: multiple hosts provided with non-HTTP, non-TLS ports' },
  { name: 'selector with a wildcard', spec: se({ resolution: 'STATIC', workloadSelector: { labels: { app: '*' } } }), expect: 'error spec.workloadSelector.labels.app: wildcard is not supported in selector: "app=*"' },
  { name: 'selector with DNS resolution', spec: se({ workloadSelector: { labels: { app: 'a' } } }), expect: 'warning spec.workloadSelector: workloadSelector should not be set when resolution mode is DNS' },
  { name: 'exportTo ~ with others', spec: se({ exportTo: ['~', 'a'] }), expect: 'error spec.exportTo: cannot export service entry to no one (~) and someone' },
  { name: 'unknown resolution', spec: se({ resolution: 'STRICT_DNS' }), expect: /^error spec\.resolution: must be one of "NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS" \(got "STRICT_DNS"\)/ },
  { name: 'unknown location', spec: se({ location: 'EXTERNAL' }), expect: /^error spec\.location: must be one of "MESH_EXTERNAL", "MESH_INTERNAL"/ },
];

runCases('ServiceEntry', cases);
