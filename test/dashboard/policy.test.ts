/**
 * The dashboard shows policy at work, on Bookinfo running on a local mesh: an AuthorizationPolicy
 * at productpage denies the ratings workload, requests come from the ingress gateway (allowed)
 * and from ratings (denied), and the graph's API carries the denials on ratings' edges only — with
 * the deciding proxy and the caller's principal, from which the `skiff authz explain` command the
 * panel gives names the policy. In a real browser (Debian's Chromium driven by playwright-core)
 * the edge is drawn in the denial colour, its tooltip and side panel say what was denied.
 * Then Istio's rate-limit EnvoyFilters (the local limit on productpage, the global filter and its
 * descriptors at the gateway): the rate-limits API lists each proxy's filters exactly as `skiff
 * proxy-config ratelimit` prints them, with the 429s (RL) ratings got on its edges, and the
 * browser's Rate limits view shows them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import type { Core } from 'cytoscape';
import type { GraphEdge, ProxyRateLimits, RateLimitsAnswer, ServiceGraph } from '../../src/dashboard/sources.js';
import { bookinfoMesh, projectBookinfo } from '../e2e/bookinfo.js';
import { eventually, startMesh } from '../e2e/harness.js';
import type { Mesh } from '../e2e/harness.js';
import { repoRoot } from '../helpers/cli.js';
import { tool } from '../helpers/tools.js';

const chromiumBrowser = tool('chromium');
const SCREENSHOTS = join(repoRoot, 'test-results', 'dashboard');
/** Istio's rate-limit task's EnvoyFilters, as the page gives them. */
const RATELIMIT_FIXTURES = join(repoRoot, 'test', 'e2e', 'fixtures', 'ratelimit');

const RATINGS_PRINCIPAL = 'cluster.local/ns/default/sa/bookinfo-ratings';

/** Istio's explicit-deny shape: productpage refuses the ratings service account. */
const DENY_RATINGS = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-ratings
  namespace: default
spec:
  selector:
    matchLabels:
      app: productpage
  action: DENY
  rules:
  - from:
    - source:
        principals: ["${RATINGS_PRINCIPAL}"]
`;

const GATEWAY = 'workload:istio-system/istio-ingressgateway';
const RATINGS = 'workload:default/ratings-v1';
const PRODUCTPAGE_SERVICE = 'service:productpage.default.svc.cluster.local';
const PRODUCTPAGE = 'workload:default/productpage-v1';

describe('policy on the dashboard: authorization denials per edge, rate-limit filters in force', { timeout: 900_000 }, () => {
  let mesh: Mesh | undefined;
  let context: BrowserContext | undefined;
  let userDataDir = '';
  const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
  const pageErrors: string[] = [];
  /** The edge from ratings into productpage's service, as the API named it. */
  let deniedEdgeId = '';

  /** The graph over the last 10 minutes, from the dashboard's API. */
  async function graph(): Promise<ServiceGraph> {
    const res = await fetch(`${started().dashboardUrl!}/api/graph?window=600`);
    assert.equal(res.status, 200);
    return (await res.json()) as ServiceGraph;
  }

  async function browserPage(): Promise<Page> {
    if (context === undefined) {
      userDataDir = await mkdtemp(join(tmpdir(), 'skiff-chromium-'));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: chromiumBrowser.require(),
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1400, height: 900 },
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (err) => pageErrors.push(err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') pageErrors.push(msg.text());
      });
    }
    return context.pages()[0];
  }

  before(async () => {
    mesh = await startMesh(bookinfoMesh(projectBookinfo));
    assert.ok(mesh.dashboardUrl !== undefined, `skiff up names the dashboard:\n${mesh.upOutput}`);
  });

  after(async () => {
    await context?.close();
    await mesh?.stop();
    if (userDataDir !== '') await rm(userDataDir, { recursive: true, force: true });
  });

  test("the API counts the requests productpage's policy denied on ratings' edges, and on no other", async () => {
    assert.equal(await started().apply(DENY_RATINGS), 'authorizationpolicy.security.istio.io/deny-ratings created\n');
    for (let i = 0; i < 6; i++) assert.equal((await started().get('/productpage')).status, 200, 'the gateway is allowed');
    for (let i = 0; i < 5; i++) {
      const r = await started().exec('deploy/ratings-v1', 'default', ['curl', '-s', 'productpage:9080/productpage', '-w', ' %{http_code}']);
      assert.equal(r.stdout, 'RBAC: access denied 403', 'ratings is denied');
    }
    let g: ServiceGraph | undefined;
    // ratings' calls reach productpage's service node under the name its proxy reported (the host it called).
    const fromRatings = (): GraphEdge | undefined => g?.edges.find((e) => e.source === RATINGS && e.target.startsWith('service:productpage'));
    const edge = (source: string, target: string): GraphEdge | undefined => g?.edges.find((e) => e.source === source && e.target === target);
    await eventually(async () => {
      g = await graph();
      return fromRatings()?.denied === 5 && (edge(GATEWAY, PRODUCTPAGE_SERVICE)?.rate ?? 0) > 0;
    }, 'the denials in the graph', 30_000).catch((err: unknown) => assert.fail(`${String(err)}: ${JSON.stringify(g?.edges.map((e) => [e.id, e.denied]))}`));
    const denial = { by: 'rbac', workload: 'productpage-v1', namespace: 'default', principal: `spiffe://${RATINGS_PRINCIPAL}`, requests: 5 };
    const denied = fromRatings()!;
    deniedEdgeId = denied.id;
    assert.equal(denied.deniedRate, 1);
    assert.deepEqual(denied.denials, [denial]);
    assert.equal(denied.errorRate, 0, 'a denial is not an error of productpage');
    assert.deepEqual(denied.byCode, { '403': Math.round((5 / 600) * 1000) / 1000 });
    // The gateway's calls were allowed; the hop into productpage carries what its sidecar denied.
    assert.equal(edge(GATEWAY, PRODUCTPAGE_SERVICE)!.denied, 0);
    assert.deepEqual(edge(denied.target, PRODUCTPAGE)!.denials, [denial]);
    assert.deepEqual(
      g!.edges.filter((e) => e.denied > 0).map((e) => e.id).sort(),
      [`${RATINGS}->${denied.target}/http`, `${denied.target}->${PRODUCTPAGE}/http`].sort(),
      'no other edge carries a denial',
    );
  });

  test('the command the panel gives for the denial names the policy and rule that decided', async () => {
    const r = await started().skiff(['authz', 'explain', 'deploy/productpage-v1', '-n', 'default', '--from-principal', RATINGS_PRINCIPAL, '--method', 'GET', '--path', '/']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^DENY: denied by ns\[default\]-policy\[deny-ratings\]-rule\[0\]\n/);
  });

  test('in the browser, the denied edge is drawn in the denial colour, its tooltip and side panel say what was denied', { skip: chromiumBrowser.skip }, async () => {
    const page = await browserPage();
    await page.goto(`${started().dashboardUrl!}/#/graph`);
    await page.locator('#graph-window').selectOption('600');
    assert.notEqual(deniedEdgeId, '', 'the API test found the denied edge');
    const allowedEdgeId = `${GATEWAY}->${PRODUCTPAGE_SERVICE}/http`;
    const edgeLook = (id: string): Promise<{ label: string; color: string; arrow: string; denied: boolean } | null> =>
      page.evaluate((edgeId) => {
        const cy = (globalThis as unknown as { skiffGraph?: Core }).skiffGraph;
        const e = cy?.getElementById(edgeId);
        if (e === undefined || e.empty()) return null;
        return { label: String(e.data('label')), color: String(e.style('line-color')), arrow: String(e.style('target-arrow-shape')), denied: e.data('denied') === true };
      }, id);
    await eventually(async () => (await edgeLook(deniedEdgeId))?.denied === true && (await edgeLook(allowedEdgeId)) !== null, 'both edges drawn', 30_000);
    const denied = (await edgeLook(deniedEdgeId))!;
    assert.match(denied.label, /\n5 denied$/);
    assert.equal(denied.color, 'rgb(163,21,125)', 'the denial colour');
    assert.equal(denied.arrow, 'tee');
    const allowed = (await edgeLook(allowedEdgeId))!;
    assert.equal(allowed.denied, false);
    assert.doesNotMatch(allowed.label, /denied/);
    assert.notEqual(allowed.color, denied.color);

    // The pointer over the edge: the canvas's tooltip.
    const point = await page.evaluate((id) => {
      const cy = (globalThis as unknown as { skiffGraph: Core }).skiffGraph;
      const mid = cy.getElementById(id).renderedMidpoint();
      return { x: mid.x, y: mid.y };
    }, deniedEdgeId);
    const box = await page.locator('#graph-canvas').boundingBox();
    assert.ok(box !== null);
    await page.mouse.move(box.x + point.x, box.y + point.y);
    await eventually(async () => /denied by authorization/.test((await page.locator('#graph-canvas').getAttribute('title')) ?? ''), 'the tooltip', 5_000);
    const tooltip = (await page.locator('#graph-canvas').getAttribute('title')) ?? '';
    assert.match(tooltip, /^ratings v1 → productpage\S*: /);
    assert.match(tooltip, /5 requests denied by authorization \(100%\)/);
    assert.match(tooltip, /5 by RBAC \(AuthorizationPolicy\) at productpage-v1\.default, caller cluster\.local\/ns\/default\/sa\/bookinfo-ratings/);

    // A click: the side panel.
    await page.mouse.click(box.x + point.x, box.y + point.y);
    const panel = page.locator('#side-panel');
    await panel.waitFor({ state: 'visible' });
    const text = await panel.innerText();
    assert.match(text, /ratings v1 → productpage/);
    assert.match(text, /Denied\s+5 \(100%\)/);
    assert.match(text, /DENIED BY AUTHORIZATION: 5/i);
    assert.match(text, /RBAC \(AuthorizationPolicy\)\s+productpage-v1\.default\s+cluster\.local\/ns\/default\/sa\/bookinfo-ratings\s+5/);
    assert.match(text, /see skiff authz explain/);
    assert.equal(
      await panel.locator('pre.command').innerText(),
      `skiff authz explain deploy/productpage-v1 -n default --from-principal ${RATINGS_PRINCIPAL} --method GET --path /`,
      'the command the previous test ran',
    );
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'graph-denied-edge.png'), fullPage: true });

    // The node's panel: what productpage's proxy denied.
    await page.evaluate((id) => (globalThis as unknown as { skiffGraph: Core }).skiffGraph.getElementById(id).emit('tap'), PRODUCTPAGE);
    await eventually(async () => /productpage v1/.test(await panel.locator('h3').innerText()), 'the node panel', 5_000);
    assert.match(await panel.innerText(), /DENIED BY AUTHORIZATION: 5[\s\S]*productpage-v1\.default/i);
  });

  test("the rate-limits API lists each proxy's filters as skiff proxy-config ratelimit prints them, beside the 429s on its edges", async () => {
    await started().delete(DENY_RATINGS);
    await started().apply(join(RATELIMIT_FIXTURES, 'local-ratelimit-listener.yaml'));
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push((await started().exec('deploy/ratings-v1', 'default', ['curl', '-s', 'productpage:9080/productpage', '-o', '/dev/null', '-w', '%{http_code}'])).stdout);
    assert.deepEqual(codes, ['200', '200', '200', '200', '429'], 'four tokens a minute');
    // The gateway's global filter and its descriptors, applied after the gateway's traffic (no rate-limit service runs, and the filter fails closed).
    await started().apply(join(RATELIMIT_FIXTURES, 'filter-ratelimit.yaml'));
    await started().apply(join(RATELIMIT_FIXTURES, 'filter-ratelimit-svc.yaml'));

    let answer: RateLimitsAnswer | undefined;
    // Each proxy is found by its workload's graph node (the proxies themselves are named by pod).
    const of = (name: string): ProxyRateLimits | undefined => answer?.proxies.find((p) => p.node === `workload:${name.split('.')[1] ?? ''}/${name.split('.')[0] ?? ''}`);
    await eventually(async () => {
      const res = await fetch(`${started().dashboardUrl!}/api/ratelimits?window=600`);
      assert.equal(res.status, 200);
      answer = (await res.json()) as RateLimitsAnswer;
      return (
        (of('productpage-v1.default')?.rateLimitedEdges.length ?? 0) > 0 &&
        of('istio-ingressgateway.istio-system')?.listing?.filters.some((f) => f.filter === 'envoy.filters.http.ratelimit') === true &&
        (of('istio-ingressgateway.istio-system')?.listing?.routes.length ?? 0) > 0
      );
    }, 'the filters and the 429s in the rate-limits API', 30_000).catch((err: unknown) => assert.fail(`${String(err)}: ${JSON.stringify(answer)}`));
    assert.equal(answer!.windowSeconds, 600);

    const productpage = of('productpage-v1.default')!;
    assert.equal(productpage.error, undefined);
    assert.deepEqual(
      productpage.listing?.filters.map((f) => [f.filter, f.statPrefix, f.settings]),
      [['envoy.filters.http.local_ratelimit', 'http_local_rate_limiter', '4 max, 4 per 60s; enabled 100%, enforced 100%']],
    );
    assert.match(productpage.listing.filters[0].listener, /^inbound/);
    // The one 429 on the edges into productpage: from ratings to the service, and the hop into the workload.
    const limited = productpage.rateLimitedEdges.map((e) => [e.source.startsWith('service:productpage') ? 'service:productpage' : e.source, e.target.startsWith('service:productpage') ? 'service:productpage' : e.target, e.rateLimited]);
    assert.deepEqual(limited.sort(), [['service:productpage', PRODUCTPAGE, 1], [RATINGS, 'service:productpage', 1]]);

    const gateway = of('istio-ingressgateway.istio-system')!;
    assert.deepEqual(
      gateway.listing?.filters.map((f) => [f.filter, f.settings]),
      [['envoy.filters.http.ratelimit', 'domain ratelimit at outbound|8081||ratelimit.default.svc.cluster.local; timeout 10000ms; fail closed']],
    );
    assert.ok(gateway.listing.routes.every((r) => r.route === '*' && r.local === '-' && r.descriptors === '[PATH=header :path]'), JSON.stringify(gateway.listing.routes));
    assert.deepEqual(gateway.rateLimitedEdges, [], 'no request was rate-limited at the gateway');
    assert.deepEqual(of('ratings-v1.default')?.listing, { filters: [], routes: [] }, 'no patch applies to ratings');
    assert.equal(answer!.proxies.filter((p) => p.listing !== null && p.listing.filters.length > 0).length, 2, 'only productpage and the gateway run rate-limit filters');

    // One listing, two readers: every row the API gives is a line of `skiff proxy-config ratelimit`.
    for (const [workload, namespace, proxy] of [['productpage-v1', 'default', productpage], ['istio-ingressgateway', 'istio-system', gateway]] as const) {
      const shown = await started().skiff(['proxy-config', 'ratelimit', `deploy/${workload}`, '-n', namespace]);
      assert.equal(shown.code, 0, shown.stderr);
      const lines = shown.stdout.split('\n').map((l) => l.split(/ {3,}/).join(' | '));
      for (const f of proxy.listing!.filters) assert.ok(lines.includes([f.listener, f.filter, f.statPrefix, f.settings].join(' | ')), `${workload}: ${JSON.stringify(f)} in\n${shown.stdout}`);
      for (const r of proxy.listing!.routes) assert.ok(lines.includes([r.routeConfig, r.virtualHost, r.route, r.local, r.descriptors].join(' | ')), `${workload}: ${JSON.stringify(r)} in\n${shown.stdout}`);
    }
  });

  test('in the browser, the Rate limits view shows each proxy\'s filters and the 429s on its edges', { skip: chromiumBrowser.skip }, async () => {
    const page = await browserPage();
    await page.goto(`${started().dashboardUrl!}/#/ratelimits`);
    await page.locator('#ratelimits-window').selectOption('600');
    const productpage = page.locator('section.rl-proxy[data-node="workload:default/productpage-v1"]');
    await eventually(async () => (await productpage.count()) === 1 && /ratings-v1\.default/.test(await productpage.innerText()), 'productpage\'s section with its 429s', 30_000);
    const text = await productpage.innerText();
    assert.match(text, /envoy\.filters\.http\.local_ratelimit\s+http_local_rate_limiter\s+4 max, 4 per 60s; enabled 100%, enforced 100%/);
    assert.match(text, /ratings-v1\.default\s+productpage\S*\s+1\s/);
    const gateway = page.locator('section.rl-proxy[data-node="workload:istio-system/istio-ingressgateway"]');
    const gatewayText = await gateway.innerText();
    assert.match(gatewayText, /envoy\.filters\.http\.ratelimit\s+ratelimit\s+domain ratelimit at outbound\|8081\|\|ratelimit\.default\.svc\.cluster\.local; timeout 10000ms; fail closed/);
    assert.match(gatewayText, /\[PATH=header :path\]/);
    assert.match(gatewayText, /None in this window\./);
    // ratings runs no filter, but the 429 it got is on its edge: it has a section saying both.
    const ratings = await page.locator('section.rl-proxy[data-node="workload:default/ratings-v1"]').innerText();
    assert.match(ratings, /No rate-limit filters \(no EnvoyFilter rate-limit patch applies to this proxy\)\./);
    assert.match(ratings, /ratings-v1\.default\s+productpage\S*\s+1\s/);
    const none = await page.locator('#ratelimit-none').innerText();
    assert.match(none, /^No rate-limit filters: .*details-v1-\S+\.default/);
    assert.doesNotMatch(none, /productpage|ingressgateway|ratings/);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'ratelimits.png'), fullPage: true });
  });

  test('the page reported no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
