/**
 * What one input may cost before it is parsed: a document's size and its nesting depth, checked
 * by one linear pass over the text that allocates nothing per character. The YAML parser and
 * everything after it (composing, `toJS`, validation) recurse once per level of nesting, so
 * without a bound a few kilobytes of `[` exhaust the stack ("Maximum call stack size exceeded")
 * and megabytes of them the heap; a bound on the document keeps the parser's time and memory in
 * proportion to what an Istio or Kubernetes object can be.
 *
 * The pass reads YAML's structure only as far as nesting goes: document markers (`---`, `...`
 * at the start of a line), block indentation (each deeper indentation, and each compact `- ` or
 * `? ` on a line, is a level), flow collections (`[` `{` where a node may start, and any inside
 * another flow collection), and what hides brackets from it (quoted scalars, comments, block
 * scalars `|` `>`). JSON is YAML's flow style and is read the same way. It may count a level more
 * than the parser would (a bracket in a multi-line plain scalar), never fewer than half of them.
 */

/** The bounds on one document. */
export interface InputLimits {
  /** Bytes of one document (YAML or JSON). */
  documentBytes: number;
  /** Levels of collections within collections. */
  depth: number;
}

/**
 * Kubernetes stores an object in at most 1.5 MiB (etcd's request limit), so no Istio or
 * Kubernetes resource can be larger; real ones are a few kilobytes. Istio's CRDs nest about 30
 * levels at most; the parser itself overflows the stack at several hundred.
 */
export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({ documentBytes: 1.5 * 1024 * 1024, depth: 100 });

/** A document beyond a limit: where (offset in the text) and what, in words naming the limit. */
export interface LimitBreach {
  offset: number;
  limit: 'document size' | 'nesting depth';
  message: string;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const HASH = 0x23;
const DASH = 0x2d;
const DOT = 0x2e;
const QUESTION = 0x3f;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_SQUARE = 0x5b;
const CLOSE_SQUARE = 0x5d;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;
const SINGLE = 0x27;
const DOUBLE = 0x22;
const BACKSLASH = 0x5c;
const PIPE = 0x7c;
const GREATER = 0x3e;
const AMPERSAND = 0x26;
const BANG = 0x21;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isBreakOrEnd(c: number): boolean {
  return Number.isNaN(c) || c === LF || c === CR;
}

function isBlankOrEnd(c: number): boolean {
  return Number.isNaN(c) || c === SPACE || c === TAB || c === LF || c === CR;
}

/** Bytes of `text` between `start` and `end`, counted only as far as needed to compare with `max`. */
function exceedsBytes(text: string, start: number, end: number, max: number): boolean {
  const chars = end - start;
  if (chars > max) return true;
  // UTF-8 takes at most three bytes per UTF-16 unit.
  if (chars * 3 <= max) return false;
  return Buffer.byteLength(text.slice(start, end), 'utf8') > max;
}

function mib(bytes: number): string {
  return `${Number((bytes / (1024 * 1024)).toFixed(2))} MiB`;
}

/** Every document of `text` beyond `limits` (at most one breach per document). */
export function checkInputLimits(text: string, limits: Readonly<InputLimits> = DEFAULT_INPUT_LIMITS): LimitBreach[] {
  const breaches: LimitBreach[] = [];
  const n = text.length;
  // Per document.
  let docStart = 0;
  let docBreached = false;
  /** Indentation of each open block level, innermost last. */
  const indents: number[] = [];
  let flow = 0;
  let quote = 0;
  /** Indentation of the line that opened a block scalar, or -1 outside one. */
  let blockScalarOf = -1;

  const endDocument = (end: number): void => {
    if (!docBreached && exceedsBytes(text, docStart, end, limits.documentBytes)) {
      const size = Buffer.byteLength(text.slice(docStart, end), 'utf8');
      breaches.push({
        offset: docStart,
        limit: 'document size',
        message: `this document is ${mib(size)} (${size} bytes); a document may be at most ${mib(limits.documentBytes)} (${limits.documentBytes} bytes), the most Kubernetes stores for one object`,
      });
    }
  };
  const tooDeep = (offset: number): boolean => {
    if (indents.length + flow <= limits.depth) return false;
    if (!docBreached) {
      breaches.push({ offset, limit: 'nesting depth', message: `nested deeper than ${limits.depth} levels, the limit of nesting depth in one document` });
      docBreached = true;
    }
    return true;
  };

  let i = 0;
  while (i < n) {
    // At the start of a line.
    const lineStart = i;
    let c = text.charCodeAt(i);
    if (quote === 0 && (c === DASH || c === DOT) && text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === c && isBlankOrEnd(text.charCodeAt(i + 3))) {
      endDocument(lineStart);
      docStart = lineStart;
      docBreached = false;
      indents.length = 0;
      flow = 0;
      blockScalarOf = -1;
      i += 3;
    }
    let indent = 0;
    while (text.charCodeAt(i + indent) === SPACE) indent++;
    const first = text.charCodeAt(i + indent);
    let rest = i + indent;
    while (isBlank(text.charCodeAt(rest)) || text.charCodeAt(rest) === CR) rest++;
    const blankLine = isBreakOrEnd(text.charCodeAt(rest));
    if (blockScalarOf >= 0) {
      if (blankLine || indent > blockScalarOf) {
        i = nextLine(text, i);
        continue;
      }
      blockScalarOf = -1;
    }
    let atNode = true;
    if (quote === 0 && flow === 0) {
      if (blankLine || first === HASH) {
        i = nextLine(text, i);
        continue;
      }
      while (indents.length > 0 && indents[indents.length - 1] > indent) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1] < indent) indents.push(indent);
      if (!docBreached && tooDeep(lineStart)) {
        i = nextLine(text, i);
        continue;
      }
    }
    i += indent;
    // The rest of the line.
    while (i < n) {
      c = text.charCodeAt(i);
      if (c === LF) break;
      if (quote !== 0) {
        if (c === BACKSLASH && quote === DOUBLE) {
          i += 2;
          continue;
        }
        if (c === quote) {
          if (quote === SINGLE && text.charCodeAt(i + 1) === SINGLE) {
            i += 2;
            continue;
          }
          quote = 0;
          atNode = false;
        }
        i++;
        continue;
      }
      if (isBlank(c) || c === CR) {
        i++;
        continue;
      }
      if (c === HASH && (i === lineStart || isBlank(text.charCodeAt(i - 1)))) break;
      if (atNode && (c === DOUBLE || c === SINGLE)) {
        quote = c;
        i++;
        continue;
      }
      if (flow === 0 && atNode && (c === DASH || c === QUESTION) && isBlankOrEnd(text.charCodeAt(i + 1))) {
        // A compact nested entry (`- - x`, `- ? k`): one more block level at the column after it.
        i++;
        while (isBlank(text.charCodeAt(i))) i++;
        indents.push(i - lineStart);
        if (!docBreached && tooDeep(i)) break;
        continue;
      }
      if (atNode && (c === AMPERSAND || c === BANG)) {
        // An anchor or a tag before the node: the node still starts after it.
        while (i < n && !isBlankOrEnd(text.charCodeAt(i))) i++;
        continue;
      }
      if (c === OPEN_SQUARE || c === OPEN_CURLY) {
        if (atNode || flow > 0) {
          flow++;
          if (!docBreached && tooDeep(i)) break;
          atNode = true;
        } else {
          atNode = false;
        }
        i++;
        continue;
      }
      if (flow > 0) {
        if (c === CLOSE_SQUARE || c === CLOSE_CURLY) {
          flow--;
          atNode = false;
        } else if (c === COMMA || c === COLON) {
          // In a flow collection a value may follow its `:` at once (`{"a":"b"}`).
          atNode = true;
        } else {
          atNode = false;
        }
        i++;
        continue;
      }
      if (c === COLON && isBlankOrEnd(text.charCodeAt(i + 1))) {
        atNode = true;
        i++;
        continue;
      }
      if (atNode && (c === PIPE || c === GREATER)) {
        // A block scalar: its lines are content, however they look, while more indented than this one.
        blockScalarOf = indent;
        break;
      }
      atNode = false;
      i++;
    }
    i = nextLine(text, i);
  }
  endDocument(n);
  return breaches.sort((a, b) => a.offset - b.offset);
}

function nextLine(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  return nl < 0 ? text.length : nl + 1;
}

/**
 * True when the JSON `text` nests objects and arrays deeper than `max` (strings skipped). JSON.parse
 * builds every level it reads: a request body of `[[[[…` would be millions of arrays before any
 * check of its shape.
 */
export function jsonNestsDeeper(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === DOUBLE) inString = false;
      continue;
    }
    if (c === DOUBLE) inString = true;
    else if (c === OPEN_SQUARE || c === OPEN_CURLY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_SQUARE || c === CLOSE_CURLY) depth--;
  }
  return false;
}
