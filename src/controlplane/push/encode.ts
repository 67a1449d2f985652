/**
 * Serialises snapshots for the wire and tells what changed between two of them. A snapshot is
 * encoded field by field and, in its `listeners`, `routes` and `clusters` lists, item by item. A
 * list that starts with a run shared by many proxies (`withSharedPrefix`: the translation hands
 * sidecars of one scope the same route config and cluster objects) has that run serialised,
 * hashed and turned into bytes once, cached by the run's identity, so a push pays per proxy only
 * for the proxy's own items. The snapshot's hash is a digest of its fields' digests: equal
 * content, equal hash.
 *
 * `deltaLine` writes the `delta` message of the push protocol (`src/snapshot/protocol.ts`): the
 * fields that changed, and in the lists only the items that changed when the list's names are the
 * same in the same order; in a route config, only the virtual hosts that changed on the same
 * terms; a proxy applies it with `applyDelta` (`src/snapshot/delta.ts`).
 */
import { hash } from 'node:crypto';
import type { ProxySnapshot } from '../../snapshot/index.js';
import { sharedPrefixOf } from '../translate/shared-prefix.js';

export interface EncodedItem {
  /** The item's `name`, when it has one. */
  name: string | undefined;
  json: string;
  hash: string;
  /** The item itself (for route configs, whose virtual hosts are encoded when a diff needs them). */
  value: unknown;
}

export type EncodedField =
  | { key: string; kind: 'value'; json: string; hash: string }
  | { key: string; kind: 'items'; items: EncodedItem[]; hash: string; head?: EncodedRun; tail?: EncodedItem[] };

export interface EncodedSnapshot {
  /** Hex prefix of the SHA-256 over the fields' digests; the snapshot's own `version` is left out. */
  hash: string;
  /** The snapshot's fields but `version`, in their order. */
  fields: EncodedField[];
}

/** Fields encoded item by item; the protocol's `items` names them. */
export const ITEM_LISTS: ReadonlySet<string> = new Set(['listeners', 'routes', 'clusters']);

const digest = (text: string): string => hash('sha256', text, 'hex').slice(0, 16);

const virtualHosts = new WeakMap<object, EncodedItem[]>();

function encodeItem(value: unknown): EncodedItem {
  const json = JSON.stringify(value) ?? 'null';
  const name = typeof value === 'object' && value !== null ? (value as { name?: unknown }).name : undefined;
  return { name: typeof name === 'string' ? name : undefined, json, hash: digest(json), value };
}

interface EncodedList {
  items: EncodedItem[];
  hash: string;
  /** The shared run the list starts with, and the list's own items after it. */
  head?: EncodedRun;
  tail?: EncodedItem[];
}

interface EncodedRun extends EncodedList {
  /** The items' JSON joined with `,`, as UTF-8: built on the first complete send, then written as it is to every proxy. */
  bytes?: Buffer;
}

/** Shared runs by identity: encoded once per scope and push, whichever proxy asks first. */
const runs = new WeakMap<readonly unknown[], EncodedRun>();

function encodeRun(list: readonly unknown[]): EncodedRun {
  const items = list.map(encodeItem);
  return { items, hash: digest(items.map((i) => i.hash).join(',')) };
}

/**
 * A list's items and hash. A shared run the list starts with (`withSharedPrefix`) is encoded
 * once and stands in the hash by its own digest, so a proxy pays only for its own items. The
 * hash of equal content is equal for lists built alike (a proxy's lists always are, push after
 * push); a list built otherwise may hash differently, which costs at most one needless send.
 */
function encodeList(list: readonly unknown[]): EncodedList {
  const prefix = sharedPrefixOf(list);
  if (prefix === undefined || prefix.length === 0 || prefix.length > list.length) return encodeRun(list);
  let head = runs.get(prefix);
  if (head === undefined) {
    head = encodeRun(prefix);
    runs.set(prefix, head);
  }
  const tail = list.slice(prefix.length).map(encodeItem);
  return { items: head.items.concat(tail), hash: digest(`${head.hash}+${tail.map((i) => i.hash).join(',')}`), head, tail };
}

export function encodeSnapshot(snapshot: ProxySnapshot): EncodedSnapshot {
  const fields: EncodedField[] = [];
  for (const key of Object.keys(snapshot)) {
    if (key === 'version') continue;
    const value: unknown = snapshot[key as keyof ProxySnapshot];
    if (value === undefined) continue; // as JSON.stringify leaves it out
    if (ITEM_LISTS.has(key) && Array.isArray(value)) {
      fields.push({ key, kind: 'items', ...encodeList(value) });
    } else {
      const e = encodeItem(value);
      fields.push({ key, kind: 'value', json: e.json, hash: e.hash });
    }
  }
  return { hash: digest(fields.map((f) => `${f.key}:${f.kind}:${f.hash}`).join(',')).slice(0, 12), fields };
}

function fieldJson(f: EncodedField): string {
  return f.kind === 'value' ? f.json : `[${f.items.map((i) => i.json).join(',')}]`;
}

/**
 * The whole snapshot message as one line, in pieces to write one after the other: the shared runs
 * of items as the same Buffer for every proxy (no per-proxy copy of the bulk of the snapshot into
 * a string), the rest as text. The version is set both on the message and in the snapshot.
 */
export function snapshotChunks(encoded: EncodedSnapshot, version: string, nonce: string): (string | Buffer)[] {
  const v = JSON.stringify(version);
  const chunks: (string | Buffer)[] = [];
  let text = `{"type":"snapshot","version":${v},"nonce":${JSON.stringify(nonce)},"snapshot":{"version":${v}`;
  for (const f of encoded.fields) {
    const key = JSON.stringify(f.key);
    if (f.kind === 'items' && f.head !== undefined && f.tail !== undefined) {
      f.head.bytes ??= Buffer.from(f.head.items.map((i) => i.json).join(','));
      chunks.push(`${text},${key}:[`, f.head.bytes);
      text = `${f.tail.map((i) => `,${i.json}`).join('')}]`;
    } else {
      text += `,${key}:${fieldJson(f)}`;
    }
  }
  chunks.push(`${text}}}\n`);
  return chunks;
}

/** True when both lists name their items alike, in the same order (so items can be replaced by position). */
function sameNames(a: readonly EncodedItem[], b: readonly EncodedItem[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].name === undefined || a[i].name !== b[i].name) return false;
  return true;
}

function virtualHostsOf(route: EncodedItem): EncodedItem[] | undefined {
  if (typeof route.value !== 'object' || route.value === null) return undefined;
  const value = route.value as { virtualHosts?: unknown };
  if (!Array.isArray(value.virtualHosts)) return undefined;
  let out = virtualHosts.get(route.value);
  if (out === undefined) {
    out = (value.virtualHosts as unknown[]).map(encodeItem);
    virtualHosts.set(route.value, out);
  }
  return out;
}

/** `"<index>":json` for each position whose hash differs and for which `json` gives text. */
function changedPositions(before: readonly EncodedItem[], after: readonly EncodedItem[], json: (i: number) => string | undefined): string[] {
  const parts: string[] = [];
  for (let i = 0; i < after.length; i++) {
    if (before[i].hash === after[i].hash) continue;
    const text = json(i);
    if (text !== undefined) parts.push(`"${i}":${text}`);
  }
  return parts;
}

/**
 * The `delta` message that turns `before` (the content of version `base`) into `after`. Only for
 * a proxy that said it takes deltas and holds `base`; see `src/snapshot/protocol.ts` for the shape.
 */
export function deltaLine(before: EncodedSnapshot, after: EncodedSnapshot, version: string, nonce: string, base: string): string {
  const old = new Map(before.fields.map((f) => [f.key, f]));
  const put: string[] = [];
  const itemParts: string[] = [];
  const vhostParts: string[] = [];
  for (const f of after.fields) {
    const prev = old.get(f.key);
    old.delete(f.key);
    if (prev !== undefined && prev.hash === f.hash && prev.kind === f.kind) continue;
    const key = JSON.stringify(f.key);
    if (prev === undefined || prev.kind !== 'items' || f.kind !== 'items' || !sameNames(prev.items, f.items)) {
      put.push(`${key}:${fieldJson(f)}`);
      continue;
    }
    const hosts: string[] = [];
    const changed = changedPositions(prev.items, f.items, (i) => {
      const changedHosts = f.key === 'routes' ? virtualHostsDiff(prev.items[i], f.items[i]) : undefined;
      if (changedHosts === undefined) return f.items[i].json;
      hosts.push(`"${i}":${changedHosts}`);
      return undefined;
    });
    if (changed.length > 0) itemParts.push(`${key}:{${changed.join(',')}}`);
    vhostParts.push(...hosts);
  }
  const drop = [...old.keys()];
  const parts: string[] = [];
  if (put.length > 0) parts.push(`"put":{${put.join(',')}}`);
  if (drop.length > 0) parts.push(`"drop":${JSON.stringify(drop)}`);
  if (itemParts.length > 0) parts.push(`"items":{${itemParts.join(',')}}`);
  if (vhostParts.length > 0) parts.push(`"virtualHosts":{${vhostParts.join(',')}}`);
  return `{"type":"delta","version":${JSON.stringify(version)},"nonce":${JSON.stringify(nonce)},"base":${JSON.stringify(base)},"delta":{${parts.join(',')}}}\n`;
}

/** Per route config: the one it was last diffed against and the result, as every proxy of a scope asks the same. */
const hostDiffs = new WeakMap<object, { before: object; text: string | undefined }>();

/**
 * `{"<index>":vhost,...}` of the virtual hosts that changed from route config `a` to `b`, when
 * only virtual hosts changed and they keep their names and order; undefined otherwise.
 */
function virtualHostsDiff(a: EncodedItem, b: EncodedItem): string | undefined {
  if (typeof a.value !== 'object' || a.value === null || typeof b.value !== 'object' || b.value === null) return undefined;
  const before = a.value;
  const after = b.value;
  const memo = hostDiffs.get(after);
  if (memo !== undefined && memo.before === before) return memo.text;
  const va = virtualHostsOf(a);
  const vb = virtualHostsOf(b);
  const text = va !== undefined && vb !== undefined && sameNames(va, vb) && sameRest(before, after) ? `{${changedPositions(va, vb, (j) => vb[j].json).join(',')}}` : undefined;
  hostDiffs.set(after, { before, text });
  return text;
}

/** True when two route configs differ at most in their virtual hosts. */
function sameRest(a: unknown, b: unknown): boolean {
  const { virtualHosts: _a, ...ra } = a as Record<string, unknown>;
  const { virtualHosts: _b, ...rb } = b as Record<string, unknown>;
  return JSON.stringify(ra) === JSON.stringify(rb);
}
