// @ts-check
/**
 * The rate-limit filters in force, per proxy, as `skiff proxy-config ratelimit` lists them (the
 * listeners' local and global filters, then the hosts and routes with their own settings), each
 * beside the requests a rate limit answered (429, flag RL) on its workload's edges over the chosen
 * window. Proxies no rate-limit patch applies to are named in one line.
 */
import { Poller, formatPercent, getJson, h, table } from './util.js';

/**
 * @typedef {import('../sources.js').RateLimitsAnswer} RateLimitsAnswer
 * @typedef {import('../sources.js').ProxyRateLimits} ProxyRateLimits
 * @typedef {import('../sources.js').ProxyRow} ProxyRow
 */

const POLL_MS = 5000;
const WINDOWS = [
  ['60', 'last 1m'],
  ['300', 'last 5m'],
  ['600', 'last 10m'],
];

/** `name.namespace` as istioctl names proxies. @param {ProxyRow} p */
const proxyName = (p) => (p.workload !== undefined ? `${p.workload}.${p.namespace ?? ''}` : p.id);

/** A graph node id as the view names it: a service by its host, a workload as `name.namespace`. @param {string} id */
export function nodeText(id) {
  if (id.startsWith('service:')) return id.slice('service:'.length);
  const m = /^workload:([^/]*)\/(.*)$/.exec(id);
  return m === null ? id : `${m[2] ?? ''}.${m[1] ?? ''}`;
}

export class RateLimitsView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.windowSelect = /** @type {HTMLSelectElement} */ (
      h('select', { id: 'ratelimits-window', onchange: () => this.poller.refresh() }, WINDOWS.map(([v, t]) => h('option', { value: v, selected: v === '300' }, t)))
    );
    this.summary = h('span', { class: 'hint' });
    this.body = h('div', { id: 'ratelimit-list' });
    root.append(h('div', { class: 'toolbar' }, h('label', {}, '429s (RL) over', this.windowSelect), this.summary), this.body);
    this.poller = new Poller(() => this.load(), POLL_MS);
  }

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
  }

  async load() {
    const answer = /** @type {RateLimitsAnswer} */ (await getJson(`/api/ratelimits?window=${encodeURIComponent(this.windowSelect.value)}`));
    const sorted = [...answer.proxies].sort((a, b) => proxyName(a.proxy).localeCompare(proxyName(b.proxy)));
    const shown = sorted.filter((p) => p.listing === null || p.listing.filters.length > 0 || p.listing.routes.length > 0 || p.rateLimitedEdges.length > 0);
    const without = sorted.filter((p) => !shown.includes(p));
    const withFilters = sorted.filter((p) => p.listing !== null && (p.listing.filters.length > 0 || p.listing.routes.length > 0)).length;
    this.summary.textContent = `${withFilters} of ${sorted.length} proxies run rate-limit filters`;
    const parts = shown.map((p) => proxySection(p));
    if (without.length > 0) parts.push(h('p', { class: 'subtitle', id: 'ratelimit-none' }, `No rate-limit filters: ${without.map((p) => proxyName(p.proxy)).join(', ')}`));
    if (sorted.length === 0) parts.push(h('div', { class: 'empty' }, 'No proxies are connected to skiffd.'));
    this.body.replaceChildren(...parts);
  }
}

/** One proxy: its filters, its hosts' and routes' own settings, and its edges' 429s. @param {ProxyRateLimits} p */
function proxySection(p) {
  const name = proxyName(p.proxy);
  /** @type {HTMLElement[]} */
  const parts = [h('h3', {}, name, h('span', { class: 'subtitle' }, ` ${p.proxy.kind}${p.node !== null ? ` of ${nodeText(p.node)}` : ''}`))];
  if (p.listing === null) {
    parts.push(h('p', { class: 'error-text' }, `Cannot read its configuration: ${p.error ?? 'unknown error'}`));
  } else if (p.listing.filters.length === 0 && p.listing.routes.length === 0) {
    parts.push(h('p', { class: 'subtitle' }, 'No rate-limit filters (no EnvoyFilter rate-limit patch applies to this proxy).'));
  } else {
    if (p.listing.filters.length > 0) {
      const rows = p.listing.filters.map((f) =>
        h('tr', { 'data-filter': f.filter }, h('td', { class: 'mono' }, f.listener), h('td', { class: 'mono' }, f.filter), h('td', { class: 'mono' }, f.statPrefix), h('td', {}, f.settings)),
      );
      parts.push(h('h4', {}, 'Filters'), table(['Listener', 'Filter', 'Stat prefix', 'Settings'], rows, ''));
    }
    if (p.listing.routes.length > 0) {
      const rows = p.listing.routes.map((r) =>
        h('tr', {}, h('td', { class: 'mono' }, r.routeConfig), h('td', { class: 'mono' }, r.virtualHost), h('td', { class: 'mono' }, r.route), h('td', {}, r.local), h('td', { class: 'mono' }, r.descriptors)),
      );
      parts.push(h('h4', {}, 'Hosts and routes with their own settings'), table(['Route config', 'Virtual host', 'Route', 'Local limit', 'Descriptors'], rows, ''));
    }
  }
  const edges = p.rateLimitedEdges.map((e) =>
    h('tr', { 'data-edge-id': e.id }, h('td', {}, nodeText(e.source)), h('td', {}, nodeText(e.target)), h('td', { class: 'num' }, String(e.rateLimited)), h('td', { class: 'num' }, formatPercent(e.rateLimitedRate))),
  );
  parts.push(h('h4', {}, 'Rate-limited requests (429, RL) on its edges'), table(['From', 'To', 'Requests', 'Share'], edges, 'None in this window.'));
  return h('section', { class: 'rl-proxy', 'data-proxy': name, 'data-node': p.node ?? undefined }, parts);
}
