/**
 * YAML parsing as kubectl reads manifests. The `yaml` package follows YAML 1.2, where a `:` right
 * before `,` `]` `}` inside a flow collection is a value indicator, so `[1.2.3.4, 001:db8::]` would
 * hold a one-pair map `{"001:db8:": null}`. kubectl's parser (go-yaml) ends a plain scalar only at
 * a `:` followed by a blank, so the item is the string `001:db8::` — IPv6 addresses in flow lists
 * rely on that. The syntax tree is mended before it is composed into documents.
 *
 * It also finds the flow collections that are never closed, so an error can point at the `[` or
 * `{` that opened one instead of at the line where the parser gave up.
 */
import { CST, Composer, Parser } from 'yaml';
import type { Document, DocumentOptions, ParseOptions, SchemaOptions , LineCounter} from 'yaml';

export interface UnclosedFlow {
  /** Offset of the opening `[` or `{`. */
  offset: number;
  open: '[' | '{';
}

export interface ParsedYaml {
  documents: Document.Parsed[];
  /** Flow collections with no closing bracket, in source order. */
  unclosed: UnclosedFlow[];
}

export type YamlOptions = ParseOptions & DocumentOptions & SchemaOptions;

/** Parses every document of `text`; `options.lineCounter` is fed as with `parseAllDocuments`. */
export function parseYamlDocuments(text: string, options: YamlOptions = {}): ParsedYaml {
  const lineCounter: LineCounter | undefined = options.lineCounter;
  const tokens = [...new Parser(lineCounter?.addNewLine).parse(text)];
  const unclosed: UnclosedFlow[] = [];
  for (const token of tokens) mendFlowScalars(token, unclosed);
  const documents = [...new Composer(options).compose(tokens, true, text.length)];
  return { documents, unclosed: unclosed.sort((a, b) => a.offset - b.offset) };
}

/** A plain scalar key whose only separator is a `:` glued to what follows (no blank after it). */
function isGluedColonKey(item: CST.CollectionItem): item is CST.CollectionItem & { key: CST.FlowScalar } {
  const key = item.key;
  const value = item.value;
  // Before `,` the parser leaves an empty scalar as the value; before `]` or `}`, none.
  if (key?.type !== 'scalar' || (value !== undefined && !(value.type === 'scalar' && value.source === ''))) return false;
  return item.sep?.length === 1 && item.sep[0]?.type === 'map-value-ind';
}

function gluedScalar(key: CST.FlowScalar): CST.FlowScalar {
  return { type: 'scalar', offset: key.offset, indent: key.indent, source: `${key.source}:`, end: [] };
}

function mendFlowScalars(root: CST.Token, unclosed: UnclosedFlow[]): void {
  CST.visit(root as CST.Document, (item) => {
    for (const part of [item.key, item.value]) {
      if (part?.type !== 'flow-collection') continue;
      const closer = part.start.source === '[' ? 'flow-seq-end' : 'flow-map-end';
      if (!part.end.some((t) => t.type === closer)) unclosed.push({ offset: part.offset, open: part.start.source === '[' ? '[' : '{' });
      part.items.forEach((inner, i) => {
        // `[a, 001:db8::]`: the item parsed as the pair `001:db8:` → null becomes the scalar `001:db8::`.
        if (part.start.source === '[' && isGluedColonKey(inner)) {
          part.items[i] = { start: inner.start, value: gluedScalar(inner.key) };
          return;
        }
        // `{b: 001:db8::}`: the value parsed as a one-pair block map `001:db8:` → null.
        const v = inner.value;
        if (v?.type === 'block-map' && v.items.length === 1) {
          const only = v.items[0];
          if (only !== undefined && only.start.length === 0 && isGluedColonKey(only)) inner.value = gluedScalar(only.key);
        }
      });
    }
  });
}

/** The message for a collection that is never closed, told at its opening bracket. */
export function unclosedMessage(u: UnclosedFlow): string {
  return u.open === '['
    ? 'flow sequence "[" opened here is never closed: a "]" is missing'
    : 'flow mapping "{" opened here is never closed: a "}" is missing';
}

/** Whether a parser error is the late symptom of an unclosed flow collection of kind `open`. */
export function unclosedKindOf(message: string): '[' | '{' | undefined {
  const m = /^Flow (sequence|map) in block collection must be sufficiently indented and end with a [\]}]/.exec(message);
  if (m === null) return undefined;
  return m[1] === 'sequence' ? '[' : '{';
}
