// The build step of a mutation run: compiles only the listed test files and what they import, not
// the whole tree. Stryker rebuilds its instrumented sandbox once per run; compiling the ~1,000 files
// of the full project there costs minutes on a busy machine, a module's own tests and their imports
// a fraction of that. Usage (from the sandbox root): node mutation/build.mjs dist/test/a.test.js ...
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const testFiles = process.argv.slice(2);
if (testFiles.length === 0) {
  console.error('mutation/build.mjs: no test files given');
  process.exit(2);
}
const sources = testFiles.map((f) => {
  const m = /^dist\/(.+)\.js$/.exec(f);
  if (m === null) throw new Error(`mutation/build.mjs: ${f} is not a compiled file under dist/`);
  return resolve(`${m[1]}.ts`);
});
// The narrowed config lives outside the tree; `extends` keeps the project's options, outDir and rootDir.
const dir = mkdtempSync(join(tmpdir(), 'skiff-mutation-'));
const configFile = join(dir, 'tsconfig.json');
// typeRoots: `types` resolves from the config's own folder, which here is outside the tree; the
// sandbox has no node_modules of its own (Node finds the checkout's by walking up), so ask Node.
const nodeTypes = createRequire(resolve('package.json')).resolve('@types/node/package.json');
const compilerOptions = { typeRoots: [dirname(dirname(nodeTypes))] };
writeFileSync(configFile, JSON.stringify({ extends: resolve('tsconfig.json'), compilerOptions, files: sources, include: [] }));
const r = spawnSync('npx', ['tsc', '-p', configFile], { stdio: 'inherit' });
rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
