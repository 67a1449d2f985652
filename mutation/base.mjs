// Shared Stryker settings for `npm run mutate`: each module config names the source it mutates and the
// compiled test files that exercise it, fastest and most direct first. Tests run from dist/: Stryker
// instruments the TypeScript in its sandbox and mutation/build.mjs compiles those test files and what
// they import. Each test file runs as its own node process, so "perTest" coverage means per test file:
// a mutant runs only the listed files that reach it, in the order listed, and stops at the first
// failing test. After tests are added, mutation/recheck.mjs re-runs only the mutants a complete run
// left alive.
export function moduleConfig(name, mutate, testFiles) {
  return {
    packageManager: 'npm',
    testRunner: 'tap',
    tap: {
      testFiles,
      nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
      forceBail: true,
    },
    buildCommand: `node mutation/build.mjs ${testFiles.join(' ')}`,
    mutate,
    ignorePatterns: ['dist', 'bench/results', '.stryker-tmp', 'reports'],
    coverageAnalysis: 'perTest',
    // Mutants in code that runs only when a module loads (constant tables, regular expressions built
    // once) would need every test file re-run per mutant; they are left out of the run and the score.
    ignoreStatic: true,
    concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
    timeoutMS: 15000,
    reporters: ['clear-text', 'progress-append-only', 'json'],
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    thresholds: { high: 90, low: 80, break: null },
    tempDirName: `.stryker-tmp/${name}`,
    cleanTempDir: true,
    // No incremental file: with the TAP runner, re-runs reused no result (every test file counted as
    // changed, even one left as it was); mutation/recheck.mjs does that job.
    incremental: false,
  };
}
