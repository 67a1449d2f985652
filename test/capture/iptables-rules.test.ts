/**
 * The rules `skiff iptables` writes for istio-iptables' flags: the injector's own command line
 * gives exactly the nat table Istio's istio-init writes, and each flag changes what it should.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureRules, parseCaptureFlags, restoreText, ruleText, CaptureFlagError, type CaptureFlags } from '../../src/capture/iptables-rules.js';

function lines(flags: CaptureFlags): string[] {
  return captureRules(parseCaptureFlags(flags).config).map(ruleText);
}

/** The flags of the injected istio-init container. */
const INJECTED: CaptureFlags = {
  envoyPort: '15001',
  inboundCapturePort: '15006',
  proxyUid: '1337',
  interceptionMode: 'REDIRECT',
  serviceCidr: '*',
  serviceExcludeCidr: '',
  inboundPorts: '*',
  localExcludePorts: '15090,15021,15020',
};

test('the injected flags give the nat table istio-init writes', () => {
  const text = restoreText(captureRules(parseCaptureFlags(INJECTED).config));
  assert.equal(
    text,
    [
      '* nat',
      '-N ISTIO_INBOUND',
      '-N ISTIO_REDIRECT',
      '-N ISTIO_IN_REDIRECT',
      '-N ISTIO_OUTPUT',
      '-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN',
      '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
      '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
      '-A PREROUTING -p tcp -j ISTIO_INBOUND',
      '-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN',
      '-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN',
      '-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN',
      '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
      '-A OUTPUT -j ISTIO_OUTPUT',
      '-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN',
      '-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT',
      '-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT',
      '-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
      '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('inbound: a port list captures only those ports; no ports leaves PREROUTING alone', () => {
  const listed = lines({ ...INJECTED, inboundPorts: '9080,9090', localExcludePorts: '' });
  assert.ok(listed.includes('-A ISTIO_INBOUND -p tcp --dport 9080 -j ISTIO_IN_REDIRECT'));
  assert.ok(listed.includes('-A ISTIO_INBOUND -p tcp --dport 9090 -j ISTIO_IN_REDIRECT'));
  assert.ok(!listed.includes('-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT'), 'no catch-all redirect with a port list');

  const none = lines({ ...INJECTED, inboundPorts: '', localExcludePorts: '' });
  assert.ok(!none.some((l) => l.startsWith('-A PREROUTING')), none.join('\n'));
  // The outbound side is unchanged.
  assert.ok(none.includes('-A ISTIO_OUTPUT -j ISTIO_REDIRECT'));
});

test('-d applies only with -b "*", and says so otherwise', () => {
  const parsed = parseCaptureFlags({ ...INJECTED, inboundPorts: '9080' });
  assert.deepEqual(parsed.warnings, ['-d (--istio-local-exclude-ports) applies only with -b "*": ignored']);
  assert.ok(!captureRules(parsed.config).map(ruleText).some((l) => l.includes('--dport 15090')));
});

test('outbound: CIDRs included and excluded, normalised as iptables prints them', () => {
  const l = lines({ ...INJECTED, serviceCidr: '10.96.0.1/12,192.168.7.9/24', serviceExcludeCidr: '10.96.0.10/32' });
  const tail = l.slice(l.indexOf('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN'));
  assert.deepEqual(tail, [
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -d 10.96.0.10/32 -j RETURN',
    '-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT',
    '-A ISTIO_OUTPUT -d 192.168.7.0/24 -j ISTIO_REDIRECT',
  ]);
  const none = lines({ ...INJECTED, serviceCidr: '' });
  assert.ok(!none.some((r) => r.endsWith('-j ISTIO_REDIRECT')), 'no outbound capture with -i ""');
});

test('outbound ports: -o excluded first (tcp and udp), -q captured whatever the destination', () => {
  const l = lines({ ...INJECTED, serviceCidr: '', localOutboundPortsExclude: '5432', outboundPorts: '3306' });
  const first = l.indexOf('-A OUTPUT -j ISTIO_OUTPUT') + 1;
  assert.deepEqual(l.slice(first, first + 2), ['-A ISTIO_OUTPUT -p tcp --dport 5432 -j RETURN', '-A ISTIO_OUTPUT -p udp --dport 5432 -j RETURN']);
  assert.ok(l.includes('-A ISTIO_OUTPUT -p tcp --dport 3306 -j ISTIO_REDIRECT'));
});

test('-u and -g: each uid and gid is excluded; -g defaults to the uids', () => {
  const l = lines({ ...INJECTED, proxyUid: '1337,1338', proxyGid: '2000' });
  for (const owner of ['--uid-owner 1337', '--uid-owner 1338', '--gid-owner 2000']) assert.ok(l.includes(`-A ISTIO_OUTPUT -m owner ${owner} -j RETURN`), owner);
  assert.ok(!l.some((r) => r.includes('--gid-owner 1337')));
});

test('interfaces: -c excluded in both directions, -k captured as outbound at the top of PREROUTING', () => {
  const l = lines({ ...INJECTED, excludeInterfaces: 'eth9', kubeVirtInterfaces: 'tap0' });
  assert.ok(l.includes('-A PREROUTING -i eth9 -j RETURN'));
  assert.ok(l.includes('-A OUTPUT -o eth9 -j RETURN'));
  assert.ok(l.includes('-I PREROUTING 1 -i tap0 -j ISTIO_REDIRECT'));
  assert.ok(l.includes('-I PREROUTING 1 -i tap0 -j RETURN'));
});

test('a loopback range in -i keeps the app calling itself captured', () => {
  const l = lines({ ...INJECTED, serviceCidr: '127.0.0.0/8' });
  assert.ok(!l.some((r) => r.includes('-o lo -m owner !')), l.join('\n'));
});

test('bad flags are refused naming the flag and the value', () => {
  const cases: Array<[CaptureFlags, RegExp]> = [
    [{ interceptionMode: 'TPROXY' }, /^-m TPROXY: .*REDIRECT only.*use -m REDIRECT$/],
    [{ interceptionMode: 'NAT' }, /^-m "NAT": the interception mode is REDIRECT/],
    [{ envoyPort: '70000' }, /^-p \(--envoy-port\) "70000": not a port/],
    [{ inboundCapturePort: 'x' }, /^-z \(--inbound-capture-port\) "x": not a port/],
    [{ localExcludePorts: '15090,abc' }, /^-d \(--istio-local-exclude-ports\) "abc": not a port/],
    [{ proxyUid: '' }, /^-u \(--proxy-uid\): empty; the proxy's own traffic would be captured/],
    [{ proxyUid: 'istio' }, /^-u \(--proxy-uid\) "istio": not a numeric id/],
    [{ serviceCidr: '10.0.0.0' }, /^-i \(--istio-service-cidr\) "10.0.0.0": not a CIDR/],
    [{ serviceCidr: '10.0.0.0/33' }, /^-i \(--istio-service-cidr\) "10.0.0.0\/33": not a CIDR/],
    [{ serviceExcludeCidr: '*' }, /^-x \(--istio-service-exclude-cidr\) "\*"/],
    [{ excludeInterfaces: 'eth0;rm' }, /^-c \(--istio-exclude-interfaces\) "eth0;rm": not an interface name/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => parseCaptureFlags(flags), (err: unknown) => err instanceof CaptureFlagError && message.test(err.message), JSON.stringify(flags));
  }
});

test('IPv6 ranges are left out with a warning, IPv4 ones kept', () => {
  const parsed = parseCaptureFlags({ ...INJECTED, serviceCidr: 'fd00::/8,10.0.0.0/8' });
  assert.deepEqual(parsed.config.outboundCidrs, ['10.0.0.0/8']);
  assert.match(parsed.warnings[0], /fd00::\/8: IPv6 ranges are not captured/);
});
