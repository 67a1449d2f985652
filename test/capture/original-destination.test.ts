/**
 * The original destination of redirected connections, read for real: in a fresh network namespace
 * nat rules redirect an IPv4 and an IPv6 destination to a listener on 15001, which reads each
 * accepted connection's original destination through the addon; a connection made to 15001 itself
 * reads its own local address. Without the addon, loading it fails naming it and how to build it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { netnsRequirement, runInFreshNetns } from '../helpers/netns.js';
import { ADDON_PATH, loadAddon, OriginalDestinationUnavailable } from '../../src/capture/original-destination.js';
import { existsSync } from 'node:fs';
import { toolsRequired } from '../helpers/tools.js';

const netns = netnsRequirement();
const addonMissing = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} not built (npm run build:native)`;
const skip = netns.skip !== false ? netns.skip : addonMissing !== false && !toolsRequired() ? addonMissing : false;
const probe = fileURLToPath(new URL('./fixtures/original-dst-probe.js', import.meta.url));

const SETUP = [
  // Routes for the destinations, so their packets reach the nat OUTPUT hook.
  'ip link add d0 type veth peer name d1',
  'ip link set d1 up',
  'ip addr add 10.9.0.1/16 dev d0',
  'ip -6 addr add fd00:9::1/64 dev d0 nodad',
  'ip link set d0 up',
  'ip route add 10.96.0.0/12 dev d0',
  'ip -6 route add fd00:96::/64 dev d0',
  'iptables -t nat -A OUTPUT -p tcp -d 10.96.0.50 --dport 9080 -j REDIRECT --to-ports 15001',
  'ip6tables -t nat -A OUTPUT -p tcp -d fd00:96::50 --dport 9443 -j REDIRECT --to-ports 15001',
].join(' && ');

test('a redirected connection reads the address and port it was sent to, IPv4 and IPv6', { skip }, async () => {
  netns.require();
  assert.equal(addonMissing, false, addonMissing || '');
  const r = await runInFreshNetns(`${SETUP} && ${process.execPath} ${probe} 10.96.0.50:9080 [fd00:96::50]:9443 127.0.0.1:15001`);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { target: string; read: unknown });
  assert.deepEqual(lines, [
    { target: '10.96.0.50:9080', read: { address: '10.96.0.50', port: 9080, family: 4 } },
    { target: '[fd00:96::50]:9443', read: { address: 'fd00:96::50', port: 9443, family: 6 } },
    // Not redirected: no conntrack entry, so the connection's own destination.
    { target: '127.0.0.1:15001', read: { address: '127.0.0.1', port: 15001, family: 4 } },
  ]);
});

test('an addon that is not there is named, with how to build it', () => {
  const r = loadAddon('/nonexistent/original_dst.node');
  assert.ok(r instanceof OriginalDestinationUnavailable);
  assert.match(r.message, /^the SO_ORIGINAL_DST addon cannot be loaded \(Cannot find module '\/nonexistent\/original_dst.node'.*\), so captured connections' original destinations cannot be read; build it with `npm run build:native`/);
});
