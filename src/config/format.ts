/**
 * Renders findings the way compilers do, one line each
 * (`bookinfo.yaml:12:9: error: VirtualService/default/reviews: spec.http[0].route[1].weight: ...`)
 * with an optional caret excerpt, and as JSON for machines. Shared by validate, analyze and apply.
 */
import { formatPath } from '../api/types.js';
import type { Severity } from '../api/types.js';
import type { Finding, SourcePos } from './finding.js';

export interface FormatOptions {
  /** ANSI colours (see `colorEnabled`). */
  color?: boolean;
  /** Add the source line and a caret under the column. */
  excerpt?: boolean;
}

/** `file:line:col` (as much of it as is known). */
export function formatPos(pos: SourcePos): string {
  if (pos.line === undefined) return pos.file;
  return pos.col === undefined ? `${pos.file}:${pos.line}` : `${pos.file}:${pos.line}:${pos.col}`;
}

/** One finding as text; with `excerpt`, followed by the source line and a caret. */
export function formatFinding(f: Finding, opts: FormatOptions = {}): string {
  const path = formatPath(f.path);
  const subject = [f.resource, path].filter((s): s is string => s !== undefined && s !== '').map((s) => `${s}: `).join('');
  const head = `${paint(formatPos(f), 'bold', opts.color)}: ${paint(`${f.severity}:`, severityStyle(f.severity), opts.color)} ${subject}${f.message}`;
  if (!opts.excerpt || f.sourceLine === undefined || f.line === undefined) return head;
  return `${head}\n${excerpt(f.sourceLine, f.line, f.col, opts.color)}`;
}

/** The source line with a caret under `col`, gutter-numbered like compilers print it. */
function excerpt(sourceLine: string, line: number, col: number | undefined, color?: boolean): string {
  const num = String(line);
  const gutter = ' '.repeat(num.length);
  const text = sourceLine.length > 200 ? `${sourceLine.slice(0, 200)}…` : sourceLine;
  const out = [` ${num} | ${text}`];
  if (col !== undefined) {
    // Keep tabs so the caret lines up under the same column as in the terminal.
    const lead = sourceLine.slice(0, col - 1).replace(/[^\t]/g, ' ');
    out.push(` ${gutter} | ${lead}${paint('^', 'green', color)}`);
  }
  return out.join('\n');
}

/** A finding for machines: field path as text, position as numbers. */
export interface FindingJson {
  severity: Severity;
  message: string;
  file: string;
  line?: number;
  column?: number;
  resource?: string;
  path?: string;
  code?: string;
}

export function findingToJson(f: Finding): FindingJson {
  const path = formatPath(f.path);
  return {
    severity: f.severity,
    message: f.message,
    file: f.file,
    ...(f.line !== undefined ? { line: f.line } : {}),
    ...(f.col !== undefined ? { column: f.col } : {}),
    ...(f.resource !== undefined ? { resource: f.resource } : {}),
    ...(path !== '' ? { path } : {}),
    ...(f.code !== undefined ? { code: f.code } : {}),
  };
}

/** Orders findings by file (in the order given), line, column. */
export function sortFindings(findings: readonly Finding[], files: readonly string[]): Finding[] {
  const rank = new Map(files.map((f, i) => [f, i]));
  return [...findings].sort(
    (a, b) =>
      (rank.get(a.file) ?? -1) - (rank.get(b.file) ?? -1) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0),
  );
}

type Style = 'bold' | 'red' | 'yellow' | 'blue' | 'green';
const CODES: Record<Style, [number, number]> = { bold: [1, 22], red: [31, 39], yellow: [33, 39], blue: [34, 39], green: [32, 39] };

export function paint(text: string, style: Style, enabled: boolean | undefined): string {
  if (!enabled) return text;
  const [on, off] = CODES[style];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

export function severityStyle(s: Severity): Style {
  return s === 'error' ? 'red' : s === 'warning' ? 'yellow' : 'blue';
}

/** Colour only for terminals, and never when NO_COLOR is set or TERM=dumb (https://no-color.org). */
export function colorEnabled(stream: { isTTY?: boolean }): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}
