// @ts-check
/**
 * The dashboard's entry: one view per tab, chosen by the URL's hash (`#/graph`, `#/traces`,
 * `#/traces/<id>`, `#/config`, `#/proxies`, `#/ratelimits`), so views can be linked and the back button works.
 * Only the view in sight polls.
 */
import { ConfigView } from './config.js';
import { GraphView } from './graph.js';
import { ProxiesView } from './proxies.js';
import { RateLimitsView } from './ratelimits.js';
import { TracesView } from './traces.js';

/** @typedef {{ show(arg?: string): void, hide(): void }} View */

/** @param {string} id */
function section(id) {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
}

/** @type {Record<string, View>} */
const views = {
  graph: new GraphView(section('view-graph')),
  traces: new TracesView(section('view-traces')),
  config: new ConfigView(section('view-config')),
  proxies: new ProxiesView(section('view-proxies')),
  ratelimits: new RateLimitsView(section('view-ratelimits')),
};

/** @type {string | undefined} */
let current;

function route() {
  const [, name = 'graph', ...rest] = location.hash.replace(/^#/, '').split('/');
  const target = name in views ? name : 'graph';
  const arg = rest.length > 0 && rest[0] !== '' ? decodeURIComponent(rest.join('/')) : undefined;
  if (current !== undefined && current !== target) views[current]?.hide();
  for (const [key] of Object.entries(views)) section(`view-${key}`).hidden = key !== target;
  for (const link of document.querySelectorAll('nav a[data-view]')) link.classList.toggle('active', link.getAttribute('data-view') === target);
  current = target;
  document.title = `Skiff · ${target}`;
  views[target]?.show(arg);
}

window.addEventListener('hashchange', route);
route();
