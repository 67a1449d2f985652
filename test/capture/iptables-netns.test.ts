/**
 * `skiff iptables` for real: run as the injected istio-init runs it, in a fresh network
 * namespace, its rules read back with `iptables-save` and checked one by one with `iptables -C`;
 * `--dry-run` leaves the table alone; a missing program and a refused rule fail naming them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skiffBin } from '../helpers/cli.js';
import { netnsRequirement, run, runInFreshNetns } from '../helpers/netns.js';
import { captureRules, parseCaptureFlags, ruleText, CAPTURE_CHAINS } from '../../src/capture/iptables-rules.js';

const netns = netnsRequirement();

const INJECTED_ARGS = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];

function shellQuote(args: readonly string[]): string {
  return args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

const skiff = `${shellQuote([process.execPath, skiffBin])} iptables`;

/** A rule's options as a sorted multiset: iptables-save orders options its own way and adds `-m tcp` for `--dport`. */
function optionSet(rule: string): string {
  return rule
    .replace(/ -m (tcp|udp)(?= )/g, '')
    .split(' ')
    .slice(2)
    .sort()
    .join(' ');
}

test('the injected command line writes its chains into the namespace, rule for rule', { skip: netns.skip }, async () => {
  netns.require();
  const expected = captureRules(
    parseCaptureFlags({ envoyPort: '15001', inboundCapturePort: '15006', proxyUid: '1337', interceptionMode: 'REDIRECT', serviceCidr: '*', serviceExcludeCidr: '', inboundPorts: '*', localExcludePorts: '15090,15021,15020' })
      .config,
  );
  const checks = expected.map((r) => `iptables -t nat -C ${r.chain} ${shellQuote(r.args)} || echo "missing: ${ruleText(r)}"`).join('; ');
  const r = await runInFreshNetns(`${skiff} ${shellQuote(INJECTED_ARGS)} > /dev/null && echo ---save && iptables-save -t nat && echo ---check && ${checks}`);
  assert.equal(r.code, 0, r.stderr);
  const [save, check] = r.stdout.split('---check\n');
  assert.equal(check.trim(), '', `rules not found by iptables -C:\n${check}`);
  for (const chain of CAPTURE_CHAINS) assert.match(save, new RegExp(`^:${chain} - `, 'm'), `${chain} declared`);

  // Per chain, the same rules in the same order (a rule's position decides what it catches).
  const saved = save.split('\n').filter((l) => l.startsWith('-A '));
  for (const chain of ['PREROUTING', 'OUTPUT', ...CAPTURE_CHAINS]) {
    const want = expected.filter((e) => e.chain === chain).map((e) => optionSet(ruleText(e)));
    const got = saved.filter((l) => l.split(' ')[1] === chain).map(optionSet);
    assert.deepEqual(got, want, chain);
  }
});

test('--dry-run prints the rules and applies none', { skip: netns.skip }, async () => {
  netns.require();
  const r = await runInFreshNetns(`${skiff} ${shellQuote(INJECTED_ARGS)} --dry-run && echo ---save && iptables-save -t nat`);
  assert.equal(r.code, 0, r.stderr);
  const [printed, save] = r.stdout.split('---save\n');
  assert.match(printed, /^\* nat\n-N ISTIO_INBOUND\n/);
  assert.match(printed, /^-A ISTIO_OUTPUT -j ISTIO_REDIRECT$/m);
  assert.doesNotMatch(save, /ISTIO/, 'nothing applied');
});

test('a rule iptables-restore refuses is named, and nothing of that run is applied', { skip: netns.skip }, async () => {
  netns.require();
  // The second run finds its chains already there.
  const r = await runInFreshNetns(`${skiff} > /dev/null && ${skiff} > /dev/null; echo "exit=$?"; iptables-save -t nat | grep -c '^-A ' `);
  assert.match(r.stderr, /^skiff: iptables-restore exited with status 1: the rule "-N ISTIO_INBOUND" \(line 2\) failed: .*Chain already exists/m);
  const [exit, count] = r.stdout.trim().split('\n');
  assert.equal(exit, 'exit=2');
  assert.equal(Number(count), captureRules(parseCaptureFlags({}).config).length, 'the first run applied once, the refused run added nothing');
});

test('without iptables-restore on PATH the command says what to install', async () => {
  const r = await run(process.execPath, [skiffBin, 'iptables'], { env: { PATH: '/nonexistent' } });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "skiff: iptables-restore not found on PATH: the capture rules need Debian's iptables (apt-get install -y iptables)\n");
});

test('TPROXY is refused before anything runs', async () => {
  const r = await run(process.execPath, [skiffBin, 'iptables', ...INJECTED_ARGS.map((a) => (a === 'REDIRECT' ? 'TPROXY' : a)), '--dry-run']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^skiff: -m TPROXY: Skiff captures inbound traffic with REDIRECT only/);
});
