// `npm run mutate [group ...]`: Stryker over each group in turn (default: all), each with its own
// report under reports/mutation/. Long: see docs/testing.md for the time each takes and the scores.
import { spawnSync } from 'node:child_process';

const GROUPS = ['http1-codec', 'routing', 'upstream'];
const asked = process.argv.slice(2);
const unknown = asked.filter((g) => !GROUPS.includes(g));
if (unknown.length > 0) {
  console.error(`unknown group ${unknown.join(', ')}; groups: ${GROUPS.join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const name of asked.length > 0 ? asked : GROUPS) {
  const r = spawnSync('npx', ['stryker', 'run', `mutation/${name}.config.mjs`], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
