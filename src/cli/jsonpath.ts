/**
 * kubectl's JSONPath templates (`-o jsonpath='{.items[*].metadata.name}'`): text outside braces
 * printed as it is, `{EXPR}` replaced by what the expression selects (several results joined by
 * spaces, strings bare, objects and lists as JSON), `{"\n"}` string literals, and
 * `{range EXPR}...{end}` repeating its body for each result with `.` (or `@`) standing for it.
 * A key that is not there prints nothing (kubectl's `--allow-missing-template-keys`). The
 * expressions themselves — fields, `[*]`, indexes and slices, `..`, `[?(@.x=="y")]` filters —
 * are evaluated by jsonpath-plus.
 */
import { JSONPath } from 'jsonpath-plus';

type Node = { type: 'text'; text: string } | { type: 'expr'; path: string } | { type: 'range'; path: string; body: Node[] };

/** A template that does not parse; the message names what and where, as kubectl's does. */
export class JsonPathError extends Error {
  constructor(template: string, why: string) {
    super(`error parsing jsonpath ${template}, ${why}`);
    this.name = 'JsonPathError';
  }
}

/** The index of the `}` closing the `{` at `open`, skipping quoted strings and brackets. */
function closing(template: string, open: number): number {
  let quote: string | undefined;
  let depth = 0;
  for (let i = open + 1; i < template.length; i++) {
    const c = template[i];
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === '}' && depth <= 0) return i;
  }
  return -1;
}

/** `"\n"` and `'\t'` literals with their escapes. */
function literal(text: string): string | undefined {
  const m = /^(["'])(.*)\1$/s.exec(text);
  if (m === null) return undefined;
  return m[2].replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

/** kubectl's relative `.a.b` (and `@`) to jsonpath-plus's `$.a.b`. */
function toPath(expr: string, template: string): string {
  const e = expr.trim();
  if (e === '' || e === '.' || e === '$' || e === '@') return '$';
  if (e.startsWith('$')) return e;
  if (e.startsWith('@')) return `$${e.slice(1)}`;
  if (e.startsWith('.') || e.startsWith('[')) return `$${e}`;
  throw new JsonPathError(template, `unrecognized identifier ${e}`);
}

function parse(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const body = stack[stack.length - 1];
    if (open < 0) {
      body.push({ type: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) body.push({ type: 'text', text: template.slice(i, open) });
    const close = closing(template, open);
    if (close < 0) throw new JsonPathError(template, `unclosed action at position ${open + 1}`);
    const inner = template.slice(open + 1, close).trim();
    const text = literal(inner);
    if (text !== undefined) body.push({ type: 'text', text });
    else if (inner === 'end') {
      if (stack.length === 1) throw new JsonPathError(template, `not in range, nothing to end at position ${open + 1}`);
      stack.pop();
    } else if (inner.startsWith('range ') || inner === 'range') {
      const node: Node = { type: 'range', path: toPath(inner.slice(5), template), body: [] };
      body.push(node);
      stack.push(node.body);
    } else body.push({ type: 'expr', path: toPath(inner, template) });
    i = close + 1;
  }
  if (stack.length > 1) throw new JsonPathError(template, 'a range is not closed with {end}');
  return root;
}

function select(path: string, json: unknown): unknown[] {
  if (path === '$') return json === undefined ? [] : [json];
  if (json === null || typeof json !== 'object') return [];
  return JSONPath<unknown[]>({ path, json, wrap: true });
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

function render(nodes: readonly Node[], json: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.type === 'text') out += n.text;
    else if (n.type === 'expr') out += select(n.path, json).map(show).join(' ');
    else for (const item of select(n.path, json)) out += render(n.body, item);
  }
  return out;
}

/** A parsed template, ready to print objects with. Throws `JsonPathError` for a malformed one. */
export function compileJsonPath(template: string): (json: unknown) => string {
  const nodes = parse(template);
  return (json) => render(nodes, json);
}
