/**
 * Reads the conformance corpus: one resource per YAML file under `corpus/<Kind>/<case>.yaml`,
 * each opening with `# key: value` comment lines that say what the document is for:
 *
 *   # expect: valid | invalid
 *   # exercises: <field family / rule>
 *   # errorPath: spec.http[0].route[0].weight        (invalid cases: where the error belongs)
 *   # stricter: <why Istio rejects what the CRD schema accepts>   (invalid cases only)
 *
 * A value may continue on following comment lines indented by at least two spaces.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers/cli.js';

export const corpusDir = join(repoRoot, 'test', 'conformance', 'corpus');

export interface CorpusCase {
  /** `<Kind>/<case>`, as shown in test names. */
  id: string;
  file: string;
  expect: 'valid' | 'invalid';
  exercises: string;
  errorPath?: string;
  stricter?: string;
  doc: unknown;
}

const KEYS = new Set(['expect', 'exercises', 'errorPath', 'stricter']);

function parseHeader(text: string, file: string): Record<string, string> {
  const meta: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const kv = /^#\s?([A-Za-z]+):\s*(.*)$/.exec(line);
    if (kv && KEYS.has(kv[1])) {
      last = kv[1]!;
      meta[last] = kv[2].trim();
    } else if (last && /^#\s{2,}\S/.test(line)) {
      meta[last] += ` ${line.slice(1).trim()}`;
    } else if (line.trim() !== '#') {
      throw new Error(`${file}: unrecognised header line ${JSON.stringify(line)}`);
    }
  }
  return meta;
}

export function loadCase(file: string, id: string): CorpusCase {
  const text = readFileSync(file, 'utf8');
  const meta = parseHeader(text, file);
  if (meta.expect !== 'valid' && meta.expect !== 'invalid') throw new Error(`${file}: header needs "# expect: valid|invalid"`);
  if (!meta.exercises) throw new Error(`${file}: header needs "# exercises: ..."`);
  if (meta.expect === 'invalid' && !meta.errorPath) throw new Error(`${file}: invalid cases need "# errorPath: ..."`);
  if (meta.expect === 'valid' && (meta.errorPath || meta.stricter)) throw new Error(`${file}: valid cases take no errorPath/stricter`);
  const docs = parseAllDocuments(text);
  if (docs.length !== 1) throw new Error(`${file}: holds ${docs.length} YAML documents, expected 1`);
  const yamlDoc = docs[0];
  if (yamlDoc.errors.length > 0) throw new Error(`${file}: ${yamlDoc.errors[0].message}`);
  return {
    id,
    file,
    expect: meta.expect,
    exercises: meta.exercises,
    errorPath: meta.errorPath,
    stricter: meta.stricter,
    doc: yamlDoc.toJS(),
  };
}

/** Every case, sorted by kind then file name. */
export function loadCorpus(dir: string = corpusDir): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const kind of readdirSync(dir).sort()) {
    for (const name of readdirSync(join(dir, kind)).sort()) {
      if (!name.endsWith('.yaml')) continue;
      cases.push(loadCase(join(dir, kind, name), `${kind}/${name.slice(0, -'.yaml'.length)}`));
    }
  }
  return cases;
}

/** Parses `spec.http[0].route[1].weight` (or `metadata.labels['a/b']`) into path segments. */
export function parsePath(text: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/g;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3]);
  }
  return out;
}

/** True when `path` is `base` or lies under it. */
export function isAtOrBelow(path: ReadonlyArray<string | number>, base: ReadonlyArray<string | number>): boolean {
  return base.length <= path.length && base.every((seg, i) => path[i] === seg);
}
