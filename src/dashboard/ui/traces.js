// @ts-check
/**
 * Traces as Jaeger shows them: the recent traces (newest first), and one trace as a waterfall:
 * a row per span, indented under its parent, its bar placed by start time and sized by duration
 * on the trace's time axis. Clicking a span shows its tags. While few traces exist (most
 * meshes sample 1 % of requests) the list says how to trace more.
 */
import { Poller, formatMicros, getJson, h, table } from './util.js';

/**
 * @typedef {import('../sources.js').TraceSummary} TraceSummary
 * @typedef {import('../sources.js').TraceSpan} TraceSpan
 * @typedef {{ span: TraceSpan, depth: number }} Row
 */

const POLL_MS = 5000;
/** Under this many traces, the list explains how to raise the sampling rate. */
const FEW_TRACES = 20;

/** The three places Istio (and skiff) set the share of requests traced. */
function samplingHint() {
  const code = (/** @type {string} */ text) => h('code', {}, text);
  return h(
    'p',
    { id: 'trace-sampling-hint', class: 'hint-box' },
    'Few traces: only a sample of requests is traced (Istio\'s default: 1 %). To trace more, start the mesh with ',
    code('skiff up --trace-sampling 100'),
    ', set the mesh config\'s ',
    code('defaultConfig.tracing.sampling'),
    ', or apply a Telemetry resource with ',
    code('tracing: [{ randomSamplingPercentage: 100 }]'),
    ' (mesh-wide in istio-system, or for one namespace or workload).',
  );
}

export class TracesView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    /** @type {string | undefined} */
    this.traceId = undefined;
    /** @type {Set<string>} */
    this.services = new Set();
    this.serviceSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'trace-service', onchange: () => this.poller.refresh() }, h('option', { value: '' }, 'All services')));
    this.listBody = h('div', { id: 'trace-list' });
    this.listPane = h('div', {}, h('div', { class: 'toolbar' }, h('label', {}, 'Service', this.serviceSelect), h('span', { class: 'hint' }, 'newest first; click a trace for its spans')), this.listBody);
    this.tracePane = h('div', { id: 'trace-detail' });
    root.append(this.listPane, this.tracePane);
    this.poller = new Poller(() => this.loadList(), POLL_MS);
  }

  /** `#/traces` lists; `#/traces/<id>` shows one trace. @param {string} [traceId] */
  show(traceId) {
    this.traceId = traceId;
    this.listPane.hidden = traceId !== undefined;
    this.tracePane.hidden = traceId === undefined;
    if (traceId === undefined) {
      this.poller.start();
      return;
    }
    this.poller.stop();
    this.tracePane.replaceChildren(h('p', { class: 'hint' }, 'Loading…'));
    void this.loadTrace(traceId);
  }

  hide() {
    this.poller.stop();
  }

  async loadList() {
    const params = new URLSearchParams({ limit: '100' });
    if (this.serviceSelect.value !== '') params.set('service', this.serviceSelect.value);
    const { traces } = /** @type {{ traces: TraceSummary[] }} */ (await getJson(`/api/traces?${params.toString()}`));
    for (const t of traces) {
      for (const s of t.services) {
        if (this.services.has(s)) continue;
        this.services.add(s);
        this.serviceSelect.append(h('option', { value: s }, s));
      }
    }
    const rows = traces.map((t) =>
      h(
        'tr',
        { class: 'clickable', 'data-trace-id': t.traceId, onclick: () => (location.hash = `#/traces/${t.traceId}`) },
        h('td', { class: 'nowrap' }, new Date(t.startUs / 1000).toLocaleTimeString()),
        h('td', {}, h('strong', {}, t.rootService), ' ', t.rootName),
        h('td', { class: 'num' }, t.spanCount),
        h('td', { class: 'num' }, formatMicros(t.durationUs)),
        h('td', {}, t.services.join(', ')),
        h('td', {}, t.error ? h('span', { class: 'badge error' }, 'error') : ''),
        h('td', { class: 'mono' }, t.traceId),
      ),
    );
    this.listBody.replaceChildren(
      ...(traces.length < FEW_TRACES ? [samplingHint()] : []),
      table(['Started', 'Root', 'Spans', 'Duration', 'Services', '', 'Trace id'], rows, 'No traces yet.'),
    );
  }

  /** @param {string} traceId */
  async loadTrace(traceId) {
    let spans;
    try {
      ({ spans } = /** @type {{ spans: TraceSpan[] }} */ (await getJson(`/api/traces/${encodeURIComponent(traceId)}`)));
    } catch (err) {
      if (this.traceId !== traceId) return;
      this.tracePane.replaceChildren(backLink(), h('div', { class: 'empty' }, err instanceof Error ? err.message : String(err)));
      return;
    }
    if (this.traceId !== traceId) return;
    this.tracePane.replaceChildren(backLink(), waterfall(traceId, spans));
  }
}

function backLink() {
  return h('p', {}, h('a', { class: 'back', href: '#/traces' }, '← all traces'));
}

/**
 * Spans in tree order with their depth. A parent is the span its `parentId` names (the SERVER
 * side when a client and server share an id); spans whose parent is missing are roots.
 * @param {TraceSpan[]} spans
 * @returns {Row[]}
 */
export function treeOrder(spans) {
  const byStart = [...spans].sort((a, b) => a.timestampUs - b.timestampUs || (a.kind === 'CLIENT' ? -1 : 1));
  /** @type {Map<string, TraceSpan[]>} */
  const byId = new Map();
  for (const s of byStart) byId.set(s.id, [...(byId.get(s.id) ?? []), s]);
  /** @param {TraceSpan} s @returns {TraceSpan | undefined} */
  const parentOf = (s) => {
    // B3 shared spans: the server half is the child of the client half.
    if (s.kind === 'SERVER') {
      const client = byId.get(s.id)?.find((o) => o !== s && o.kind === 'CLIENT');
      if (client !== undefined) return client;
    }
    if (s.parentId === undefined) return undefined;
    const candidates = byId.get(s.parentId) ?? [];
    return candidates.find((o) => o.kind === 'SERVER' && o !== s) ?? candidates.find((o) => o !== s);
  };
  /** @type {Map<TraceSpan | undefined, TraceSpan[]>} */
  const children = new Map();
  for (const s of byStart) {
    const p = parentOf(s);
    children.set(p, [...(children.get(p) ?? []), s]);
  }
  /** @type {Row[]} */
  const rows = [];
  const seen = new Set();
  /** @param {TraceSpan} s @param {number} depth */
  const visit = (s, depth) => {
    if (seen.has(s)) return;
    seen.add(s);
    rows.push({ span: s, depth });
    for (const c of children.get(s) ?? []) visit(c, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0);
  // Spans caught in a parent cycle still show, at the top level.
  for (const s of byStart) visit(s, 0);
  return rows;
}

/** A stable colour per service. @param {string} service */
function hueOf(service) {
  let hash = 0;
  for (const ch of service) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  // Clear of red, which marks errors.
  return 30 + (hash % 290);
}

/** @param {string} traceId @param {TraceSpan[]} spans */
function waterfall(traceId, spans) {
  if (spans.length === 0) return h('div', { class: 'empty' }, `Trace ${traceId} has no spans.`);
  const start = Math.min(...spans.map((s) => s.timestampUs));
  const end = Math.max(...spans.map((s) => s.timestampUs + s.durationUs));
  const total = Math.max(end - start, 1);
  const services = [...new Set(spans.map((s) => s.serviceName))];
  const rows = treeOrder(spans);
  const pct = (/** @type {number} */ us) => `${((us / total) * 100).toFixed(3)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const tick = h('span', {}, formatMicros(total * f));
    tick.style.left = `${f * 100}%`;
    return tick;
  });
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'trace-head' },
      h('h2', {}, `${rows[0]?.span.serviceName ?? ''}: ${rows[0]?.span.name ?? ''}`),
      h('span', { class: 'muted' }, `${formatMicros(end - start)} · ${spans.length} spans · ${services.length} services · started ${new Date(start / 1000).toLocaleString()}`),
      h('span', { class: 'mono muted' }, traceId),
    ),
    h(
      'div',
      { class: 'waterfall', id: 'waterfall' },
      h('div', { class: 'ruler' }, h('div', {}, 'Service and operation'), h('div', { class: 'ticks' }, ticks)),
      rows.map(({ span, depth }) => {
        const bar = h('div', { class: `span-bar${span.error ? ' error' : ''}` });
        bar.style.left = pct(span.timestampUs - start);
        bar.style.width = pct(span.durationUs);
        bar.style.setProperty('--hue', String(hueOf(span.serviceName)));
        const label = h('span', { class: 'span-duration' }, formatMicros(span.durationUs));
        const from = (span.timestampUs - start) / total;
        const to = from + span.durationUs / total;
        // The duration goes beside the bar where there is room, else inside it.
        if (to <= 0.8) label.style.left = `calc(${(to * 100).toFixed(3)}% + 4px)`;
        else if (from >= 0.2) label.style.right = `calc(${((1 - from) * 100).toFixed(3)}% + 4px)`;
        else {
          label.classList.add('inside');
          label.style.left = `calc(${(from * 100).toFixed(3)}% + 4px)`;
        }
        const detail = h('div', { class: 'span-detail', hidden: true }, spanFacts(span));
        const row = h(
          'div',
          { class: 'span-row', 'data-service': span.serviceName, 'data-span-id': span.id, title: `${span.serviceName} ${span.name}` },
          h(
            'div',
            { class: 'span-label' },
            h('span', { style: `padding-left: ${depth * 16}px` }),
            h('span', { class: 'service' }, span.serviceName),
            h('span', { class: 'kind' }, span.kind.toLowerCase()),
            h('span', { class: 'name' }, span.name),
          ),
          h('div', { class: 'span-track' }, bar, label),
          detail,
        );
        row.addEventListener('click', () => (detail.hidden = !detail.hidden));
        return row;
      }),
    ),
  );
}

/** @param {TraceSpan} span */
function spanFacts(span) {
  const tags = Object.entries(span.tags).sort(([a], [b]) => a.localeCompare(b));
  return h(
    'dl',
    { class: 'facts mono' },
    [
      ['span id', span.id],
      ['parent', span.parentId ?? '(root)'],
      ['kind', span.kind],
      ['duration', formatMicros(span.durationUs)],
      ...tags,
    ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}
