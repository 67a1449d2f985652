// Shared Stryker settings for `npm run mutate`: each group config names the source it mutates and the
// compiled test files that exercise it. Tests run from dist/ (Stryker instruments the TypeScript in its
// sandbox, the build compiles it, and each test file runs as its own node process, so "perTest"
// coverage means per test file: a mutant runs only the files that reach it).
export function group(name, mutate, testFiles) {
  return {
    packageManager: 'npm',
    testRunner: 'tap',
    tap: {
      testFiles,
      nodeArgs: ['--enable-source-maps', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
      forceBail: true,
    },
    buildCommand: 'npx tsc -p tsconfig.json',
    mutate,
    ignorePatterns: ['dist', 'bench/results', '.stryker-tmp', 'reports'],
    coverageAnalysis: 'perTest',
    concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
    timeoutMS: 15000,
    reporters: ['clear-text', 'progress-append-only', 'json'],
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
    // Results are kept per group so a later run tests only the mutants whose code or tests changed.
    incremental: true,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
  };
}
