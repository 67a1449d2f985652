/**
 * The header list every codec produces and the request flow edits: raw `[name, value]` pairs in
 * arrival order, each name's lowercase form computed once, readable through the router's
 * `HeaderView` and editable through its `HeaderMutator`.
 */
import type { HeaderMutator, HeaderView } from './route/request.js';

/**
 * Headers as parallel arrays (raw name, lowercase name, value), which keeps parsing
 * allocation-light and preserves order and repetition for forwarding.
 */
export class HeaderList implements HeaderView, HeaderMutator {
  readonly names: string[] = [];
  readonly lower: string[] = [];
  readonly values: string[] = [];

  get length(): number {
    return this.lower.length;
  }

  /** Appends a header whose lowercase name the caller already knows. */
  push(name: string, lowerName: string, value: string): void {
    this.names.push(name);
    this.lower.push(lowerName);
    this.values.push(value);
  }

  /** Index of the first header with this lowercase name, or -1. */
  indexOf(lowerName: string, from = 0): number {
    return this.lower.indexOf(lowerName, from);
  }

  get(lowerName: string): string | undefined {
    let i = this.lower.indexOf(lowerName);
    if (i < 0) return undefined;
    let out = this.values[i];
    // Repeated headers read as one comma-joined value, as Envoy matches them.
    while ((i = this.lower.indexOf(lowerName, i + 1)) >= 0) out += `,${this.values[i]}`;
    return out;
  }

  /** Every value of the header, in order. */
  getAll(lowerName: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.lower.length; i++) if (this.lower[i] === lowerName) out.push(this.values[i]);
    return out;
  }

  has(lowerName: string): boolean {
    return this.lower.includes(lowerName);
  }

  set(lowerName: string, value: string): void {
    const i = this.lower.indexOf(lowerName);
    if (i < 0) {
      this.push(lowerName, lowerName, value);
      return;
    }
    this.values[i] = value;
    this.removeFrom(lowerName, i + 1);
  }

  /** Sets the header unless it is already present. */
  setIfAbsent(lowerName: string, value: string): void {
    if (!this.lower.includes(lowerName)) this.push(lowerName, lowerName, value);
  }

  append(lowerName: string, value: string): void {
    this.push(lowerName, lowerName, value);
  }

  remove(lowerName: string): void {
    this.removeFrom(lowerName, 0);
  }

  removeAt(i: number): void {
    const { names, lower, values } = this;
    const n = lower.length;
    if (i < 0 || i >= n) return;
    // Moved down by hand: `splice` allocates an array of what it removed, three per call.
    for (let k = i + 1; k < n; k++) {
      names[k - 1] = names[k];
      lower[k - 1] = lower[k];
      values[k - 1] = values[k];
    }
    names.length = lower.length = values.length = n - 1;
  }

  /** Removes every header with this name from `from` on, in one pass that keeps the others' order. */
  private removeFrom(lowerName: string, from: number): void {
    const { names, lower, values } = this;
    let w = lower.indexOf(lowerName, from);
    if (w < 0) return;
    const n = lower.length;
    for (let k = w + 1; k < n; k++) {
      if (lower[k] === lowerName) continue;
      names[w] = names[k];
      lower[w] = lower[k];
      values[w] = values[k];
      w++;
    }
    names.length = lower.length = values.length = w;
  }

  clone(): HeaderList {
    const out = new HeaderList();
    out.names.push(...this.names);
    out.lower.push(...this.lower);
    out.values.push(...this.values);
    return out;
  }

  /** `[name, value]` pairs with lowercase names, for JSON output and tests. */
  toPairs(): [string, string][] {
    return this.lower.map((n, i) => [n, this.values[i]]);
  }

  static from(pairs: Iterable<readonly [string, string]>): HeaderList {
    const out = new HeaderList();
    for (const [n, v] of pairs) out.push(n, n.toLowerCase(), v);
    return out;
  }
}

/** True when a comma-separated header value lists `token` (case-insensitive), e.g. `Connection: keep-alive, Upgrade`. */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (v === token) return true;
  let from = 0;
  for (;;) {
    const i = v.indexOf(token, from);
    if (i < 0) return false;
    const before = i === 0 ? 44 : v.charCodeAt(i - 1);
    const after = i + token.length >= v.length ? 44 : v.charCodeAt(i + token.length);
    if ((before === 44 || before === 32 || before === 9) && (after === 44 || after === 32 || after === 9)) return true;
    from = i + 1;
  }
}
