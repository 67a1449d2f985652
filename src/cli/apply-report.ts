/**
 * How apply, delete and up print what happened, like kubectl: one `ref action` line per resource
 * on stdout; warnings, and the findings of a refused input (formatted as `skiff validate` does),
 * on stderr. Each function returns the exit status.
 */
import { kinds } from '../api/registry.js';
import { colorEnabled, formatFinding, paint, sortFindings } from '../config/format.js';
import type { Finding } from '../config/finding.js';
import type { ApplyResponse, DeleteResponse } from '../config/store-ops.js';

export interface Writers {
  out: (text: string) => void;
  err: (text: string) => void;
}

const std: Writers = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Prints findings that refuse an input, then a one-line verdict. Exit status 1. */
export function printRefusal(findings: readonly Finding[], files: readonly string[], what: 'applied' | 'deleted', w: Writers = std): number {
  const color = colorEnabled(process.stderr);
  for (const f of sortFindings(findings, files)) w.err(`${formatFinding(f, { color, excerpt: f.unsupported !== true })}\n`);
  const invalid = new Set(findings.filter((f) => f.severity === 'error').map((f) => `${f.file}\u0000${f.resource ?? f.line ?? ''}`)).size;
  const where = files.length === 1 ? files[0] : `${files.length} files`;
  w.err(`${paint('✘', 'red', color)} ${invalid} invalid ${invalid === 1 ? 'resource' : 'resources'} in ${where}; nothing was ${what}\n`);
  return 1;
}

function printWarnings(warnings: readonly Finding[], files: readonly string[], w: Writers): void {
  const color = colorEnabled(process.stderr);
  for (const f of sortFindings(warnings, files)) w.err(`${formatFinding(f, { color, excerpt: f.unsupported !== true })}\n`);
}

export function printApply(answer: ApplyResponse, files: readonly string[], w: Writers = std): number {
  if (!answer.ok) return printRefusal(answer.findings, files, 'applied', w);
  printWarnings(answer.warnings, files, w);
  // kubectl's form for an API server's warnings; applying still succeeds.
  for (const text of answer.notEnforced ?? []) w.err(`Warning: ${text}\n`);
  for (const a of answer.applied) w.out(`${a.ref} ${a.action}\n`);
  return 0;
}

/** `ref deleted` lines; a resource that was not there is kubectl's NotFound error (exit 1 unless ignored). */
export function printDelete(answer: DeleteResponse, files: readonly string[], ignoreNotFound: boolean, w: Writers = std): number {
  if (!answer.ok) return printRefusal(answer.findings, files, 'deleted', w);
  printWarnings(answer.warnings, files, w);
  let missing = 0;
  for (const d of answer.deleted) {
    if (d.deleted) {
      w.out(`${d.ref} deleted\n`);
    } else if (!ignoreNotFound) {
      missing++;
      w.err(`Error from server (NotFound): ${resourceName(d.group, d.kind)} "${d.name}" not found\n`);
    }
  }
  return missing > 0 ? 1 : 0;
}

/** kubectl's resource name in messages: `virtualservices.networking.istio.io`, `services`. */
export function resourceName(group: string, kind: string): string {
  const plural = kinds.find((k) => k.group === group && k.kind === kind)?.plural ?? `${kind.toLowerCase()}s`;
  return group === '' ? plural : `${plural}.${group}`;
}
