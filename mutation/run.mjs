// `npm run mutate [module ...]`: Stryker over each module in turn (default: all, quickest first), each
// with its own report under reports/mutation/. See docs/testing.md for the time each takes and the
// scores.
import { spawnSync } from 'node:child_process';

const MODULES = ['route-match', 'http1-serializer', 'upstream-connect', 'router', 'http1-parser', 'upstream-pools'];
const asked = process.argv.slice(2);
const unknown = asked.filter((g) => !MODULES.includes(g));
if (unknown.length > 0) {
  console.error(`unknown module ${unknown.join(', ')}; modules: ${MODULES.join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const name of asked.length > 0 ? asked : MODULES) {
  const r = spawnSync('npx', ['stryker', 'run', `mutation/${name}.config.mjs`], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
