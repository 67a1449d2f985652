/**
 * Loads configuration the way `kubectl apply -f` reads it: multi-document YAML (or JSON) files,
 * directories and stdin, `kind: List` expanded, each resource validated on its own, and every
 * problem reported with its file, line, column, resource and field path. A broken document never
 * stops the others.
 */
import { LineCounter } from 'yaml';
import type { Document } from 'yaml';
import { lookupKind, validateResource } from '../api/index.js';
import { resourceKey } from '../api/types.js';
import type { Issue, Resource } from '../api/types.js';
import type { DocumentSummary, Finding, LoadResult, SourcePos } from './finding.js';
import { readInputs } from './sources.js';
import type { InputText } from './sources.js';
import { isMeshConfigMap, MESH_CONFIG_MAP, meshTextOf, parseMeshConfig } from './mesh-config.js';
import { positionInLiteral, positionOf } from './yaml-positions.js';
import { parseYamlDocuments, unclosedKindOf, unclosedMessage } from './yaml-parse.js';
import { checkInputLimits, type LimitBreach } from './input-limits.js';
import type { UnclosedFlow } from './yaml-parse.js';

export type { DocumentSummary, Finding, LoadedResource, LoadResult, SourcePos } from './finding.js';

export interface LoadOptions {
  /** Namespace given to namespaced resources that name none (kubectl's default: `default`). */
  defaultNamespace?: string;
  /** Where `-` reads from (tests pass text directly). */
  readStdin?: () => Promise<string>;
}

export const DEFAULT_NAMESPACE = 'default';

/** Reads and loads files, directories (recursively) and `-` (stdin). */
export async function loadFiles(paths: readonly string[], opts: LoadOptions = {}): Promise<LoadResult> {
  const { inputs, errors } = await readInputs(paths, opts.readStdin);
  const result = loadTexts(inputs, opts);
  const readFindings: Finding[] = errors.map((e) => ({
    severity: 'error',
    path: [],
    message: `cannot read: ${e.message}`,
    file: e.name,
    origin: 'read',
  }));
  return { ...result, findings: [...readFindings, ...result.findings] };
}

/** Loads texts already in memory, in order. */
export function loadTexts(inputs: readonly InputText[], opts: LoadOptions = {}): LoadResult {
  const out: LoadResult = { resources: [], findings: [], documents: [], files: [] };
  for (const input of inputs) {
    out.files.push(input.name);
    loadText(input.name, input.text, opts, out);
  }
  return out;
}

/** Loads one text (one file) into `out`. A file with a document beyond the input limits is not parsed at all. */
export function loadText(file: string, text: string, opts: LoadOptions = {}, out?: LoadResult): LoadResult {
  const result = out ?? { resources: [], findings: [], documents: [], files: [file] };
  const breaches = checkInputLimits(text);
  if (breaches.length > 0) {
    reportBreaches(file, text, breaches, result);
    return result;
  }
  const lineCounter = new LineCounter();
  const lines = text.split(/\r?\n/);
  const parsed = parseYamlDocuments(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  // An empty stream (no documents at all) is not an error, like an empty file for kubectl.
  const ctx: FileContext = { file, lines, lineCounter, defaultNamespace: opts.defaultNamespace ?? DEFAULT_NAMESPACE, out: result, unclosed: parsed.unclosed };
  parsed.documents.forEach((doc, docIndex) => loadDocument(ctx, doc, docIndex));
  return result;
}

/** Documents beyond the input limits, each an error at the place it was found. */
export function limitFindings(file: string, text: string, breaches: readonly LimitBreach[]): Finding[] {
  return breaches.map((b) => {
    const { line, col } = lineColAt(text, b.offset);
    return { severity: 'error', path: [], message: b.message, file, line, col, origin: 'syntax' };
  });
}

function reportBreaches(file: string, text: string, breaches: readonly LimitBreach[], out: LoadResult): void {
  for (const f of limitFindings(file, text, breaches)) {
    out.findings.push(f);
    out.documents.push({ file, line: f.line ?? 1, status: 'invalid' });
  }
}

/** 1-based line and column of `offset`, without splitting the (possibly huge) text. */
function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

interface FileContext {
  file: string;
  lines: string[];
  lineCounter: LineCounter;
  defaultNamespace: string;
  out: LoadResult;
  /** Flow collections never closed; their errors are told at the opening bracket. */
  unclosed: UnclosedFlow[];
}

function loadDocument(ctx: FileContext, doc: Document, docIndex: number): void {
  const at = (offset: number | undefined): SourcePos => {
    if (offset === undefined) return { file: ctx.file };
    const { line, col } = ctx.lineCounter.linePos(offset);
    return { file: ctx.file, line, col };
  };
  for (const w of doc.warnings) {
    ctx.out.findings.push({ severity: 'warning', path: [], message: w.message, ...withSource(ctx, at(w.pos[0])), origin: 'syntax' });
  }
  if (doc.errors.length > 0) {
    // A document with syntax errors is not validated: its content is whatever the parser guessed.
    const errors = doc.errors.map((e) => {
      const opener = unclosedOpener(ctx, e.message, e.pos[0]);
      return { offset: opener?.offset ?? e.pos[0], message: opener === undefined ? syntaxMessage(e.message) : unclosedMessage(opener) };
    });
    for (const e of errors.sort((a, b) => a.offset - b.offset)) {
      ctx.out.findings.push({ severity: 'error', path: [], message: e.message, ...withSource(ctx, at(e.offset)), origin: 'syntax' });
    }
    const start = at(doc.range?.[0]);
    ctx.out.documents.push({ file: ctx.file, line: start.line ?? 1, status: 'invalid' });
    return;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err: unknown) {
    const start = at(doc.range?.[0]);
    ctx.out.findings.push({ severity: 'error', path: [], message: err instanceof Error ? err.message : String(err), ...withSource(ctx, start), origin: 'syntax' });
    ctx.out.documents.push({ file: ctx.file, line: start.line ?? 1, status: 'invalid' });
    return;
  }
  if (value === null || value === undefined) return; // an empty document (only comments, or `---` alone)
  if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) {
    // kubectl expands `kind: List`; each item is a resource of its own.
    value.items.forEach((item: unknown, i) => loadObject(ctx, doc, docIndex, item, ['items', i], i));
    return;
  }
  loadObject(ctx, doc, docIndex, value, [], undefined);
}

function loadObject(
  ctx: FileContext,
  doc: Document,
  docIndex: number,
  obj: unknown,
  prefix: ReadonlyArray<string | number>,
  itemIndex: number | undefined,
): void {
  const locate = (path: ReadonlyArray<string | number>, atKey = false): SourcePos => {
    const pos = positionOf(doc, ctx.lineCounter, doc.contents, [...prefix, ...path], { atKey });
    return pos ? { file: ctx.file, line: pos.line, col: pos.col } : { file: ctx.file };
  };
  const start = locate([]);
  const { resource, issues } = validateResource(obj);
  const key = displayKey(obj, ctx.defaultNamespace);
  let hasError = issues.some((i) => i.severity === 'error');
  const unsupported = resource === undefined && !hasError;
  for (const issue of issues) {
    const pos = locate(issue.path, isUnknownField(issue));
    ctx.out.findings.push({ ...issue, ...withSource(ctx, pos), resource: key, origin: 'validation', ...(unsupported ? { unsupported } : {}) });
  }
  // The mesh config ConfigMap carries a document of its own in its `mesh` key: checked here, so
  // apply refuses a malformed one and validate reports it, each finding at its place in the file.
  const named = resource === undefined || hasError ? undefined : defaultNamespace(resource, ctx.defaultNamespace).resource;
  if (named !== undefined && isMeshConfigMap(named)) {
    const text = meshTextOf(named);
    if (text !== undefined) {
      const meshPath = [...prefix, 'data', MESH_CONFIG_MAP.key];
      for (const i of parseMeshConfig(text).issues) {
        const inner = i.line !== undefined ? positionInLiteral(doc, ctx.lineCounter, ctx.lines, doc.contents, meshPath, { line: i.line, col: i.col ?? 1 }) : undefined;
        const pos = inner !== undefined ? { file: ctx.file, ...inner } : locate(['data', MESH_CONFIG_MAP.key]);
        // Without a literal block (`mesh: |`) the file has no line for it: say which line of the text it is.
        const message = inner === undefined && i.line !== undefined ? `${i.message} (line ${i.line} of the mesh config)` : i.message;
        ctx.out.findings.push({ severity: i.severity, path: ['data', MESH_CONFIG_MAP.key, ...i.path], message, ...withSource(ctx, pos), resource: key, origin: 'validation' });
        if (i.severity === 'error') hasError = true;
      }
    }
  }
  const summary: DocumentSummary = {
    file: ctx.file,
    line: start.line ?? 1,
    ...(key !== undefined ? { resource: key } : {}),
    status: hasError ? 'invalid' : unsupported ? 'unsupported' : 'valid',
  };
  ctx.out.documents.push(summary);
  if (resource === undefined || hasError) return;
  const { resource: withNs, explicit } = defaultNamespace(resource, ctx.defaultNamespace);
  ctx.out.resources.push({
    resource: withNs,
    source: { file: ctx.file, line: start.line ?? 1, col: start.col ?? 1, docIndex, ...(itemIndex !== undefined ? { itemIndex } : {}) },
    namespaceExplicit: explicit,
    locate: (path) => locate(path),
  });
}

/** Fills in the default namespace for namespaced kinds that name none, remembering that it was implicit. */
function defaultNamespace(resource: Resource, ns: string): { resource: Resource; explicit: boolean } {
  if (resource.metadata.namespace) return { resource, explicit: true };
  if (!isNamespaced(resource.apiVersion, resource.kind)) return { resource, explicit: false };
  return { resource: { ...resource, metadata: { ...resource.metadata, namespace: ns } }, explicit: false };
}

function isNamespaced(apiVersion: unknown, kind: unknown): boolean {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return false;
  return lookupKind(apiVersion, kind)?.namespaced === true;
}

/** `kind/namespace/name` for messages, from the raw document (it may be invalid). */
function displayKey(obj: unknown, ns: string): string | undefined {
  if (!isRecord(obj) || typeof obj.kind !== 'string' || obj.kind === '') return undefined;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
  let namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  if (namespace === undefined && isNamespaced(obj.apiVersion, obj.kind)) namespace = ns;
  return resourceKey({ kind: obj.kind, metadata: { ...(name !== undefined ? { name } : {}), ...(namespace !== undefined ? { namespace } : {}) } });
}

function isUnknownField(issue: Issue): boolean {
  return /^unknown field\b/i.test(issue.message);
}

function withSource(ctx: FileContext, pos: SourcePos): SourcePos & { sourceLine?: string } {
  if (pos.line === undefined) return pos;
  const sourceLine = ctx.lines[pos.line - 1];
  return sourceLine === undefined ? pos : { ...pos, sourceLine };
}

/** The parser's message without its own position suffix (findings carry the position). */
/**
 * The unclosed `[` or `{` a parser error stems from: the parser notices a missing bracket only where
 * the block structure resumes, often lines later; the nearest unclosed opener of that kind before
 * the error is where the mistake is. Each opener answers one error.
 */
function unclosedOpener(ctx: FileContext, message: string, offset: number): UnclosedFlow | undefined {
  const kind = unclosedKindOf(message);
  if (kind === undefined) return undefined;
  let best: UnclosedFlow | undefined;
  for (const u of ctx.unclosed) if (u.open === kind && u.offset < offset) best = u;
  if (best !== undefined) ctx.unclosed.splice(ctx.unclosed.indexOf(best), 1);
  return best;
}

function syntaxMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
