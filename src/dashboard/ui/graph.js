// @ts-check
/**
 * The service graph, as Kiali's versioned-app graph: workloads (app + version) as circles,
 * services as triangles, edges labelled with their request rate, error share, rate-limited
 * share (429 RL, its own category: dotted, in the limit's colour) and requests authorization
 * denied (their own category too: in the denial colour, ending in a bar), coloured by health; an
 * edge's tooltip and side panel say who denied whom. When the graph spans several namespaces each is drawn as a box around its nodes
 * (a compound node, as Kiali boxes namespaces). It polls the graph; nodes keep their positions
 * until the set of nodes changes, so a live update never shuffles the picture. Clicking a node or
 * an edge opens its side panel; the graph is re-fitted when the panel narrows the canvas and
 * would otherwise hide nodes at its right edge.
 */
import { Poller, formatBytes, formatMs, formatPercent, formatRate, getJson, h, table } from './util.js';

/**
 * @typedef {import('../sources.js').ServiceGraph} ServiceGraph
 * @typedef {import('../sources.js').GraphNode} GraphNode
 * @typedef {import('../sources.js').GraphEdge} GraphEdge
 * @typedef {import('../sources.js').EdgeDenial} EdgeDenial
 * @typedef {import('cytoscape').Core} Core
 * @typedef {import('cytoscape').ElementDefinition} ElementDefinition
 */

const POLL_MS = 3000;
const WINDOWS = [
  ['60', 'last 1m'],
  ['300', 'last 5m'],
  ['600', 'last 10m'],
];
/** Kiali's health colours. */
const COLORS = { healthy: '#3e8635', degraded: '#e59700', failing: '#c9190b', idle: '#8a8d90' };
/** Edges with rate-limited requests (429 RL) while otherwise healthy. */
const RATE_LIMITED_COLOR = '#5752d1';
/** Edges with requests authorization denied (RBAC 403, ext_authz UAEX). */
export const DENIED_COLOR = '#a3157d';

/** @type {import('cytoscape').StylesheetJson} */
const STYLE = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-valign': 'bottom',
      'text-margin-y': 6,
      'font-size': 11,
      color: '#1f2328',
      'background-color': '#ffffff',
      'border-width': 3,
      'border-color': 'data(color)',
      width: 34,
      height: 34,
    },
  },
  { selector: 'node[kind = "service"]', style: { shape: 'triangle' } },
  {
    selector: 'node[kind = "namespace"]',
    style: {
      shape: 'round-rectangle',
      'background-color': '#f3f6fa',
      'background-opacity': 0.6,
      'border-width': 1,
      'border-style': 'dashed',
      'border-color': '#8a8d90',
      'text-valign': 'top',
      'text-halign': 'center',
      'text-margin-y': -4,
      'font-weight': 'bold',
      color: '#656d76',
      padding: '18px',
    },
  },
  { selector: 'node[kind = "unknown"]', style: { shape: 'diamond', 'border-style': 'dashed' } },
  {
    selector: 'edge',
    style: {
      width: 2,
      'curve-style': 'bezier',
      'line-color': 'data(color)',
      'target-arrow-color': 'data(color)',
      'target-arrow-shape': 'triangle',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'font-size': 10,
      color: '#3a3f45',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': '2px',
    },
  },
  { selector: 'edge[protocol = "tcp"]', style: { 'line-style': 'dashed' } },
  // Requests a rate limit answered (429 RL) are their own category: a dotted line in the limit's colour, not an error.
  { selector: 'edge[?rateLimited]', style: { 'line-style': 'dotted', 'target-arrow-color': RATE_LIMITED_COLOR, 'line-color': RATE_LIMITED_COLOR } },
  // Requests authorization denied: the denial colour and a bar for an arrowhead (the call stops there), whatever the edge's health.
  { selector: 'edge[?denied]', style: { width: 3, 'line-color': DENIED_COLOR, 'target-arrow-color': DENIED_COLOR, 'target-arrow-shape': 'tee' } },
  { selector: ':selected', style: { 'overlay-color': '#0b6bcb', 'overlay-opacity': 0.18, 'overlay-padding': 6 } },
];

/** How a node is named on the graph and in the panels. @param {GraphNode} n */
export function nodeLabel(n) {
  if (n.kind === 'workload') return n.app !== undefined ? `${n.app}${n.version !== undefined ? `\n${n.version}` : ''}` : (n.workload ?? n.id);
  if (n.kind === 'service') return shortHost(n.service ?? n.id);
  return 'unknown';
}

/** `reviews.default.svc.cluster.local` → `reviews`; other hosts stay whole. @param {string} host */
function shortHost(host) {
  const m = /^([^.]+)\.[^.]+\.svc\.cluster\.local$/.exec(host);
  return m?.[1] ?? host;
}

/** Kiali's padlock on an edge that carries mutual TLS. */
export const PADLOCK = '\u{1F512}';

/** @param {GraphEdge} e */
export function edgeLabel(e) {
  const lock = e.mtlsShare > 0 ? `${PADLOCK} ` : '';
  if (e.protocol === 'tcp') return e.rate > 0 || e.bytesPerSecond > 0 ? `${lock}${formatBytes(e.bytesPerSecond)}` : '';
  if (e.rate === 0) return '';
  return `${lock}${formatRate(e.rate)} rps${e.errorRate > 0 ? `\n${formatPercent(e.errorRate)} err` : ''}${e.rateLimitedRate > 0 ? `\n${formatPercent(e.rateLimitedRate)} rate-limited` : ''}${e.denied > 0 ? `\n${e.denied} denied` : ''}`;
}

/** What the filter that denied is called in the panels. @param {EdgeDenial['by']} by */
const deniedByText = (by) => (by === 'rbac' ? 'RBAC (AuthorizationPolicy)' : 'ext_authz (CUSTOM)');

/** A caller's principal as `skiff authz explain --from-principal` takes it. @param {string} principal */
const bareprincipal = (principal) => principal.replace(/^spiffe:\/\//, '');

/**
 * The `skiff authz explain` command that names the policy and rule behind a denial (Istio's
 * metrics do not): the deciding workload and the caller's principal; the method and path are the
 * request's own. @param {EdgeDenial} d
 */
export function explainCommand(d) {
  const from = d.principal === 'unknown' || d.principal === '' ? '' : ` --from-principal ${bareprincipal(d.principal)}`;
  return `skiff authz explain deploy/${d.workload} -n ${d.namespace}${from} --method GET --path /`;
}

/** The edge's tooltip: its rate, and what was denied and by whom. @param {GraphEdge} e @param {(id: string) => string} name */
export function edgeTooltip(e, name) {
  const lines = [`${name(e.source)} → ${name(e.target)}: ${e.protocol === 'tcp' ? formatBytes(e.bytesPerSecond) : `${formatRate(e.rate)} rps`}`];
  if (e.denied > 0) {
    lines.push(`${e.denied} requests denied by authorization (${formatPercent(e.deniedRate)})`);
    for (const d of e.denials) lines.push(`  ${d.requests} by ${deniedByText(d.by)} at ${d.workload}.${d.namespace}, caller ${bareprincipal(d.principal)}`);
  }
  if (e.rateLimited > 0) lines.push(`${e.rateLimited} requests rate-limited (${formatPercent(e.rateLimitedRate)})`);
  return lines.join('\n');
}

/** What share of an edge is mutual TLS, as its panel says it. @param {number} share */
const mtlsText = (share) => (share <= 0 ? 'no' : share >= 1 ? `${PADLOCK} yes` : `${PADLOCK} ${formatPercent(share)} of requests`);

/** @param {GraphNode['health']} health */
const healthBadge = (health) => h('span', { class: `badge ${health}` }, health);

export class GraphView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    /** @type {Core | undefined} */
    this.cy = undefined;
    /** @type {ServiceGraph | undefined} */
    this.graph = undefined;
    /** @type {string | undefined} */
    this.selected = undefined;
    /** @type {Set<string>} */
    this.namespacesSeen = new Set();
    this.poller = new Poller(() => this.load(), POLL_MS);

    this.namespaceSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'graph-namespace', onchange: () => this.poller.refresh() }, h('option', { value: '' }, 'All namespaces')));
    this.windowSelect = /** @type {HTMLSelectElement} */ (
      h('select', { id: 'graph-window', onchange: () => this.poller.refresh() }, WINDOWS.map(([v, t]) => h('option', { value: v }, t)))
    );
    this.canvas = h('div', { id: 'graph-canvas', class: 'graph-canvas' });
    this.emptyNote = h('div', { class: 'graph-empty' });
    this.panel = h('aside', { id: 'side-panel', class: 'side-panel', hidden: true });
    this.trafficBody = h('div');
    root.append(
      h(
        'div',
        { class: 'toolbar' },
        h('label', {}, 'Namespace', this.namespaceSelect),
        h('label', {}, 'Traffic', this.windowSelect),
        h('span', { class: 'legend' }, [...Object.entries(COLORS), ['rate-limited', RATE_LIMITED_COLOR], ['denied', DENIED_COLOR]].map(([name, c]) => h('span', { style: `--c: ${c}` }, name))),
        h('span', { class: 'hint' }, '○ workload  △ service; click a node or an edge for details'),
      ),
      h('div', { class: 'graph-body' }, h('div', { class: 'graph-canvas-wrap' }, this.canvas), this.panel),
      h('details', { class: 'traffic', open: true }, h('summary', {}, 'Traffic between nodes'), this.trafficBody),
    );
    this.canvas.append(this.emptyNote);
  }

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
  }

  async load() {
    const params = new URLSearchParams({ window: this.windowSelect.value });
    if (this.namespaceSelect.value !== '') params.set('namespace', this.namespaceSelect.value);
    const graph = /** @type {ServiceGraph} */ (await getJson(`/api/graph?${params.toString()}`));
    this.render(graph);
  }

  /** @param {ServiceGraph} graph */
  render(graph) {
    this.graph = graph;
    this.updateNamespaces(graph.namespaces);
    const cy = this.ensureCy();
    const nodes = [...graph.nodes].sort((a, b) => (a.id < b.id ? -1 : 1));
    const edges = [...graph.edges].sort((a, b) => (a.id < b.id ? -1 : 1));
    // A box per namespace once there are several; `unknown` callers stay outside every box.
    const namespaces = [...new Set(nodes.filter((n) => n.kind !== 'unknown').map((n) => n.namespace))].sort();
    const boxed = namespaces.length > 1;
    /** @type {ElementDefinition[]} */
    const wanted = [
      ...(boxed ? namespaces.map((ns) => ({ group: /** @type {const} */ ('nodes'), data: { id: namespaceBoxId(ns), label: ns, kind: 'namespace' }, selectable: false })) : []),
      ...nodes.map((n) => ({
        group: /** @type {const} */ ('nodes'),
        data: { id: n.id, label: nodeLabel(n), kind: n.kind, color: COLORS[n.health], ...(boxed && n.kind !== 'unknown' ? { parent: namespaceBoxId(n.namespace) } : {}) },
      })),
      ...edges.map((e) => ({
        group: /** @type {const} */ ('edges'),
        data: {
          id: e.id,
          source: e.source,
          target: e.target,
          label: edgeLabel(e),
          protocol: e.protocol,
          color: COLORS[e.health],
          rateLimited: e.rateLimitedRate > 0 && e.health === 'healthy',
          denied: e.denied > 0,
        },
      })),
    ];
    const ids = new Set(wanted.map((d) => d.data.id));
    let changed = false;
    cy.batch(() => {
      const gone = cy.elements().filter((el) => !ids.has(el.id()));
      if (gone.nonempty()) changed = true;
      gone.remove();
      for (const def of wanted) {
        const el = cy.getElementById(def.data.id ?? '');
        if (el.empty()) {
          cy.add(def);
          changed = true;
        } else if (el.isNode() && /** @type {string | undefined} */ (el.data('parent')) !== /** @type {string | undefined} */ (def.data.parent)) {
          // Boxes came or went: a node's parent is changed by moving it, not by its data.
          el.move({ parent: /** @type {string | undefined} */ (def.data.parent) ?? null });
          el.data(def.data);
          changed = true;
        } else {
          el.data(def.data);
        }
      }
    });
    if (changed) this.layout(cy);
    this.emptyNote.textContent =
      graph.nodes.length === 0 ? `No traffic in the ${this.windowSelect.selectedOptions[0]?.textContent ?? 'window'}. Send requests through the ingress gateway and it appears here.` : '';
    this.renderTraffic(graph);
    this.renderPanel();
  }

  /** @returns {Core} */
  ensureCy() {
    if (this.cy !== undefined) return this.cy;
    const cytoscape = /** @type {{ cytoscape?: typeof import('cytoscape') }} */ (/** @type {unknown} */ (window)).cytoscape;
    if (cytoscape === undefined) throw new Error('Cytoscape.js did not load (/vendor/cytoscape.min.js)');
    const cy = cytoscape({ container: this.canvas, style: STYLE, minZoom: 0.2, maxZoom: 3 });
    cy.on('tap', 'node[kind != "namespace"], edge', /** @param {{ target: { id(): string } }} ev */ (ev) => this.select(ev.target.id()));
    cy.on('tap', (ev) => {
      if (ev.target === cy) this.select(undefined);
    });
    // The canvas's own tooltip names what the edge under the pointer carries (Cytoscape draws no tooltips).
    cy.on('mouseover', 'edge', /** @param {{ target: { id(): string } }} ev */ (ev) => {
      const edge = this.graph?.edges.find((e) => e.id === ev.target.id());
      if (edge !== undefined) this.canvas.title = edgeTooltip(edge, (id) => this.nodeName(id));
    });
    cy.on('mouseout', 'edge', () => this.canvas.removeAttribute('title'));
    // For the browser console and automation: the graph as Cytoscape holds it.
    Object.assign(window, { skiffGraph: cy });
    this.cy = cy;
    return cy;
  }

  /** Left to right from the nodes nothing calls (the gateway, outside traffic), as Kiali draws it. @param {Core} cy */
  layout(cy) {
    // Namespace boxes take their size from their nodes: only the nodes inside are laid out.
    const placed = cy.nodes('[kind != "namespace"]');
    const roots = placed.filter((n) => n.incomers('edge').empty());
    placed.union(cy.edges()).layout({
      name: 'breadthfirst',
      directed: true,
      ...(roots.nonempty() ? { roots } : {}),
      spacingFactor: 1.1,
      padding: 40,
      animate: false,
      fit: true,
      transform: (_node, pos) => ({ x: pos.y * 1.6, y: pos.x * 0.7 }),
    }).run();
  }

  /** @param {string[]} namespaces */
  updateNamespaces(namespaces) {
    for (const ns of namespaces) {
      if (this.namespacesSeen.has(ns) || ns === 'unknown') continue;
      this.namespacesSeen.add(ns);
      this.namespaceSelect.append(h('option', { value: ns }, ns));
    }
  }

  /** @param {string | undefined} id */
  select(id) {
    this.selected = id;
    const cy = this.cy;
    if (cy !== undefined) {
      cy.elements().unselect();
      if (id !== undefined) cy.getElementById(id).select();
    }
    this.renderPanel();
  }

  /** After the canvas changed size: the same view, or the whole graph fitted if part of it fell outside. */
  refit() {
    const cy = this.cy;
    if (cy === undefined) return;
    cy.resize();
    const box = cy.elements().renderedBoundingBox();
    if (cy.elements().nonempty() && (box.x1 < 0 || box.y1 < 0 || box.x2 > cy.width() || box.y2 > cy.height())) cy.fit(undefined, 40);
  }

  /** @param {string} id */
  nodeName(id) {
    const n = this.graph?.nodes.find((x) => x.id === id);
    return n === undefined ? id : nodeLabel(n).replace('\n', ' ');
  }

  renderPanel() {
    const graph = this.graph;
    const id = this.selected;
    const wasHidden = this.panel.hidden;
    this.panel.hidden = id === undefined;
    // The canvas changes width with the panel; Cytoscape measures its container only when told,
    // and nodes drawn near the right edge would then sit under the panel: fit them in again.
    if (wasHidden !== this.panel.hidden) this.refit();
    if (id === undefined || graph === undefined) return;
    const close = h('button', { class: 'close', title: 'close', 'aria-label': 'close', onclick: () => this.select(undefined) }, '×');
    const node = graph.nodes.find((n) => n.id === id);
    const edge = graph.edges.find((e) => e.id === id);
    let content;
    if (node !== undefined) content = this.nodePanel(graph, node);
    else if (edge !== undefined) content = this.edgePanel(edge);
    else content = [h('h3', {}, this.nodeName(id)), h('p', { class: 'subtitle' }, 'No longer in the graph for this window.')];
    this.panel.replaceChildren(close, ...content);
  }

  /** @param {ServiceGraph} graph @param {GraphNode} node @returns {HTMLElement[]} */
  nodePanel(graph, node) {
    const inbound = graph.edges.filter((e) => e.target === node.id);
    const outbound = graph.edges.filter((e) => e.source === node.id);
    /** @param {string} title @param {GraphEdge[]} list @param {'source' | 'target'} other */
    const section = (title, list, other) => {
      const rate = list.reduce((s, e) => s + e.rate, 0);
      const errors = list.reduce((s, e) => s + e.rate * e.errorRate, 0);
      return [
        h('h4', {}, `${title}: ${formatRate(rate)} rps${rate > 0 ? `, ${formatPercent(errors / rate)} errors` : ''}`),
        list.length === 0
          ? h('p', { class: 'subtitle' }, 'none')
          : h(
              'table',
              { class: 'data compact' },
              h('tbody', {}, list.map((e) => h('tr', { class: 'clickable', onclick: () => this.select(e.id) }, h('td', {}, this.nodeName(e[other])), h('td', { class: 'num' }, `${formatRate(e.rate)} rps`), h('td', { class: 'num' }, formatPercent(e.errorRate))))),
            ),
      ];
    };
    return [
      h('h3', {}, nodeLabel(node).replace('\n', ' ')),
      h('div', { class: 'subtitle' }, `${node.kind} in ${node.namespace}`),
      facts([
        ['Health', healthBadge(node.health)],
        ['Namespace', node.namespace],
        ['Workload', node.workload],
        ['App', node.app],
        ['Version', node.version],
        ['Service', node.service],
      ]),
      ...section('Inbound', inbound, 'source'),
      ...section('Outbound', outbound, 'target'),
      ...denialsSection(nodeDenials(node, inbound, outbound)),
    ];
  }

  /** @param {GraphEdge} edge @returns {HTMLElement[]} */
  edgePanel(edge) {
    const byCode = Object.entries(edge.byCode).sort(([a], [b]) => a.localeCompare(b));
    const byFlags = Object.entries(edge.byFlags).sort(([a], [b]) => a.localeCompare(b));
    const total = byCode.reduce((s, [, r]) => s + r, 0);
    const tcp = edge.protocol === 'tcp';
    return [
      h('h3', {}, `${this.nodeName(edge.source)} → ${this.nodeName(edge.target)}`),
      h('div', { class: 'subtitle' }, `${edge.protocol.toUpperCase()} edge`),
      facts(
        tcp
          ? [
              ['Health', healthBadge(edge.health)],
              ['Connections', `${formatRate(edge.rate)} /s`],
              ['Throughput', formatBytes(edge.bytesPerSecond)],
              ['Mutual TLS', mtlsText(edge.mtlsShare)],
            ]
          : [
              ['Health', healthBadge(edge.health)],
              ['Request rate', `${formatRate(edge.rate)} rps`],
              ['Error rate', formatPercent(edge.errorRate)],
              ['Rate-limited', formatPercent(edge.rateLimitedRate)],
              ['Denied', edge.denied > 0 ? `${edge.denied} (${formatPercent(edge.deniedRate)})` : '0'],
              ['Latency p50', formatMs(edge.p50Ms)],
              ['Latency p99', formatMs(edge.p99Ms)],
              ['Mutual TLS', mtlsText(edge.mtlsShare)],
            ],
      ),
      ...(tcp
        ? []
        : [
            h('h4', {}, 'Requests by response code'),
            rateTable(byCode, total, 'code', 'no requests in this window'),
            h('h4', {}, 'Response flags'),
            rateTable(byFlags, total, 'flags', 'none: every request was answered by its destination'),
            ...denialsSection(edge.denials),
          ]),
    ];
  }

  /** @param {ServiceGraph} graph */
  renderTraffic(graph) {
    const edges = [...graph.edges].sort((a, b) => b.rate - a.rate || (a.id < b.id ? -1 : 1));
    const rows = edges.map((e) =>
      h(
        'tr',
        { class: 'clickable', 'data-edge-id': e.id, onclick: () => this.select(e.id) },
        h('td', {}, this.nodeName(e.source)),
        h('td', {}, this.nodeName(e.target)),
        h('td', {}, e.protocol),
        h('td', { class: 'num' }, e.protocol === 'tcp' ? formatBytes(e.bytesPerSecond) : `${formatRate(e.rate)} rps`),
        h('td', { class: 'num' }, e.protocol === 'tcp' ? '–' : formatPercent(e.errorRate)),
        h('td', { class: 'num' }, e.protocol === 'tcp' ? '–' : formatPercent(e.rateLimitedRate)),
        h('td', { class: 'num' }, e.protocol === 'tcp' ? '–' : String(e.denied)),
        h('td', { class: 'num' }, formatMs(e.p50Ms)),
        h('td', { class: 'num' }, formatMs(e.p99Ms)),
        h('td', {}, healthBadge(e.health)),
      ),
    );
    this.trafficBody.replaceChildren(table(['From', 'To', 'Protocol', 'Rate', 'Errors', 'Rate-limited', 'Denied', 'p50', 'p99', 'Health'], rows, 'No traffic in this window.'));
  }
}

/**
 * What authorization denied at a node: for a service, every denial of the requests it received;
 * for a workload, those its own proxy decided (its sidecar's, on the hop into it; a gateway's, on
 * its calls out). @param {GraphNode} node @param {GraphEdge[]} inbound @param {GraphEdge[]} outbound
 * @returns {EdgeDenial[]}
 */
function nodeDenials(node, inbound, outbound) {
  if (node.kind === 'service') return inbound.flatMap((e) => e.denials);
  if (node.kind !== 'workload') return [];
  return [...inbound, ...outbound].flatMap((e) => e.denials).filter((d) => d.workload === node.workload && d.namespace === node.namespace);
}

/**
 * The denials as a table (filter, where, caller, requests) and, since Istio's metrics do not name
 * the policy that decided, the `skiff authz explain` command that does for each.
 * @param {EdgeDenial[]} denials @returns {HTMLElement[]}
 */
function denialsSection(denials) {
  if (denials.length === 0) return [];
  const total = denials.reduce((n, d) => n + d.requests, 0);
  return [
    h('h4', {}, `Denied by authorization: ${total}`),
    h(
      'table',
      { class: 'data compact denials' },
      h('thead', {}, h('tr', {}, h('th', {}, 'filter'), h('th', {}, 'at'), h('th', {}, 'caller'), h('th', { class: 'num' }, 'requests'))),
      h(
        'tbody',
        {},
        denials.map((d) =>
          h('tr', { 'data-denied-by': d.by }, h('td', {}, deniedByText(d.by)), h('td', {}, `${d.workload}.${d.namespace}`), h('td', { class: 'mono' }, bareprincipal(d.principal)), h('td', { class: 'num' }, String(d.requests))),
        ),
      ),
    ),
    h(
      'p',
      { class: 'subtitle explain' },
      "Istio's metrics do not name the policy that denied (Envoy writes it only to the access log's response code details); see skiff authz explain, which names the policy and rule for a request:",
    ),
    ...[...new Set(denials.map(explainCommand))].map((cmd) => h('pre', { class: 'mono command' }, cmd)),
  ];
}

/** @param {string} namespace */
const namespaceBoxId = (namespace) => `namespace:${namespace}`;

/** A definition list of the facts that are known. @param {[string, string | HTMLElement | undefined][]} pairs */
function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}

/** @param {[string, number][]} entries @param {number} total @param {string} heading @param {string} empty */
function rateTable(entries, total, heading, empty) {
  if (entries.length === 0) return h('p', { class: 'subtitle' }, empty);
  return h(
    'table',
    { class: 'data compact' },
    h('thead', {}, h('tr', {}, h('th', {}, heading), h('th', { class: 'num' }, 'rps'), h('th', { class: 'num' }, 'share'))),
    h('tbody', {}, entries.map(([k, r]) => h('tr', {}, h('td', { class: 'mono' }, k), h('td', { class: 'num' }, formatRate(r)), h('td', { class: 'num' }, total > 0 ? formatPercent(r / total) : '–')))),
  );
}
