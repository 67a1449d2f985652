import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gatewayPages } from '../../src/cli/gateway-pages.js';
import { manifestFile, manifests } from '../runtime/helpers.js';
import { repoRoot } from '../helpers/cli.js';

const ingress = 'http://127.0.0.1:8080';

test("Bookinfo's gateway VirtualService gives the product page to open", () => {
  const resources = manifestFile(join(repoRoot, 'samples/bookinfo/networking/bookinfo-gateway.yaml'));
  assert.deepEqual(gatewayPages(resources, ingress), [`${ingress}/productpage`]);
});

test('VirtualServices only for sidecars, for named hosts or without an exact path give nothing to open', () => {
  const resources = manifests(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-only}
spec:
  hosts: [a]
  http:
  - match: [{uri: {exact: /a}}]
    route: [{destination: {host: a}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: named-host}
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  http:
  - match: [{uri: {exact: /b}}]
    route: [{destination: {host: b}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: prefix-only}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /c}}]
    route: [{destination: {host: c}}]
  - match: [{uri: {exact: /d}}]
    route: [{destination: {host: d}}]
`);
  assert.deepEqual(gatewayPages(resources, ingress), [`${ingress}/d`]);
});
