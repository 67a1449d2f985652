// @ts-check
/**
 * The applied config: every resource in the store with what `skiff analyze` says of it, errors
 * first, so a VirtualService naming a missing subset is in plain view.
 */
import { Poller, getJson, h, table } from './util.js';

/** @typedef {import('../sources.js').ConfigEntry} ConfigEntry */

const POLL_MS = 5000;
const RANK = { Error: 0, Warning: 1, Info: 2 };

export class ConfigView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.onlyIssues = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'config-only-issues', onchange: () => this.poller.refresh() }));
    this.summary = h('span', { class: 'hint' });
    this.body = h('div', { id: 'config-list' });
    root.append(h('div', { class: 'toolbar' }, h('label', {}, this.onlyIssues, 'only resources with messages'), this.summary), this.body);
    this.poller = new Poller(() => this.load(), POLL_MS);
  }

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
  }

  async load() {
    const { items } = /** @type {{ items: ConfigEntry[] }} */ (await getJson('/api/config'));
    const worst = (/** @type {ConfigEntry} */ e) => Math.min(3, ...e.messages.map((m) => RANK[m.level]));
    const sorted = [...items].sort(
      (a, b) =>
        worst(a) - worst(b) ||
        a.resource.kind.localeCompare(b.resource.kind) ||
        (a.resource.metadata.namespace ?? '').localeCompare(b.resource.metadata.namespace ?? '') ||
        a.resource.metadata.name.localeCompare(b.resource.metadata.name),
    );
    const shown = this.onlyIssues.checked ? sorted.filter((e) => e.messages.length > 0) : sorted;
    const count = (/** @type {string} */ level) => items.reduce((n, e) => n + e.messages.filter((m) => m.level === level).length, 0);
    this.summary.textContent = `${items.length} resources · ${count('Error')} errors · ${count('Warning')} warnings · ${count('Info')} info`;
    const rows = shown.map((e) =>
      h(
        'tr',
        { 'data-kind': e.resource.kind, 'data-name': e.resource.metadata.name },
        h('td', {}, e.resource.kind),
        h('td', {}, e.resource.metadata.namespace ?? ''),
        h('td', {}, e.resource.metadata.name),
        h('td', { class: 'mono' }, e.resource.apiVersion),
        h(
          'td',
          {},
          e.messages.length === 0
            ? h('span', { class: 'badge healthy' }, 'OK')
            : e.messages.map((m) => h('div', { class: 'message' }, h('span', { class: `badge ${m.level}` }, m.level), ' ', h('span', { class: 'code mono' }, m.code), ' ', m.message)),
        ),
      ),
    );
    this.body.replaceChildren(
      table(['Kind', 'Namespace', 'Name', 'API version', 'Validation'], rows, this.onlyIssues.checked ? 'No resource has a message.' : 'No resources applied yet (`skiff apply -f`).'),
    );
  }
}
