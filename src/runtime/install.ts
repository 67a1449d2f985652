/**
 * Where this Skiff installation lives: its root (holding bin/, dist/ and samples/), the argv that
 * runs `skiff`, and the default image map used for `skiff exec` tools.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadImageMap } from './image-map.js';
import type { ImageMap } from './types.js';

/** dist/src/runtime/install.js → the installation root three levels up. */
export const installRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs this installation's `skiff` with the Node.js running now. */
export function skiffArgv(): string[] {
  return [process.execPath, join(installRoot, 'bin', 'skiff.js')];
}

let defaultMap: ImageMap | undefined;

/** samples/images.yaml of this installation (empty when it is not there). */
export function defaultImageMap(): ImageMap {
  if (defaultMap === undefined) {
    const file = join(installRoot, 'samples', 'images.yaml');
    defaultMap = existsSync(file) ? loadImageMap(file) : [];
  }
  return defaultMap;
}
