/**
 * Custom access-log formats compiled once per snapshot: an Envoy format string (Istio's
 * `logFormat.text`, MeshConfig `accessLogFormat`) into a list of literal texts and value
 * getters, or a labels map (`logFormat.labels`, `accessLogFormat` with the JSON encoding) into
 * the same per key. Writing a line then walks the list: no parsing, no regex, no lookups by
 * name, one string built per line.
 *
 * Text: a value that is absent prints `-`; `:N` cuts a value to N characters. JSON, as Envoy's
 * typed JSON formatter: a string that is exactly one operator gives that operator's value as
 * its JSON type (a number for `%RESPONSE_CODE%`, `null` when absent); a string mixing text and
 * operators gives a string (`-` for absent values); other JSON values are written as they are;
 * objects nest.
 */
import { parseFormatString } from '../../api/access-log-format.js';
import type { JsonFormatValue } from '../../api/access-log-format.js';
import type { RequestRecord } from '../request-record.js';
import type { RequestState } from '../request-state.js';
import { operatorGetter } from './operators.js';
import type { FormatNeeds, LogValue, ValueGetter } from './operators.js';

export type { FormatNeeds } from './operators.js';

/** A compiled format: writes one line (with its newline, when the format has one) per record. */
export interface CompiledFormat {
  readonly needs: Readonly<FormatNeeds>;
  line(rec: RequestRecord, st: RequestState | null): string;
}

/** A text piece: literal text, or an operator's value as text. */
type TextPiece = string | ((rec: RequestRecord, st: RequestState | null) => string);

function asText(get: ValueGetter, maxLength: number | null): (rec: RequestRecord, st: RequestState | null) => string {
  if (maxLength === null) {
    return (rec, st) => {
      const v = get(rec, st);
      return v === null ? '-' : typeof v === 'string' ? v : String(v);
    };
  }
  return (rec, st) => {
    const v = get(rec, st);
    const s = v === null ? '-' : typeof v === 'string' ? v : String(v);
    return s.length > maxLength ? s.slice(0, maxLength) : s;
  };
}

function textPieces(format: string, needs: FormatNeeds): TextPiece[] {
  return parseFormatString(format).map((t) => (t.kind === 'text' ? t.text : asText(operatorGetter(t, needs), t.maxLength)));
}

function writeText(pieces: readonly TextPiece[], rec: RequestRecord, st: RequestState | null): string {
  let out = '';
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    out += typeof p === 'string' ? p : p(rec, st);
  }
  return out;
}

function noNeeds(): FormatNeeds {
  return { requestHeaders: false, responseHeaders: false, responseTrailers: false };
}

/**
 * Compiles a text format as given (Istio appends the newline before it gets here); throws
 * `FormatStringError` (from the parser) naming the first thing wrong and its position.
 */
export function compileTextFormat(format: string): CompiledFormat {
  const needs = noNeeds();
  const pieces = textPieces(format, needs);
  return { needs, line: (rec, st) => writeText(pieces, rec, st) };
}

/** A JSON member's value as written text. */
type JsonPiece = (rec: RequestRecord, st: RequestState | null) => string;

function typed(v: LogValue, maxLength: number | null): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(maxLength !== null && v.length > maxLength ? v.slice(0, maxLength) : v);
}

function jsonValue(value: JsonFormatValue, needs: FormatNeeds): JsonPiece {
  if (typeof value === 'string') {
    const tokens = parseFormatString(value);
    const only = tokens.length === 1 ? tokens[0] : undefined;
    if (only !== undefined && only.kind === 'operator') {
      const get = operatorGetter(only, needs);
      const max = only.maxLength;
      return (rec, st) => typed(get(rec, st), max);
    }
    const pieces = tokens.map((t): TextPiece => (t.kind === 'text' ? t.text : asText(operatorGetter(t, needs), t.maxLength)));
    return (rec, st) => JSON.stringify(writeText(pieces, rec, st));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return jsonObject(value, needs, '');
  const literal = JSON.stringify(value);
  return () => literal;
}

function jsonObject(labels: Readonly<Record<string, JsonFormatValue>>, needs: FormatNeeds, end: string): JsonPiece {
  const keys: string[] = [];
  const values: JsonPiece[] = [];
  for (const [key, value] of Object.entries(labels)) {
    keys.push(`${keys.length === 0 ? '{' : ','}${JSON.stringify(key)}:`);
    values.push(jsonValue(value, needs));
  }
  if (keys.length === 0) return () => `{}${end}`;
  const close = `}${end}`;
  return (rec, st) => {
    let out = '';
    for (let i = 0; i < keys.length; i++) out += keys[i] + values[i](rec, st);
    return out + close;
  };
}

/** Compiles a labels map into one JSON object per line; throws `FormatStringError` from the parser. */
export function compileJsonFormat(labels: Readonly<Record<string, JsonFormatValue>>): CompiledFormat {
  const needs = noNeeds();
  const line = jsonObject(labels, needs, '\n');
  return { needs, line };
}
