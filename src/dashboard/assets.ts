/**
 * The dashboard's static files: the browser modules, page and stylesheet under `src/dashboard/ui/`
 * (served as they are, no build step) and Cytoscape.js from its package. The set is fixed when the
 * server starts, so a request can only ever name one of these files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  /** Absolute path of the file. */
  file: string;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Where the cytoscape package keeps its browser build; resolved through the package's exports. */
export const CYTOSCAPE_PATH = '/vendor/cytoscape.min.js';

/**
 * The ui directory: beside this module when a build copied it there, else in the source tree
 * (this module runs from `dist/src/dashboard/`, the files stay in `src/dashboard/ui/`).
 */
export function uiDirectory(): string {
  const candidates = [new URL('./ui/', import.meta.url), new URL('../../../src/dashboard/ui/', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (found === undefined) throw new Error(`the dashboard's files are missing (looked for index.html in ${candidates.join(' and ')})`);
  return found;
}

/** URL path → file: `/` is the page, `/<name>` each servable file of the ui directory, plus Cytoscape. */
export function loadAssets(dir = uiDirectory()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    assets.set(`/${name}`, { file: join(dir, name), contentType });
  }
  const page = assets.get('/index.html');
  if (page !== undefined) assets.set('/', page);
  const require = createRequire(import.meta.url);
  assets.set(CYTOSCAPE_PATH, { file: require.resolve('cytoscape/dist/cytoscape.min.js'), contentType: CONTENT_TYPES['.js'] });
  return assets;
}
