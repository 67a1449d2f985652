/**
 * How a capture listener picks the listener for a connection's original destination, as Envoy
 * matches listener addresses: the exact address and port, then the longest block of addresses
 * (a ServiceEntry's CIDR) on that port, then any address on the port, else none (the capture
 * listener's own routes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureTargetFor, compileCaptureTable, type CaptureTarget } from '../../src/proxy/listener/capture.js';
import { validateSnapshot, type ProxySnapshot } from '../../src/snapshot/index.js';

/** A listener that only says its name. */
function named(name: string): CaptureTarget & { name: string } {
  return { name, adopt: () => undefined };
}

/** The table of `destinations` (each to a listener named like it), through the snapshot's own check. */
function table(destinations: string[]): (address: string, port: number) => string | null {
  const names = destinations.map((d, i) => `t${i}`);
  const snapshot: ProxySnapshot = {
    version: '1',
    node: { id: 'app-0.default', kind: 'sidecar' },
    listeners: [
      { name: 'virtualOutbound', address: '0.0.0.0', port: 15001, direction: 'outbound', protocol: 'tcp', tcp: { routes: [] }, capture: { targets: destinations.map((destination, i) => ({ destination, listener: names[i] })) } },
      ...names.map((name) => ({ name, address: '0.0.0.0', port: 1, bindToPort: false, direction: 'outbound' as const, protocol: 'tcp' as const, tcp: { routes: [] } })),
    ],
    routes: [],
    clusters: [],
  };
  const checked = validateSnapshot(snapshot, () => null);
  const listeners = new Map(destinations.map((d, i) => [names[i], named(d)]));
  const t = compileCaptureTable(checked.snapshot.listeners[0].capture!, listeners);
  return (address, port) => (captureTargetFor(t, { address, port, family: address.includes(':') ? 6 : 4 }) as (CaptureTarget & { name: string }) | null)?.name ?? null;
}

test('the exact address wins over a block that holds it, a block over any address on the port', () => {
  const pick = table([':5432', '10.0.0.0/8:5432', '10.1.0.0/16:5432', '10.1.2.3:5432', '[2001:db8::/32]:5432', '[2001:db8:1::/48]:5432']);
  assert.equal(pick('10.1.2.3', 5432), '10.1.2.3:5432');
  assert.equal(pick('10.1.2.4', 5432), '10.1.0.0/16:5432');
  assert.equal(pick('10.2.0.1', 5432), '10.0.0.0/8:5432');
  assert.equal(pick('192.168.0.1', 5432), ':5432');
  assert.equal(pick('2001:db8:1::5', 5432), '[2001:db8:1::/48]:5432');
  assert.equal(pick('2001:db8:2::5', 5432), '[2001:db8::/32]:5432');
  assert.equal(pick('2001:db9::5', 5432), ':5432');
});

test('a block takes its own port only; without a target for the port, nothing takes the connection', () => {
  const pick = table(['10.0.0.0/8:5432']);
  assert.equal(pick('10.0.0.1', 5432), '10.0.0.0/8:5432');
  assert.equal(pick('10.0.0.1', 5433), null);
  assert.equal(pick('11.0.0.1', 5432), null);
});

test('the order targets are listed in does not decide: the longest block does', () => {
  const a = table(['10.1.0.0/16:80', '10.0.0.0/8:80']);
  const b = table(['10.0.0.0/8:80', '10.1.0.0/16:80']);
  assert.equal(a('10.1.9.9', 80), '10.1.0.0/16:80');
  assert.equal(b('10.1.9.9', 80), '10.1.0.0/16:80');
});
