/**
 * The dashboard end to end, in a real browser (Debian's Chromium driven by playwright-core):
 * Bookinfo runs on a local mesh with every request traced, traffic goes through the ingress
 * gateway, and the dashboard skiffd serves shows the Bookinfo service graph with rates on its
 * edges (a padlock on those that carry mutual TLS, as Kiali), its namespaces as boxes and a side
 * panel for a clicked edge (the graph still whole beside it), says how to trace more while few traces exist, lists the traces and draws one as a
 * waterfall, and shows the applied config and the proxies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import type { Core } from 'cytoscape';
import { eventually, startMesh } from '../e2e/harness.js';
import type { Mesh } from '../e2e/harness.js';
import { bookinfoMesh, projectBookinfo } from '../e2e/bookinfo.js';
import { repoRoot } from '../helpers/cli.js';
import { tool } from '../helpers/tools.js';

/** Where the views' screenshots go, for a reader of a CI run to look at. */
const SCREENSHOTS = join(repoRoot, 'test-results', 'dashboard');

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const chromiumBrowser = tool('chromium');

/** Every request traced, as Istio's tracing tasks configure it. */
const TRACE_EVERYTHING = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  tracing:
  - randomSamplingPercentage: 100.0
`;

const ROUTE_TO_NOWHERE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: nowhere
spec:
  hosts: [nowhere]
  http:
  - route:
    - destination:
        host: nowhere
`;

interface GraphSeen {
  nodes: string[];
  edges: { source: string; target: string; label: string }[];
}

describe('the dashboard in a browser, on Bookinfo', { skip: chromiumBrowser.skip, timeout: 300_000 }, () => {
  let mesh: Mesh | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let userDataDir = '';
  let dashboardUrl = '';
  let sending = true;
  let traffic: Promise<void> | undefined;
  const pageErrors: string[] = [];
  const failedViews: string[] = [];

  before(async () => {
    const executablePath = chromiumBrowser.require();
    mesh = await startMesh(bookinfoMesh(projectBookinfo));
    assert.ok(mesh.dashboardUrl !== undefined, `skiff up names the dashboard:\n${mesh.upOutput}`);
    dashboardUrl = mesh.dashboardUrl;
    await mesh.apply(TRACE_EVERYTHING);
    userDataDir = await mkdtemp(join(tmpdir(), 'skiff-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
  });

  /** A steady trickle of product-page views, from the first test that needs traffic to the end. */
  function startTraffic(): void {
    const m = mesh!;
    traffic ??= (async () => {
      while (sending) {
        const res = await m.get('/productpage').catch((err: unknown) => ({ status: 0, body: String(err) }));
        if (res.status !== 200) failedViews.push(`${res.status} ${res.body.slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  after(async () => {
    sending = false;
    await traffic?.catch(() => undefined);
    await context?.close();
    await mesh?.stop();
    if (userDataDir !== '') await rm(userDataDir, { recursive: true, force: true });
  });

  test('skiff dashboard prints the URL the mesh serves it on', async () => {
    const res = await mesh!.skiff(['dashboard']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), dashboardUrl);
  });

  test('before traffic, the traces view says how to trace more requests', async () => {
    await page.goto(`${dashboardUrl}/#/traces`);
    const hint = page.locator('#trace-sampling-hint');
    await hint.waitFor({ state: 'visible' });
    const text = await hint.innerText();
    assert.match(text, /skiff up --trace-sampling 100/);
    assert.match(text, /defaultConfig\.tracing\.sampling/);
    assert.match(text, /Telemetry resource with tracing: \[\{ randomSamplingPercentage: 100 \}\]/);
    await screenshot(page, 'traces-few');
  });

  test('the graph shows Bookinfo: productpage, details, reviews v1/v2/v3 and ratings, with request rates on the edges, in a box per namespace', async () => {
    startTraffic();
    await page.goto(`${dashboardUrl}/#/graph`);
    let seen: GraphSeen = { nodes: [], edges: [] };
    const wanted = ['productpage\nv1', 'details\nv1', 'reviews\nv1', 'reviews\nv2', 'reviews\nv3', 'ratings\nv1', 'productpage', 'details', 'reviews', 'ratings'];
    await eventually(
      async () => {
        seen = await readGraph(page);
        return wanted.every((n) => seen.nodes.includes(n)) && seen.edges.filter((e) => /rps/.test(e.label)).length >= 8;
      },
      'the Bookinfo graph with rates',
      60_000,
    ).catch((err: unknown) => assert.fail(`${String(err)}; the graph shows ${JSON.stringify(seen, null, 1)}`));
    const label = (source: string, target: string): string | undefined => seen.edges.find((e) => e.source === source && e.target === target)?.label;
    // Sidecars talk automatic mutual TLS: the edges carry Kiali's padlock.
    assert.match(label('productpage\nv1', 'reviews') ?? '', /^\u{1F512} [\d.<]+ rps/u, 'productpage calls reviews, over mutual TLS');
    assert.match(label('productpage\nv1', 'details') ?? '', /^\u{1F512} [\d.<]+ rps/u, 'productpage calls details, over mutual TLS');
    for (const v of ['v1', 'v2', 'v3']) assert.match(label('reviews', `reviews\n${v}`) ?? '', /rps/, `the reviews service sends to reviews ${v}`);
    for (const v of ['v2', 'v3']) assert.match(label(`reviews\n${v}`, 'ratings') ?? '', /rps/, `reviews ${v} calls ratings`);
    assert.equal(label('reviews\nv1', 'ratings'), undefined, 'reviews v1 does not call ratings');
    // The gateway runs in istio-system, Bookinfo in default: each namespace is a box around its nodes.
    const boxes = await page.evaluate(() => {
      const cy = (globalThis as unknown as { skiffGraph: Core }).skiffGraph;
      const box = (label: string): string | undefined => cy.nodes().filter((n) => n.data('label') === label)[0]?.parent().data('label') as string | undefined;
      return {
        namespaces: cy.nodes('[kind = "namespace"]').map((n) => String(n.data('label'))).sort(),
        productpage: box('productpage\nv1'),
        reviews: box('reviews'),
        gateway: cy.nodes().filter((n) => String(n.data('label')).startsWith('istio-ingressgateway'))[0]?.parent().data('label') as string | undefined,
      };
    });
    assert.deepEqual(boxes, { namespaces: ['default', 'istio-system'], productpage: 'default', reviews: 'default', gateway: 'istio-system' });
    // The same figures as text, for readers that do not see the canvas.
    assert.ok((await page.locator('.traffic tr[data-edge-id]').count()) >= 8);

    // A node the reader moved stays where it was put when the graph refreshes, and so does every other.
    const details = await page.evaluate(() => {
      const cy = (globalThis as unknown as { skiffGraph: Core }).skiffGraph;
      const node = cy.nodes().filter((n) => n.data('label') === 'details\nv1')[0];
      return { id: node.id(), at: node.renderedPosition(), was: { ...node.position() } };
    });
    const canvas = await page.locator('#graph-canvas').boundingBox();
    assert.ok(canvas !== null);
    await page.mouse.move(canvas.x + details.at.x, canvas.y + details.at.y);
    await page.mouse.down();
    await page.mouse.move(canvas.x + details.at.x + 60, canvas.y + details.at.y + 40, { steps: 5 });
    await page.mouse.up();
    const before = await positions(page);
    assert.notDeepEqual(before[details.id], details.was, 'the node was dragged');
    const stamp = await page.locator('#status').innerText();
    await eventually(async () => (await page.locator('#status').innerText()) !== stamp, 'the graph to refresh', 30_000);
    assert.deepEqual(await positions(page), before, 'a refresh keeps every node where it was');
    await screenshot(page, 'graph');
  });

  test('clicking an edge opens its side panel with rates by code and latencies', async () => {
    const point = await page.evaluate(() => {
      const cy = (globalThis as unknown as { skiffGraph: Core }).skiffGraph;
      const edge = cy.edges().filter((e) => e.source().data('label') === 'productpage\nv1' && e.target().data('label') === 'reviews')[0];
      const mid = edge.renderedMidpoint();
      return { x: mid.x, y: mid.y };
    });
    const box = await page.locator('#graph-canvas').boundingBox();
    assert.ok(box !== null);
    await page.mouse.click(box.x + point.x, box.y + point.y);
    const panel = page.locator('#side-panel');
    await panel.waitFor({ state: 'visible' });
    const text = await panel.innerText();
    assert.match(text, /productpage v1 → reviews/);
    assert.match(text, /Request rate\s+[\d.<]+ rps/);
    assert.match(text, /Latency p50\s+[\d.]+ m?s/);
    assert.match(text, /Latency p99\s+[\d.]+ m?s/);
    assert.match(text, /REQUESTS BY RESPONSE CODE[\s\S]*200/i);
    assert.match(text, /Mutual TLS\s+\u{1F512} yes/u);
    // The panel took its width from the canvas: every node is still drawn inside what is left of it.
    await eventually(
      async () => {
        const outside = await page.evaluate(() => {
          const cy = (globalThis as unknown as { skiffGraph: Core }).skiffGraph;
          return cy
            .nodes()
            .filter((n) => {
              const b = n.renderedBoundingBox({ includeLabels: false });
              return b.x1 < 0 || b.y1 < 0 || b.x2 > cy.width() || b.y2 > cy.height();
            })
            .map((n) => String(n.data('label')));
        });
        return outside.length === 0;
      },
      'every node inside the canvas beside the panel',
      5_000,
    );
    const [canvasBox, panelBox] = [await page.locator('#graph-canvas').boundingBox(), await panel.boundingBox()];
    assert.ok(canvasBox !== null && panelBox !== null && canvasBox.x + canvasBox.width <= panelBox.x, 'the canvas ends where the panel begins');
    await screenshot(page, 'graph-edge-panel');
  });

  test('the traces view lists traces; one opens as a waterfall of productpage, details, reviews and ratings spans', async () => {
    await page.goto(`${dashboardUrl}/#/traces`);
    // A trace through reviews v2 or v3 (which call ratings) whose spans have all arrived: each proxy reports its own.
    let row = page.locator('#trace-list tr[data-trace-id]');
    for (const service of ['istio-ingressgateway.', 'productpage.default', 'details.default', 'reviews.default', 'ratings.default']) row = row.filter({ hasText: service });
    row = row.first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    // With every request traced the list fills up, and the advice on sampling goes.
    await page.locator('#trace-sampling-hint').waitFor({ state: 'detached', timeout: 30_000 });
    const traceId = await row.getAttribute('data-trace-id');
    assert.ok(traceId !== null);
    // By its id: the list refreshes while we look, and the first row may by then be another trace.
    await page.locator(`#trace-list tr[data-trace-id="${traceId}"]`).click();
    await page.waitForURL(`**/#/traces/${traceId}`);
    const spans = page.locator('#waterfall .span-row');
    await spans.first().waitFor({ state: 'visible' });
    const services = new Set((await attributes(spans, 'data-service')).map((s) => s.split('.')[0]));
    for (const s of ['productpage', 'details', 'reviews', 'ratings']) assert.ok(services.has(s), `a ${s} span in the waterfall (spans of: ${[...services].join(', ')})`);
    // Bars sit on the trace's time axis: each starts within it and is no wider than it.
    const bars = (await attributes(page.locator('#waterfall .span-bar'), 'style')).map((style) => ({
      left: Number(/left: ([\d.]+)%/.exec(style)?.[1]),
      width: Number(/width: ([\d.]+)%/.exec(style)?.[1]),
    }));
    assert.ok(bars.length >= 4);
    for (const b of bars) assert.ok(b.left >= 0 && b.width > 0 && b.left + b.width <= 100.01, JSON.stringify(b));
    await screenshot(page, 'trace-waterfall');
  });

  test('the config view shows the applied resources with their validation', async () => {
    // A route to a host the mesh does not know: analyze's IST0101, and no Bookinfo request touched.
    await mesh!.apply(ROUTE_TO_NOWHERE);
    await page.goto(`${dashboardUrl}/#/config`);
    const rows = page.locator('#config-list tr[data-kind]');
    await rows.first().waitFor({ state: 'visible' });
    for (const [kind, name] of [
      ['Gateway', 'bookinfo-gateway'],
      ['VirtualService', 'bookinfo'],
      ['Deployment', 'reviews-v3'],
      ['Telemetry', 'mesh-default'],
    ]) {
      assert.equal(await page.locator(`#config-list tr[data-kind="${kind}"][data-name="${name}"]`).count(), 1, `${kind} ${name} is listed`);
    }
    const flagged = page.locator('#config-list tr[data-kind="VirtualService"][data-name="nowhere"]');
    assert.match(await flagged.innerText(), /Error\s+IST0101\s+Referenced host not found: "nowhere"/);
    assert.equal(await page.locator('#config-list tr').nth(1).getAttribute('data-name'), 'nowhere', 'resources with errors come first');
    assert.match(await page.locator('#config-list tr[data-kind="Gateway"][data-name="bookinfo-gateway"]').innerText(), /OK/);
    await screenshot(page, 'config');
  });

  test('the proxies view lists every sidecar and the gateway as SYNCED', async () => {
    await page.goto(`${dashboardUrl}/#/proxies`);
    const rows = page.locator('#proxy-list tr[data-proxy-id]');
    await rows.first().waitFor({ state: 'visible' });
    const text = await page.locator('#proxy-list').innerText();
    for (const workload of ['productpage-v1', 'details-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'ratings-v1']) assert.match(text, new RegExp(workload), `${workload}'s sidecar is listed`);
    assert.match(text, /gateway/);
    assert.ok((await rows.count()) >= 7);
    assert.equal(await page.locator('#proxy-list .badge:not(.SYNCED)').count(), 0, 'every proxy is SYNCED');
    await screenshot(page, 'proxies');
  });

  test('the page reported no script errors or failed loads on the way, and every product page view succeeded', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(failedViews, []);
  });
});

/** Each node's position in the graph's own coordinates (independent of zoom and pan). */
function positions(page: Page): Promise<Record<string, { x: number; y: number }>> {
  return page.evaluate(() => {
    const cy = (globalThis as unknown as { skiffGraph: Core }).skiffGraph;
    return Object.fromEntries(cy.nodes().map((n) => [n.id(), { ...n.position() }]));
  });
}

async function attributes(list: Locator, name: string): Promise<string[]> {
  const values: string[] = [];
  for (const el of await list.all()) values.push((await el.getAttribute(name)) ?? '');
  return values;
}

/** The graph as Cytoscape holds it on the page: node labels and edges between labels. */
function readGraph(page: Page): Promise<GraphSeen> {
  return page.evaluate(() => {
    const cy = (globalThis as unknown as { skiffGraph?: Core }).skiffGraph;
    if (cy === undefined) return { nodes: [], edges: [] };
    return {
      nodes: cy.nodes().map((n) => String(n.data('label'))),
      edges: cy.edges().map((e) => ({ source: String(e.source().data('label')), target: String(e.target().data('label')), label: String(e.data('label')) })),
    };
  });
}
