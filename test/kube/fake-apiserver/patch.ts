/**
 * The three patch types the API server takes: JSON merge patch (RFC 7386, what kubectl sends for
 * custom resources), strategic merge patch (kubectl's client-side apply of built-in kinds: lists
 * of named items merge by key, `$patch: delete`, `$setElementOrder/<list>`,
 * `$deleteFromPrimitiveList/<list>`, `$retainKeys`), and JSON patch (RFC 6902, what mutating
 * webhooks answer).
 */

type Json = unknown;
type JsonObject = Record<string, unknown>;

export class PatchError extends Error {}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The merge key of a list field of the built-in kinds (Kubernetes' `patchMergeKey` tags). */
function mergeKeyOf(field: string, items: readonly unknown[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'secrets':
      return 'name';
    case 'volumeMounts':
    case 'volumeDevices':
      return 'mountPath';
    case 'hostAliases':
      return 'ip';
    case 'ports': {
      const first = items.find(isObject);
      return first !== undefined && 'containerPort' in first ? 'containerPort' : 'port';
    }
    case 'conditions':
      return 'type';
    default:
      return undefined;
  }
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return rest;
  }
  const out: JsonObject = isObject(target) ? { ...target } : {};
  const orders = new Map<string, unknown[]>();
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/')) {
      orders.set(k.slice('$setElementOrder/'.length), v as unknown[]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current)) out[field] = current.filter((x) => !(v as unknown[]).includes(x));
      continue;
    }
    if (k === '$retainKeys' || k === '$patch') continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      const key = mergeKeyOf(k, [...v, ...(Array.isArray(out[k]) ? (out[k] as unknown[]) : [])]);
      out[k] = key === undefined ? structuredClone(v) : mergeList(Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v, key);
      continue;
    }
    out[k] = isObject(v) ? strategicMergePatch(out[k], v) : structuredClone(v);
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(out)) if (!(patch.$retainKeys as string[]).includes(k)) delete out[k];
  }
  for (const [field, order] of orders) {
    const key = mergeKeyOf(field, order);
    const current = out[field];
    if (key === undefined || !Array.isArray(current)) continue;
    const rank = (item: unknown): number => {
      const i = order.findIndex((o) => isObject(o) && isObject(item) && o[key] === item[key]);
      return i < 0 ? order.length : i;
    };
    out[field] = [...current].sort((a, b) => rank(a) - rank(b));
  }
  return out;
}

function mergeList(current: readonly unknown[], patch: readonly unknown[], key: string): unknown[] {
  const out = current.map((x) => structuredClone(x));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const i = out.findIndex((x) => isObject(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMergePatch(out[i], item);
    else out.push(strategicMergePatch({}, item));
  }
  return out;
}

/** RFC 6901 pointer segments. */
function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function getAt(doc: Json, segs: readonly string[]): Json {
  let cur = doc;
  for (const s of segs) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObject(cur)) cur = cur[s];
    else return undefined;
  }
  return cur;
}

function parentOf(doc: Json, segs: readonly string[], path: string): { parent: JsonObject | unknown[]; last: string } {
  const parent = getAt(doc, segs.slice(0, -1));
  if (!isObject(parent) && !Array.isArray(parent)) throw new PatchError(`path ${path}: parent does not exist`);
  return { parent, last: segs[segs.length - 1] };
}

export function jsonPatch(doc: Json, ops: readonly Op[]): Json {
  let out = structuredClone(doc);
  for (const op of ops) {
    const segs = pointer(op.path);
    const add = (value: unknown): void => {
      if (segs.length === 0) {
        out = value;
        return;
      }
      const { parent, last } = parentOf(out, segs, op.path);
      if (Array.isArray(parent)) {
        const i = last === '-' ? parent.length : Number(last);
        if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(`path ${op.path}: index out of range`);
        parent.splice(i, 0, value);
      } else parent[last] = value;
    };
    const remove = (): unknown => {
      const { parent, last } = parentOf(out, segs, op.path);
      if (Array.isArray(parent)) {
        const i = Number(last);
        if (!(i >= 0 && i < parent.length)) throw new PatchError(`path ${op.path}: index out of range`);
        return parent.splice(i, 1)[0];
      }
      if (!(last in parent)) throw new PatchError(`path ${op.path}: no such member`);
      const v = parent[last];
      delete parent[last];
      return v;
    };
    switch (op.op) {
      case 'add':
        add(structuredClone(op.value));
        break;
      case 'remove':
        remove();
        break;
      case 'replace':
        remove();
        add(structuredClone(op.value));
        break;
      case 'move': {
        const v = getAt(out, pointer(op.from ?? ''));
        out = jsonPatch(out, [{ op: 'remove', path: op.from ?? '' }]);
        add(v);
        break;
      }
      case 'copy':
        add(structuredClone(getAt(out, pointer(op.from ?? ''))));
        break;
      case 'test':
        if (JSON.stringify(getAt(out, segs)) !== JSON.stringify(op.value)) throw new PatchError(`test failed at ${op.path}`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation ${JSON.stringify(op.op)}`);
    }
  }
  return out;
}
