// Runs the compiled test files named on the command line in this one node process, in order: their
// tests register with node:test as each file is imported and run with the process's reporter.
// A mutation run starts one process per mutant instead of one per test file: on a busy machine the
// start of a process and the loading of the code under test cost more than the unit tests.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

for (const file of process.argv.slice(2)) await import(pathToFileURL(resolve(file)).href);
