/**
 * envoyproxy/ratelimit's configuration: YAML files, one domain each, with nested descriptors —
 * `key`, optional `value` (a trailing `*` matches by prefix), optional `rate_limit`
 * (`requests_per_unit` per `unit`: second, minute, hour, day, week, month, year; `unlimited`;
 * `name`) and child `descriptors`. A request descriptor (its entries in order) walks the tree one
 * entry per level, preferring `key` with the same `value`, then a prefix value, then `key`
 * without a value; the node it ends on gives its limit (none: not limited). Hour and day limits
 * are the quotas.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const UNIT_SECONDS = { SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86_400, WEEK: 604_800, MONTH: 2_592_000, YEAR: 31_536_000 } as const;
export type Unit = keyof typeof UNIT_SECONDS;

export interface RateLimit {
  requestsPerUnit: number;
  unit: Unit;
  name?: string;
  unlimited?: boolean;
}

export interface DescriptorNode {
  limit?: RateLimit;
  /** Children by `key_value`, or `key` for the value-less one. */
  children: Map<string, DescriptorNode>;
  /** Children whose value ends in `*`: [key, value prefix, node]. */
  prefixes: [string, string, DescriptorNode][];
}

export type Domains = Map<string, DescriptorNode>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readNode(list: unknown, at: string): DescriptorNode {
  const node: DescriptorNode = { children: new Map(), prefixes: [] };
  if (list === undefined || list === null) return node;
  if (!Array.isArray(list)) throw new ConfigError(`${at}: descriptors must be a list`);
  list.forEach((d: unknown, i) => {
    const dat = `${at}[${i}]`;
    if (!isObj(d) || typeof d.key !== 'string' || d.key === '') throw new ConfigError(`${dat}: a descriptor needs a key`);
    const child = readNode(d.descriptors, `${dat}.descriptors`);
    if (d.rate_limit !== undefined) {
      const rl = d.rate_limit;
      if (!isObj(rl)) throw new ConfigError(`${dat}.rate_limit must be a map`);
      const unit = typeof rl.unit === 'string' ? rl.unit.toUpperCase() : '';
      if (!(unit in UNIT_SECONDS) && rl.unlimited !== true) throw new ConfigError(`${dat}.rate_limit.unit ${JSON.stringify(rl.unit)} is not one of second, minute, hour, day, week, month, year`);
      const rpu = rl.requests_per_unit;
      if (rl.unlimited !== true && (typeof rpu !== 'number' || !Number.isInteger(rpu) || rpu < 0)) throw new ConfigError(`${dat}.rate_limit.requests_per_unit must be a whole number`);
      child.limit = { requestsPerUnit: typeof rpu === 'number' ? rpu : 0, unit: (unit in UNIT_SECONDS ? unit : 'SECOND') as Unit, ...(typeof rl.name === 'string' ? { name: rl.name } : {}), ...(rl.unlimited === true ? { unlimited: true } : {}) };
    }
    if (d.value !== undefined && d.value !== null && typeof d.value !== 'string' && typeof d.value !== 'number' && typeof d.value !== 'boolean') {
      throw new ConfigError(`${dat}.value must be a string`);
    }
    // YAML reads `value: 1` as a number; the original compares the text.
    const value = d.value === undefined || d.value === null ? undefined : String(d.value);
    if (value !== undefined && value.endsWith('*')) node.prefixes.push([d.key, value.slice(0, -1), child]);
    else {
      const id = value === undefined ? d.key : `${d.key}_${value}`;
      if (node.children.has(id)) throw new ConfigError(`${dat}: duplicate descriptor ${id}`);
      node.children.set(id, child);
    }
  });
  return node;
}

/** Reads one configuration file's text; `file` names it in errors. */
export function parseConfig(text: string, file: string): { domain: string; root: DescriptorNode } {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObj(doc) || typeof doc.domain !== 'string' || doc.domain === '') throw new ConfigError(`${file}: the config needs a domain`);
  return { domain: doc.domain, root: readNode(doc.descriptors, `${file}: descriptors`) };
}

/** Every `*.yaml` / `*.yml` of `dir` (dot files ignored, as RUNTIME_IGNOREDOTFILES), one domain each. */
export function loadConfigDir(dir: string): Domains {
  const domains: Domains = new Map();
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || !/\.ya?ml$/.test(name)) continue;
    const { domain, root } = parseConfig(readFileSync(join(dir, name), 'utf8'), name);
    if (domains.has(domain)) throw new ConfigError(`${name}: domain ${domain} is defined twice`);
    domains.set(domain, root);
  }
  return domains;
}

/** The limit a request descriptor gets, or undefined when it is not limited. */
export function limitFor(root: DescriptorNode, entries: readonly { key: string; value: string }[]): RateLimit | undefined {
  let node: DescriptorNode | undefined = root;
  for (const e of entries) {
    const here: DescriptorNode = node;
    node = here.children.get(`${e.key}_${e.value}`) ?? here.prefixes.find(([k, p]) => k === e.key && e.value.startsWith(p))?.[2] ?? here.children.get(e.key);
    if (node === undefined) return undefined;
  }
  return node === root ? undefined : node.limit;
}
