// Builds the SO_ORIGINAL_DST addon (native/original_dst.c) with the node-gyp npm bundles, against
// the headers of the Node that runs this script (its installation's include/node) so nothing is
// downloaded. Run by `npm install`/`npm ci` and by `npm run build:native`. A failed build is a
// warning, not a failed install: only the proxy's capture mode needs the addon, and it refuses to
// start naming it when it is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const prefix = dirname(dirname(process.execPath));
const bundled = join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const nodeGyp = process.env.npm_config_node_gyp || bundled;
const args = [nodeGyp, 'rebuild', `--directory=${here}`];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const strict = process.argv.includes('--strict');
const failed = (why) => {
  process.stderr.write(
    `\nskiff: the SO_ORIGINAL_DST addon (native/original_dst.c) was not built: ${why}\n` +
      '  Only `skiff proxy --capture` needs it. It needs gcc, g++, make, python3 and the Node headers\n' +
      '  (apt-get install -y g++ make python3), then: npm run build:native\n\n',
  );
  process.exit(strict ? 1 : 0);
};
if (!existsSync(nodeGyp)) failed(`node-gyp not found (looked for ${nodeGyp})`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error) failed(r.error.message);
if (r.status !== 0) failed(`node-gyp exited with status ${r.status}`);
