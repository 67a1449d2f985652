// Shared Stryker settings for `npm run mutate`: each module config names the source it mutates and the
// compiled test files that exercise it, fastest and most direct first. Tests run from dist/: Stryker
// instruments the TypeScript in its sandbox, mutation/build.mjs compiles those test files and what they
// import, and mutation/together.mjs runs them all in one node process per mutant (as TAP, stopping at
// the first failing test). Stryker sees that process as one test, so a mutant no test reaches is still
// reported as not covered, and one that is reached runs the module's tests until one fails.
export function moduleConfig(name, mutate, testFiles) {
  return {
    packageManager: 'npm',
    testRunner: 'tap',
    tap: {
      testFiles: ['mutation/together.mjs'],
      nodeArgs: ['--enable-source-maps', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}', ...testFiles],
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
    // Results are kept per module so a later run tests only the mutants whose code or tests changed.
    incremental: true,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
  };
}
