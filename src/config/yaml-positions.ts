/**
 * Maps a field path (`['spec', 'http', 0, 'route', 1, 'weight']`) back to the place in the YAML
 * text where it is written, so a message can say `file:line:col`. A path that does not exist (a
 * missing required field) lands on its nearest existing ancestor.
 */
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';

export interface PositionOptions {
  /** Point at the key of the last field rather than its value (unknown fields). */
  atKey?: boolean;
}

/** The text offset of `path` below `root`. */
export function offsetOf(
  doc: Document,
  root: unknown,
  path: ReadonlyArray<string | number>,
  opts: PositionOptions = {},
): number | undefined {
  let node = deref(doc, root);
  const rootOffset = startOf(node);
  // The best place found so far: the key of the deepest field reached (or the item itself in a list).
  let best = rootOffset;
  let key: Node | undefined;
  let complete = true;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(doc, p.key) === String(seg));
      if (!pair) {
        complete = false;
        break;
      }
      key = isNodeLike(pair.key) ? pair.key : undefined;
      node = deref(doc, pair.value);
      best = startOf(key) ?? startOf(node) ?? best;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) {
        complete = false;
        break;
      }
      key = undefined;
      node = deref(doc, item);
      best = startOf(node) ?? best;
    } else {
      complete = false;
      break;
    }
  }
  if (!complete || path.length === 0) return best;
  if (opts.atKey && key) return startOf(key) ?? best;
  // A value on the key's line (a scalar, or a flow collection such as `{}`) is the thing being
  // complained about; for a block collection or an empty value the key reads better.
  if (isScalar(node) && node.value !== null && node.value !== undefined) return startOf(node) ?? best;
  if ((isMap(node) || isSeq(node)) && node.flow === true) return startOf(node) ?? best;
  return best;
}

/** 1-based line and column of `path`. */
export function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  root: unknown,
  path: ReadonlyArray<string | number>,
  opts: PositionOptions = {},
): { line: number; col: number } | undefined {
  const offset = offsetOf(doc, root, path, opts);
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function deref(doc: Document, node: unknown): unknown {
  // An alias (`*name`) is written here but its fields are written at the anchor.
  return isAlias(node) ? node.resolve(doc) : node;
}

function isNodeLike(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}

function startOf(node: unknown): number | undefined {
  if (!isNodeLike(node)) return undefined;
  const range = node.range;
  return Array.isArray(range) ? range[0] : undefined;
}

function keyText(doc: Document, key: unknown): string | undefined {
  const k = deref(doc, key);
  if (isScalar(k)) return String(k.value);
  return typeof k === 'string' || typeof k === 'number' ? String(k) : undefined;
}

/**
 * The file position of line `inner.line`, column `inner.col` (1-based) of the string value at
 * `path`, when that value is a literal block scalar (`key: |`), whose lines are the string's lines
 * one for one below the `|`. Undefined for any other form of string (plain, quoted or folded
 * text does not keep its lines), or when the path is not there.
 */
export function positionInLiteral(
  doc: Document,
  lineCounter: LineCounter,
  lines: readonly string[],
  root: unknown,
  path: ReadonlyArray<string | number>,
  inner: { line: number; col: number },
): { line: number; col: number } | undefined {
  let node = deref(doc, root);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(doc, p.key) === String(seg));
      if (!pair) return undefined;
      node = deref(doc, pair.value);
    } else if (isSeq(node) && typeof seg === 'number') {
      node = deref(doc, node.items[seg]);
    } else {
      return undefined;
    }
  }
  const start = startOf(node);
  if (!isScalar(node) || node.type !== 'BLOCK_LITERAL' || start === undefined) return undefined;
  // The text's first line is the line after the `|` header; its indentation is that of the first non-blank line.
  const header = lineCounter.linePos(start).line;
  const first = lines.slice(header).find((l) => l.trim() !== '');
  const indent = first === undefined ? 0 : first.length - first.trimStart().length;
  return { line: header + inner.line, col: indent + inner.col };
}
