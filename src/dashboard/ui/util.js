// @ts-check
/**
 * What every view shares: building elements (text always goes in as text, never as markup),
 * reading the JSON endpoints, number formats, and polling while a view is shown.
 */

/**
 * @typedef {Node | string | number | null | undefined | false} Child
 * @typedef {string | number | boolean | undefined | ((ev: Event) => void)} AttrValue
 */

/**
 * An element with attributes (`class`, `on<event>` listeners, anything else as an attribute;
 * false/undefined leave it out) and children (strings become text nodes; arrays are flattened).
 * @param {string} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

/**
 * GET a JSON endpoint; a non-2xx answer throws with the server's `{ error }`.
 * @template T
 * @param {string} path
 * @returns {Promise<T>}
 */
export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = /** @type {unknown} */ (await res.json().catch(() => undefined));
  if (!res.ok) {
    const message = typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : `HTTP ${res.status}`;
    throw new Error(`${path}: ${message}`);
  }
  return /** @type {T} */ (body);
}

/** Requests (or connections) per second as Kiali prints them. @param {number} n */
export function formatRate(n) {
  if (n === 0) return '0';
  if (n < 0.01) return '<0.01';
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString();
}

/** A 0..1 share as a percentage. @param {number} share */
export function formatPercent(share) {
  if (share === 0) return '0%';
  const pct = share * 100;
  return pct < 0.1 ? '<0.1%' : `${pct < 10 ? pct.toFixed(1) : Math.round(pct)}%`;
}

/** @param {number | null} ms */
export function formatMs(ms) {
  if (ms === null) return '–';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** @param {number} us */
export function formatMicros(us) {
  return formatMs(us / 1000);
}

/** @param {number} bytesPerSecond */
export function formatBytes(bytesPerSecond) {
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let n = bytesPerSecond;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i] ?? ''}`;
}

/** A `<table class="data">` of rows; an empty list shows `empty` instead. @param {string[]} headings @param {HTMLElement[]} rows @param {string} empty */
export function table(headings, rows, empty) {
  if (rows.length === 0) return h('div', { class: 'empty' }, empty);
  return h('table', { class: 'data' }, h('thead', {}, h('tr', {}, headings.map((t) => h('th', {}, t)))), h('tbody', {}, rows));
}

/** The topbar's status line: when the shown figures were read, or what failed. @param {string} text @param {boolean} [failed] */
export function setStatus(text, failed = false) {
  const el = document.getElementById('status');
  if (el === null) return;
  el.textContent = text;
  el.classList.toggle('error', failed);
}

/**
 * Calls `task` now and then every `intervalMs` after the previous call finished, until stopped.
 * Calls never overlap, so an older answer cannot overwrite a newer one.
 */
export class Poller {
  /** @param {() => Promise<void>} task @param {number} intervalMs */
  constructor(task, intervalMs) {
    this.task = task;
    this.intervalMs = intervalMs;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.running = false;
    this.busy = false;
    this.again = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.refresh();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Runs the task as soon as possible (e.g. after a filter changed), then on schedule again. */
  refresh() {
    if (!this.running) return;
    clearTimeout(this.timer);
    if (this.busy) this.again = true;
    else void this.tick();
  }

  async tick() {
    this.busy = true;
    try {
      await this.task();
      setStatus(`updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      setStatus(err instanceof Error ? err.message : String(err), true);
    } finally {
      this.busy = false;
    }
    if (!this.running) return;
    if (this.again) {
      this.again = false;
      void this.tick();
      return;
    }
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
  }
}
