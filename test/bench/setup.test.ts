/**
 * The benchmark's plumbing: options, /proc parsing, the proxy's listener log line and --help,
 * the snapshots it runs (accepted by the proxy's own validator), and the peers' configs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nginxBackendConfig, nginxTempPaths } from '../../bench/backend.js';
import { parseOptions, UsageError } from '../../bench/options.js';
import { haproxyConfig, nginxProxyConfig } from '../../bench/peers.js';
import { coreBusyTicksFromStat, cpuSeconds, cpuTicksFromStat, parentFromStat, processTree, rssKbFromStatus, rssMb } from '../../bench/procfs.js';
import { baseArgs, featureArgs, parseHelpOptions, parseListenerLine, skiffProxyHelp, telemetryVariants } from '../../bench/skiff.js';
import { gatewaySnapshot, sidecarAuthzSnapshot, sidecarSnapshot } from '../../bench/snapshots.js';
import { missingToolsReport, pinned, which } from '../../bench/tools.js';
import { checkSnapshot } from '../../src/proxy/snapshot.js';
import type { ClusterConfig } from '../../src/snapshot/index.js';

describe('options', () => {
  test('defaults, quick, and explicit values over quick', () => {
    const d = parseOptions([])!;
    assert.equal(d.rounds, 3);
    assert.equal(d.durationS, 10);
    assert.deepEqual(d.suites, ['proxy']);
    const q = parseOptions(['--quick'])!;
    assert.equal(q.quick, true);
    assert.ok(q.rounds * (q.warmupS + 2 * q.durationS) * 7 < 120, 'quick stays under two minutes of load');
    const qr = parseOptions(['--quick', '--rounds', '3', '--duration=2'])!;
    assert.equal(qr.rounds, 3);
    assert.equal(qr.durationS, 2);
    assert.deepEqual(parseOptions(['--only', 'direct, nginx', '--suite', 'all'])!.only, ['direct', 'nginx']);
    assert.deepEqual(parseOptions(['--suite', 'all'])!.suites, ['micro', 'proxy', 'controlplane']);
    assert.deepEqual(parseOptions(['--suite', 'micro'])!.suites, ['micro']);
    assert.equal(parseOptions(['--help']), null);
  });

  test('bad values name the flag', () => {
    assert.throws(() => parseOptions(['--rounds', '0']), (e: unknown) => e instanceof UsageError && /--rounds needs a number >= 1, got "0"/.test(e.message));
    assert.throws(() => parseOptions(['--duration']), /--duration needs a number >= 1, got nothing/);
    assert.throws(() => parseOptions(['--suite', 'x']), /--suite must be proxy, controlplane, micro, instructions or all/);
    assert.throws(() => parseOptions(['--fast']), /unknown option "--fast"/);
    assert.throws(() => parseOptions(['--nice', '-30']), /--nice needs a whole number from -20 to 19/);
    assert.equal(parseOptions(['--nice', '-10'])!.nice, -10);
  });
});

describe('/proc', () => {
  // A command name with spaces and a parenthesis must not shift the fields.
  const stat = '4242 (node (skiff) x) S 4000 4242 4000 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 11 0 99999 1000000 12000';

  test('utime + stime and the parent from /proc/PID/stat', () => {
    assert.equal(cpuTicksFromStat(stat), 1234 + 567);
    assert.equal(parentFromStat(stat), 4000);
  });

  test('busy time of one core from /proc/stat', () => {
    const stat = 'cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 1 2 3 1000 9 4 5 6 0 0\ncpu1 7 0 7 500 0 0 0 0 0 0\n';
    assert.equal(coreBusyTicksFromStat(stat, 0), 1 + 2 + 3 + 4 + 5 + 6);
    assert.equal(coreBusyTicksFromStat(stat, 1), 14);
    assert.equal(coreBusyTicksFromStat(stat, 2), null);
  });

  test('VmRSS from /proc/PID/status', () => {
    assert.equal(rssKbFromStatus('Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t   45312 kB\nRssAnon: 1 kB\n'), 45312);
    assert.equal(rssKbFromStatus('Name:\tzombie\nState:\tZ\n'), 0);
  });

  test('this process: its tree contains it, it uses CPU and memory', { skip: process.platform !== 'linux' ? 'needs Linux /proc' : false }, () => {
    assert.ok(processTree(process.pid).includes(process.pid));
    assert.ok(rssMb([process.pid]) > 10);
    assert.ok(cpuSeconds([process.pid]) > 0);
    assert.equal(rssMb([2 ** 22 + 7]), 0, 'a missing process counts as nothing');
  });
});

describe('skiff proxy', () => {
  test('listener ports from the "snapshot applied" log line', () => {
    const m = parseListenerLine('skiff proxy: snapshot bench-x applied; listeners: 0.0.0.0_9080=127.0.0.1:41000 inbound_9080=127.0.0.2:41001 v6=[::1]:41002');
    assert.deepEqual(m.get('0.0.0.0_9080'), { address: '127.0.0.1', port: 41000 });
    assert.deepEqual(m.get('inbound_9080'), { address: '127.0.0.2', port: 41001 });
    assert.deepEqual(m.get('v6'), { address: '::1', port: 41002 });
    assert.equal(parseListenerLine('listeners: none').size, 0);
  });

  test('options of the real `skiff proxy --help`', () => {
    const options = parseHelpOptions(skiffProxyHelp());
    assert.deepEqual(options.find((o) => o.flag === '--snapshot'), { flag: '--snapshot', arg: 'file' });
    assert.deepEqual(options.find((o) => o.flag === '--help'), { flag: '--help', arg: null });
  });

  test('the access-log row and tracing at 1 % only for switches the help lists', () => {
    const none = telemetryVariants('Options:\n  --snapshot <file>  x\n', '/tmp/w');
    assert.equal(none.variants.length, 0);
    assert.equal(none.tracing, null);
    assert.equal(none.skipped.length, 2);
    const both = telemetryVariants('Options:\n  --access-log <file>        where\n  --access-log-format <fmt>  how\n  --tracing-sampling <percent>  rate\n', '/tmp/w');
    assert.deepEqual(
      both.variants.map((v) => [v.scenario, v.args]),
      [['skiff-outbound-access-log', ['--access-log', '/tmp/w/access.log']]],
    );
    assert.deepEqual(both.tracing, { args: ['--tracing-sampling', '1'] });
    const fraction = telemetryVariants('  --trace-sample-rate <fraction>  x\n  --access-log  on\n  --zipkin-url <url>  where\n', '/tmp/w');
    assert.deepEqual(fraction.variants.map((v) => v.args), [['--access-log']]);
    assert.deepEqual(fraction.tracing, { args: ['--trace-sample-rate', '0.01'], traceSinkFlag: '--zipkin-url' });
  });

  test('every Skiff row of the real proxy: one worker, tracing at 1 % exported to a local sink', async () => {
    const { args, traceSink, plan } = await featureArgs(skiffProxyHelp(), '/tmp/w');
    try {
      assert.ok(traceSink !== null, 'the proxy can export spans');
      assert.deepEqual(args.slice(0, 2), ['--concurrency', '1']);
      assert.deepEqual(args.slice(-4), ['--trace-sampling', '1', '--zipkin-url', traceSink.url]);
      assert.deepEqual(plan.variants.map((v) => v.args), [['--access-log']]);
    } finally {
      await traceSink?.close();
    }
  });

  test('a metrics port option gets port 0, so several proxies can run side by side; one worker each', () => {
    assert.deepEqual(baseArgs('  --metrics-port <port>  x (default: 15020)\n  --metrics-address <a>  y\n'), ['--metrics-port', '0', '--metrics-address', '127.0.0.1']);
    assert.deepEqual(baseArgs('  --concurrency <n>  workers\n'), ['--concurrency', '1'], 'one worker: the proxy is pinned to one core');
    assert.deepEqual(baseArgs('  --snapshot <file>\n'), []);
  });
});

describe('snapshots', () => {
  const endpoints = [
    { address: '127.0.0.1', port: 9000 },
    { address: '127.0.0.2', port: 9000 },
  ];

  test('the authorization row\'s sidecar allows the benchmark request with its ALLOW policy and RequestAuthentication in force', () => {
    const checked = checkSnapshot(sidecarAuthzSnapshot({ id: 'p', outboundEndpoints: endpoints, app: endpoints[0], inboundAddresses: ['127.0.0.1'] }));
    assert.ok(checked.authz !== null && checked.jwt !== null);
    const a = { protocol: 'http' as const, method: 'GET', path: '/api/v1/products/0', host: 'productpage', headers: null, port: 9080, sourceIp: '127.0.0.1', remoteIp: '127.0.0.1', destinationIp: '127.0.0.1', principal: null, sni: null, requestAuth: null };
    assert.deepEqual([checked.authz.http.decide(a).allowed, checked.authz.http.decide(a).matched], [true, 'ns[default]-policy[productpage-viewer]-rule[0]']);
    assert.equal(checked.authz.http.decide({ ...a, method: 'POST' }).allowed, false);
  });

  test("the sidecar's is valid for the proxy and routes the benchmark request after the header-match routes", () => {
    const snap = sidecarSnapshot({ id: 'p', outboundEndpoints: endpoints, app: endpoints[0], inboundAddresses: ['127.0.0.1', '127.0.0.2'] });
    const checked = checkSnapshot(snap);
    const table = checked.routeTables.get('9080')!;
    const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n], has: (n: string) => n in h });
    const req = (h: Record<string, string>, path = '/api/v1/products/0') => ({ method: 'GET', scheme: 'http', authority: 'reviews:9080', path, port: 9080, headers: headers(h), gateway: undefined });
    assert.equal(table.select(req({}))?.name, 'reviews-v1');
    assert.equal(table.select(req({ 'end-user': 'jason' }))?.name, 'reviews-jason-v2');
    assert.equal(table.select(req({ cookie: 'a=b; user=canary' }))?.name, 'reviews-canary-v3');
    assert.deepEqual(
      snap.listeners.map((l) => [l.name, l.direction, l.address]),
      [
        ['0.0.0.0_9080', 'outbound', '127.0.0.1'],
        ['inbound_9080', 'inbound', '127.0.0.1'],
        ['inbound_9080_1', 'inbound', '127.0.0.2'],
      ],
    );
    const hit = checked.snapshot.clusters.find((c) => c.name === 'outbound|9080|v1|reviews.default.svc.cluster.local') as ClusterConfig;
    assert.equal(hit.lb.policy, 'LEAST_REQUEST');
    assert.equal(hit.endpoints.length, 2);
    assert.ok(hit.outlierDetection !== undefined);
  });

  test("the gateway's routes by Host: bookinfo.example.com reaches productpage, another host finds nothing", () => {
    const checked = checkSnapshot(gatewaySnapshot(endpoints));
    assert.equal(checked.snapshot.node.kind, 'gateway');
    const table = checked.routeTables.get('http.8080')!;
    const req = (authority: string) => ({ method: 'GET', scheme: 'http', authority, path: '/api/v1/products/0', port: 8080, headers: { get: () => undefined, has: () => false } });
    assert.equal(table.select(req('bookinfo.example.com'))?.name, 'bookinfo');
    assert.equal(table.select(req('other.example.com')), null);
  });
});

describe('peers and tools', () => {
  test('nginx temp paths leave out modules the build lacks', () => {
    const light = nginxTempPaths('/w', 'configure arguments: --without-http_uwsgi_module --without-http_scgi_module');
    assert.match(light, /client_body_temp_path \/w\/body;/);
    assert.match(light, /fastcgi_temp_path/);
    assert.doesNotMatch(light, /uwsgi|scgi/);
  });

  test('configs carry the ports and the baseline settings', () => {
    const be = nginxBackendConfig('/w', 9000, ['127.0.0.1', '127.0.0.2'], '');
    assert.match(be, /listen 127\.0\.0\.1:9000;\s+listen 127\.0\.0\.2:9000;/);
    assert.match(be, /return 200 "x{1024}"/);
    const ng = nginxProxyConfig('/w', { address: '127.0.0.1', port: 8000 }, { address: '127.0.0.1', port: 9000 }, '');
    assert.match(ng, /worker_processes 1;/);
    assert.match(ng, /server 127\.0\.0\.1:9000; keepalive 64;/);
    assert.match(ng, /listen 127\.0\.0\.1:8000;/);
    const ha = haproxyConfig({ address: '127.0.0.1', port: 8000 }, { address: '127.0.0.1', port: 9000 });
    assert.match(ha, /nbthread 1/);
    assert.match(ha, /http-reuse always/);
    assert.match(ha, /server s1 127\.0\.0\.1:9000/);
  });

  test('which finds executables on the given PATH, and a missing tool gets an install line', () => {
    assert.equal(which('definitely-not-a-tool-xyz', '/nonexistent'), null);
    assert.equal(which('node', process.execPath.replace(/\/node$/, '')), process.execPath);
    const lines = missingToolsReport({ wrk: null, nginx: null, haproxy: '/usr/sbin/haproxy', taskset: '/usr/bin/taskset', nice: '/usr/bin/nice', niceness: 0 });
    assert.ok(lines.some((l) => /nothing can be measured/.test(l)));
    assert.ok(lines.some((l) => /apt-get install -y wrk nginx$|apt-get install -y wrk nginx /.test(l)));
    assert.deepEqual(missingToolsReport({ wrk: '/w', nginx: '/n', haproxy: '/h', taskset: '/t', nice: '/nice', niceness: 0 }), []);
  });

  test('commands are pinned to a core and, when asked, reniced', () => {
    const t = { wrk: '/w', nginx: null, haproxy: null, taskset: '/t', nice: '/nice', niceness: 0 };
    assert.deepEqual(pinned(t, 1, 'wrk', ['-t1']), { command: '/t', args: ['-c', '1', 'wrk', '-t1'] });
    assert.deepEqual(pinned({ ...t, niceness: -10 }, 0, 'node', ['x']), { command: '/nice', args: ['-n', '-10', '/t', '-c', '0', 'node', 'x'] });
    assert.deepEqual(pinned({ ...t, taskset: null }, 0, 'node', ['x']), { command: 'node', args: ['x'] });
  });
});
