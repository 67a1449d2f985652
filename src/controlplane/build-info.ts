/** This installation's version (package.json), which skiffd reports in its status. */
import { readFileSync } from 'node:fs';

/** Read once: dist/src/controlplane → the package root. */
export const SKIFF_VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
