// `node mutation/recheck.mjs <module> [test file ...]`: after tests were added, re-runs only the
// mutants that the module's last complete report (reports/mutation/<module>.json) left alive,
// instead of the whole module. Stryker mutates just the lines those mutants sit on and runs the
// given test files (default: the module's own; the new and changed ones are enough, since every
// mutant left alive passed the others);
// the mutants' new results are merged into the old report's and printed as docs/testing.md records
// them (mutants, killed, timed out, survived, no coverage, score), with the survivors still alive.
// The old report must come from the same source: the merge matches mutants by file, span,
// mutator and replacement, and refuses a report whose source differs from the files today.
// Rechecks build on each other: once a merged report exists (reports/mutation/<module>.merged.json),
// the next recheck starts from it, so it re-runs only what the earlier ones left alive.
// `RECHECK_FILES=src/a.ts,src/b.ts` limits a recheck to the alive mutants of those source files
// (the others keep their status), so that the files of one module can be answered one at a time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [name, ...testFiles] = process.argv.slice(2);
if (name === undefined) {
  console.error('usage: node mutation/recheck.mjs <module> [test file ...]');
  process.exit(2);
}
const oldFile = existsSync(`reports/mutation/${name}.merged.json`) ? `reports/mutation/${name}.merged.json` : `reports/mutation/${name}.json`;
const oldReport = JSON.parse(readFileSync(oldFile, 'utf8'));
console.error(`rechecking the mutants ${oldFile} left alive`);
const ALIVE = new Set(['Survived', 'NoCoverage']);
const only = process.env.RECHECK_FILES ? new Set(process.env.RECHECK_FILES.split(',').map((f) => f.trim())) : null;
for (const f of only ?? []) {
  if (!(f in oldReport.files)) {
    console.error(`RECHECK_FILES: ${f} is not a file of ${oldFile}`);
    process.exit(2);
  }
}
// One range per alive mutant, over all its lines: Stryker mutates only what lies wholly inside a
// range, so a mutant spanning several lines (a block emptied) needs a range that spans them all.
const ranges = new Set();
for (const [file, { source, mutants }] of Object.entries(oldReport.files)) {
  if (only !== null && !only.has(file)) continue;
  if (readFileSync(file, 'utf8') !== source) {
    console.error(`${file} changed since ${oldFile} was written: run the whole module`);
    process.exit(1);
  }
  for (const m of mutants) {
    if (!ALIVE.has(m.status)) continue;
    ranges.add(`${file}:${m.location.start.line}-${m.location.end.line}`);
  }
}
const mutate = [...ranges];
const base = (await import(pathToFileURL(resolve(`mutation/${name}.config.mjs`)).href)).default;
const config = {
  ...base,
  mutate,
  ...(testFiles.length > 0 ? { tap: { ...base.tap, testFiles }, buildCommand: `node mutation/build.mjs ${testFiles.join(' ')}` } : {}),
  incremental: false,
  // Static mutants too: few, they only cost the given test files, and an old report may hold them.
  ignoreStatic: false,
  jsonReporter: { fileName: `reports/mutation/${name}.recheck.json` },
  tempDirName: `.stryker-tmp/${name}-recheck`,
};
mkdirSync('.stryker-tmp', { recursive: true });
const configFile = resolve(`.stryker-tmp/${name}-recheck.config.json`);
writeFileSync(configFile, JSON.stringify(config));
const run = spawnSync('npx', ['stryker', 'run', configFile], { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

// Merge: a mutant alive in the old report takes its result from the re-run.
const recheck = JSON.parse(readFileSync(`reports/mutation/${name}.recheck.json`, 'utf8'));
// Start and end: two mutants may start at one place with one replacement (`a && b` and `a && b && c` both forced true).
const key = (file, m) => `${file}|${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column}|${m.mutatorName}|${m.replacement ?? ''}`;
const fresh = new Map();
for (const [file, { mutants }] of Object.entries(recheck.files)) for (const m of mutants) fresh.set(key(file, m), m.status);
let unmatched = 0;
for (const [file, entry] of Object.entries(oldReport.files)) {
  for (const m of entry.mutants) {
    if (!ALIVE.has(m.status)) continue;
    const status = fresh.get(key(file, m));
    if (status === undefined) unmatched++;
    // Not reached by the given test files: the old result, from the module's own, stands.
    else if (status !== 'NoCoverage') m.status = status;
  }
}
writeFileSync(`reports/mutation/${name}.merged.json`, JSON.stringify(oldReport));
if (unmatched > 0) console.error(`${unmatched} mutant(s) of the old report were not found in the re-run; they keep their old status`);
spawnSync('node', ['mutation/summary.mjs', `${name}.merged`, '--survivors'], { stdio: 'inherit' });
