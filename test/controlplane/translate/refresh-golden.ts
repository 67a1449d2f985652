/**
 * `npm run golden:refresh`: rewrites each translation case's want.json from what the translation
 * produces now, and says which files changed. Review the diff before committing it.
 *
 *   npm run golden:refresh [-- CASE...]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { repoRoot } from '../../helpers/cli.js';
import { caseNames, loadCase } from './cases.js';
import { goldenFile, goldenText, translateCase } from './golden.js';

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function main(args: readonly string[]): number {
  const known = caseNames();
  const unknown = args.filter((a) => !known.includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`golden:refresh: no case named ${unknown.join(', ')}; cases: ${known.join(', ')}\n`);
    return 2;
  }
  let changed = 0;
  let failed = 0;
  for (const name of args.length > 0 ? args : known) {
    const c = loadCase(name);
    const file = goldenFile(c);
    let text: string;
    try {
      text = goldenText(translateCase(c));
    } catch (err) {
      failed++;
      process.stderr.write(`golden:refresh: ${name}: not written: ${err instanceof Error ? err.message : String(err)}\n`);
      continue;
    }
    const before = readOrNull(file);
    if (before === text) continue;
    writeFileSync(file, text);
    changed++;
    process.stdout.write(`${before === null ? 'created' : 'updated'} ${relative(repoRoot, file)}\n`);
  }
  process.stdout.write(`${changed} golden file(s) changed${failed > 0 ? `, ${failed} case(s) failed` : ''}; review with git diff\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
