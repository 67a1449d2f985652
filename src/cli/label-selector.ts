/**
 * kubectl's label selectors (`-l/--selector`): requirements joined by commas, each
 * `key=value`, `key==value`, `key!=value`, `key`, `!key`, `key in (a,b)` or `key notin (a,b)`;
 * a resource matches when every requirement holds. A malformed selector is an error naming it.
 */

type Requirement =
  | { op: 'eq' | 'ne'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'absent'; key: string };

export type LabelSelector = (labels: Readonly<Record<string, string>> | undefined) => boolean;

const KEY = /^(?:[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;
const VALUE = /^(?:[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?)?$/;

/** The comma-separated parts of `text`, keeping `in (a,b)` lists whole. */
function split(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw new Error(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value)) throw new Error(`unable to parse requirement: invalid label value "${value}" in selector "${selector}"`);
  return value;
}

function requirement(part: string, selector: string): Requirement {
  if (part === '') throw new Error(`found an empty requirement in selector "${selector}"`);
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
  if (set !== null) {
    const values = set[3].split(',').map((v) => checkValue(v.trim(), selector));
    return { op: set[2] as 'in' | 'notin', key: checkKey(set[1], selector), values };
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
  if (eq !== null) return { op: eq[2] === '!=' ? 'ne' : 'eq', key: checkKey(eq[1], selector), value: checkValue(eq[3].trim(), selector) };
  if (part.startsWith('!')) return { op: 'absent', key: checkKey(part.slice(1).trim(), selector) };
  return { op: 'exists', key: checkKey(part, selector) };
}

function holds(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'eq':
      return v === r.value;
    case 'ne':
      return v !== r.value;
    case 'in':
      return v !== undefined && r.values.includes(v);
    case 'notin':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return has;
    case 'absent':
      return !has;
  }
}

/** Parses `text` (throws on a malformed selector); the empty selector matches everything. */
export function parseSelector(text: string): LabelSelector {
  const trimmed = text.trim();
  if (trimmed === '') return () => true;
  const reqs = split(trimmed).map((p) => requirement(p, text));
  return (labels) => reqs.every((r) => holds(r, labels ?? {}));
}
