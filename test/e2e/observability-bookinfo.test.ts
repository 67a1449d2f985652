/**
 * Observability of a running mesh, as a user checks it: Bookinfo behind the ingress gateway,
 * every proxy with its own loopback metrics URL in `skiff proxy-status` (health on loopback too); the standard metrics of
 * both reporters with Istio's labels; an injected fault counted with response_flags="FI"; a real
 * Prometheus scraping the proxies through the target file skiffd keeps, answering PromQL; a
 * trace of one page view read back from skiffd's collector with every hop linked to its parent;
 * the service graph on skiffd's API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePorts } from '../../src/runtime/ports.js';
import type { ServiceGraph, TraceSpan, TraceSummary } from '../../src/dashboard/sources.js';
import { bookinfoMesh, projectBookinfo } from './bookinfo.js';
import { delay, eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';
import { checkScrape } from '../helpers/promtool.js';
import { tool } from '../helpers/tools.js';

const prometheus = tool('prometheus');

const RATINGS_ABORT = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - fault:
      abort:
        percentage:
          value: 100
        httpStatus: 503
    route:
    - destination:
        host: ratings
        subset: v1
`;

const TRACE_EVERYTHING = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  tracing:
  - randomSamplingPercentage: 100
`;

interface ProxyInfo {
  id: string;
  node: { kind: string; workload?: { labels: Record<string, string> } };
  metricsUrl?: string;
}

type Series = Record<string, string> & { value: string };

async function json<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  const body = await res.text();
  assert.equal(res.status, 200, `${url} answered ${res.status}: ${body}`);
  return JSON.parse(body) as T;
}

/** The `istio_requests_total` samples of a Prometheus text page, labels parsed. */
function requestSeries(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^istio_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of m[1].matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ ...labels, value: m[2] });
  }
  return out;
}

describe('observability: Bookinfo metrics, Prometheus, traces and the service graph', { timeout: 300_000 }, () => {
  let mesh: Mesh;
  let proxies: ProxyInfo[] = [];
  const scrapeOf = async (app: string, version?: string): Promise<Series[]> => {
    const p = proxies.find((x) => x.node.workload?.labels.app === app && (version === undefined || x.node.workload.labels.version === version));
    assert.ok(p?.metricsUrl, `a proxy of ${app}${version ?? ''} with a metrics URL`);
    const res = await fetch(p.metricsUrl);
    const text = await res.text();
    await checkScrape(text, p.metricsUrl);
    return requestSeries(text);
  };

  before(async () => {
    mesh = await startMesh(bookinfoMesh(projectBookinfo, ['destination-rule-all.yaml']));
    proxies = (await json<{ proxies: ProxyInfo[] }>(`${mesh.apiUrl}/api/v1/proxies`, mesh.apiHeaders())).proxies;
  });
  after(async () => {
    await mesh?.stop();
  });

  test('skiff proxy-status shows each proxy its own metrics URL on loopback', async () => {
    const out = await mesh.skiff(['proxy-status']);
    assert.equal(out.code, 0, out.stderr);
    const urls = [...out.stdout.matchAll(/http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus/g)].map((m) => m[0]);
    // Six Bookinfo sidecars and the ingress gateway.
    assert.equal(urls.length, 7, out.stdout);
    assert.equal(new Set(urls).size, 7, `every proxy has its own port:\n${out.stdout}`);
    assert.doesNotMatch(out.stdout, /<none>/);
    const page = await fetch(urls[0]);
    assert.equal(page.status, 200);
    const text = await page.text();
    assert.match(text, /istio_build\{component="proxy"/);
    await checkScrape(text, urls[0]);
    // Health and metrics listen on loopback only, like everything else of the local mesh.
    const log = await mesh.logs('deploy/details-v1', 'default', { proxy: true });
    assert.match(log, /health on 127\.0\.0\.1:\d+/);
    assert.match(log, /metrics on 127\.0\.0\.1:\d+\/stats\/prometheus/);
    assert.doesNotMatch(log, /0\.0\.0\.0/);
  });

  test('productpage → reviews-v2 is counted by both reporters with the labels Istio gives', async () => {
    // Reviews is spread over three versions: enough page views reach v2 and, through it, ratings.
    for (let i = 0; i < 24; i++) assert.equal((await mesh.get('/productpage')).status, 200);

    const fromProductpage = (await scrapeOf('productpage')).filter((s) => s.reporter === 'source' && s.destination_workload === 'reviews-v2');
    const atReviews = (await scrapeOf('reviews', 'v2')).filter((s) => s.reporter === 'destination' && s.source_workload === 'productpage-v1');
    for (const [what, list, security] of [
      ['reporter="source" on productpage', fromProductpage, 'unknown'],
      ['reporter="destination" on reviews-v2', atReviews, 'mutual_tls'],
    ] as const) {
      assert.equal(list.length, 1, `${what}: one series, got ${JSON.stringify(list)}`);
      const s = list[0];
      assert.ok(Number(s.value) >= 1, what);
      assert.deepEqual(
        {
          source_workload: s.source_workload,
          source_workload_namespace: s.source_workload_namespace,
          source_app: s.source_app,
          source_version: s.source_version,
          source_canonical_service: s.source_canonical_service,
          source_principal: s.source_principal,
          destination_workload: s.destination_workload,
          destination_workload_namespace: s.destination_workload_namespace,
          destination_app: s.destination_app,
          destination_version: s.destination_version,
          destination_canonical_revision: s.destination_canonical_revision,
          destination_principal: s.destination_principal,
          destination_service: s.destination_service,
          destination_service_name: s.destination_service_name,
          destination_service_namespace: s.destination_service_namespace,
          request_protocol: s.request_protocol,
          response_code: s.response_code,
          response_flags: s.response_flags,
          connection_security_policy: s.connection_security_policy,
        },
        {
          source_workload: 'productpage-v1',
          source_workload_namespace: 'default',
          source_app: 'productpage',
          source_version: 'v1',
          source_canonical_service: 'productpage',
          // Automatic mutual TLS between the sidecars: both reporters know both SPIFFE ids (the
          // source reporter's security policy stays unknown, as Istio's).
          source_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
          destination_workload: 'reviews-v2',
          destination_workload_namespace: 'default',
          destination_app: 'reviews',
          destination_version: 'v2',
          destination_canonical_revision: 'v2',
          destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
          destination_service: 'reviews.default.svc.cluster.local',
          destination_service_name: 'reviews',
          destination_service_namespace: 'default',
          request_protocol: 'http',
          response_code: '200',
          response_flags: '-',
          connection_security_policy: security,
        },
        what,
      );
    }
  });

  test('a real Prometheus scrapes the proxies from skiffd\'s target file and answers PromQL', { skip: prometheus.skip }, async () => {
    const prometheusBin = prometheus.require();
    const targets = join(mesh.stateDir, 'prometheus', 'targets.json');
    assert.ok(existsSync(targets), 'skiffd writes <state-dir>/prometheus/targets.json');
    const dir = await mkdtemp(join(tmpdir(), 'skiff-prom-'));
    const [port] = await allocatePorts(1);
    const config = join(dir, 'prometheus.yml');
    await writeFile(
      config,
      ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: skiff', '    file_sd_configs:', `      - files: [${JSON.stringify(targets)}]`, ''].join('\n'),
    );
    let prom: ChildProcess | undefined;
    let output = '';
    try {
      prom = spawn(prometheusBin, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      prom.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      prom.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      const query = 'sum(rate(istio_requests_total{reporter="destination"}[1m])) by (destination_workload)';
      const wanted = ['productpage-v1', 'details-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'ratings-v1'];
      let seen: string[] = [];
      await eventually(
        async () => {
          // Keep traffic flowing so every rate has samples on both sides of the window.
          await mesh.get('/productpage');
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`).catch(() => undefined);
          if (res === undefined || res.status !== 200) return false;
          const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
          seen = body.data.result.filter((r) => Number(r.value[1]) > 0).map((r) => r.metric.destination_workload).sort();
          return wanted.every((w) => seen.includes(w));
        },
        `Prometheus to return rates for ${wanted.join(', ')}`,
        60_000,
      ).catch((err: unknown) => assert.fail(`${String(err)}; last answer: ${seen.join(', ')}\nprometheus output:\n${output}`));
      const up = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('count(up == 1)')}`);
      const upBody = (await up.json()) as { data: { result: { value: [number, string] }[] } };
      assert.equal(upBody.data.result[0]?.value[1], '7', 'all seven proxies are up as Prometheus targets');
    } finally {
      if (prom !== undefined && prom.exitCode === null) {
        const exited = new Promise((r) => prom!.once('exit', r));
        prom.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('with the Telemetry resource sampling 100 %, a page view is one trace through all four services', async () => {
    await mesh.apply(TRACE_EVERYTHING);
    let trace: TraceSpan[] | undefined;
    await eventually(
      async () => {
        await mesh.get('/productpage');
        await delay(300);
        const list = await json<{ traces: TraceSummary[] }>(`${mesh.apiUrl}/api/v1/traces?limit=50`, mesh.apiHeaders());
        for (const t of list.traces) {
          if (!['productpage.default', 'details.default', 'reviews.default', 'ratings.default'].every((s) => t.services.includes(s))) continue;
          const spans = (await json<{ spans: TraceSpan[] }>(`${mesh.apiUrl}/api/v1/traces/${t.traceId}`, mesh.apiHeaders())).spans;
          // The spans of one request reach the collector from five proxies, each on its own flush.
          if (spans.length === 8) {
            trace = spans;
            return true;
          }
        }
        return false;
      },
      'a trace of a page view that reached ratings',
      40_000,
    );
    const spans = trace!;
    const byId = new Map(spans.map((s) => [s.id, s]));
    const find = (service: string, kind: 'CLIENT' | 'SERVER', host: string): TraceSpan => {
      const s = spans.find((x) => x.serviceName === service && x.kind === kind && x.name === `${host}.default.svc.cluster.local:9080/*`);
      assert.ok(s, `a ${kind} span of ${service} for ${host}: ${JSON.stringify(spans.map((x) => [x.serviceName, x.kind, x.name]))}`);
      return s;
    };
    const gateway = find('istio-ingressgateway.istio-system', 'CLIENT', 'productpage');
    assert.equal(gateway.parentId, undefined, 'the gateway starts the trace');
    const productpage = find('productpage.default', 'SERVER', 'productpage');
    const toDetails = find('productpage.default', 'CLIENT', 'details');
    const toReviews = find('productpage.default', 'CLIENT', 'reviews');
    const reviews = find('reviews.default', 'SERVER', 'reviews');
    const toRatings = find('reviews.default', 'CLIENT', 'ratings');
    const links: [TraceSpan, TraceSpan, string][] = [
      [productpage, gateway, 'productpage SERVER ← gateway CLIENT'],
      [toDetails, productpage, 'productpage → details CLIENT ← productpage SERVER'],
      [find('details.default', 'SERVER', 'details'), toDetails, 'details SERVER ← productpage CLIENT'],
      [toReviews, productpage, 'productpage → reviews CLIENT ← productpage SERVER'],
      [reviews, toReviews, 'reviews SERVER ← productpage CLIENT'],
      [toRatings, reviews, 'reviews → ratings CLIENT ← reviews SERVER'],
      [find('ratings.default', 'SERVER', 'ratings'), toRatings, 'ratings SERVER ← reviews CLIENT'],
    ];
    for (const [child, parent, what] of links) {
      assert.equal(child.parentId, parent.id, what);
      assert.ok(byId.has(child.parentId), what);
      assert.equal(child.traceId, gateway.traceId);
    }
    assert.equal(new Set(spans.map((s) => s.traceId)).size, 1);
  });

  test('an injected abort on ratings is counted at the caller with response_flags="FI", and shows on the graph', async () => {
    await mesh.apply(RATINGS_ABORT);
    for (let i = 0; i < 12; i++) assert.equal((await mesh.get('/productpage')).status, 200);

    const faulted = [...(await scrapeOf('reviews', 'v2')), ...(await scrapeOf('reviews', 'v3'))].filter(
      (s) => s.reporter === 'source' && s.destination_service === 'ratings.default.svc.cluster.local' && s.response_code === '503',
    );
    assert.ok(faulted.length > 0, 'reviews counted 503s from ratings');
    for (const s of faulted) assert.equal(s.response_flags, 'FI');

    // The graph reads skiffd's own scrapes, which may be up to a second behind the proxies.
    const ratings = 'service:ratings.default.svc.cluster.local';
    const isFaultedEdge = (e: ServiceGraph['edges'][number]): boolean => e.target === ratings && /workload:default\/reviews-v[23]$/.test(e.source) && (e.byFlags.FI ?? 0) > 0;
    let graph: ServiceGraph | undefined;
    await eventually(async () => {
      graph = await json<ServiceGraph>(`${mesh.apiUrl}/api/v1/graph?namespace=default&window=600`, mesh.apiHeaders());
      return graph.edges.some(isFaultedEdge);
    }, 'the graph shows the injected faults on an edge from reviews to ratings', 10_000).catch(() => undefined);
    graph = graph!;
    const workloads = graph.nodes.filter((n) => n.kind === 'workload').map((n) => `${n.app ?? ''}:${n.version ?? ''}`);
    for (const w of ['productpage:v1', 'details:v1', 'reviews:v1', 'reviews:v2', 'reviews:v3', 'ratings:v1']) assert.ok(workloads.includes(w), `${w} on the graph: ${workloads.join(' ')}`);
    const fromReviews = graph.edges.filter((e) => e.target === ratings && /workload:default\/reviews-v[23]$/.test(e.source));
    assert.ok(fromReviews.length > 0, 'edges from reviews to the ratings service');
    assert.ok(fromReviews.some((e) => (e.byFlags.FI ?? 0) > 0 && (e.byCode['503'] ?? 0) > 0 && e.errorRate > 0), JSON.stringify(fromReviews));
    const gatewayEdge = graph.edges.find((e) => e.source === 'workload:istio-system/istio-ingressgateway' && e.target === 'service:productpage.default.svc.cluster.local');
    assert.ok(gatewayEdge !== undefined && gatewayEdge.rate > 0 && gatewayEdge.p50Ms !== null, 'the gateway → productpage edge with a rate and latency');
  });
});
