// @ts-check
/** The proxies as `skiff proxy-status` lists them: each sidecar and gateway, its snapshot version and sync state. */
import { Poller, getJson, h, table } from './util.js';

/** @typedef {import('../sources.js').ProxyRow} ProxyRow */

const POLL_MS = 5000;

export class ProxiesView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.summary = h('span', { class: 'hint' });
    this.body = h('div', { id: 'proxy-list' });
    root.append(h('div', { class: 'toolbar' }, this.summary), this.body);
    this.poller = new Poller(() => this.load(), POLL_MS);
  }

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
  }

  async load() {
    const { proxies } = /** @type {{ proxies: ProxyRow[] }} */ (await getJson('/api/proxies'));
    const name = (/** @type {ProxyRow} */ p) => (p.workload !== undefined ? `${p.workload}.${p.namespace ?? ''}` : p.id);
    const sorted = [...proxies].sort((a, b) => name(a).localeCompare(name(b)));
    const synced = proxies.filter((p) => p.status === 'SYNCED').length;
    this.summary.textContent = `${proxies.length} proxies · ${synced} synced`;
    /** @param {string | undefined} url */
    const link = (url) => (url === undefined ? '–' : h('a', { href: url, target: '_blank', rel: 'noopener' }, url));
    const rows = sorted.map((p) =>
      h(
        'tr',
        { 'data-proxy-id': p.id },
        h('td', {}, name(p)),
        h('td', {}, p.kind),
        h('td', {}, p.namespace ?? ''),
        h('td', { class: 'mono' }, p.version ?? '<none>'),
        h('td', {}, h('span', { class: `badge ${p.status}` }, p.status)),
        h('td', { class: 'mono' }, link(p.adminUrl)),
        h('td', { class: 'mono' }, link(p.metricsUrl)),
      ),
    );
    this.body.replaceChildren(table(['Name', 'Kind', 'Namespace', 'Version', 'Status', 'Admin', 'Metrics'], rows, 'No proxies are connected to skiffd.'));
  }
}
