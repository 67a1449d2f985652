/**
 * The config store on disk: one JSON file, `<state-dir>/store.json`, holding every applied
 * resource and the last resource version, replaced atomically on each change (write a temporary
 * file, fsync it, rename it over the old one, fsync the directory).
 *
 * Why one file rather than one per resource: an apply of a whole file must land whole or not at
 * all, and a single rename gives that for free — a crash at any moment leaves either the state
 * before the apply or the state after it, never half of it. A local mesh holds hundreds of
 * resources at most, so rewriting them all on a change costs milliseconds.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Resource } from '../api/types.js';

/** The file's layout; `format` lets a later version read (or refuse) an older one. */
export interface StoreFileContent {
  format: 1;
  /** The highest resource version handed out, deletions included: versions never go backwards. */
  resourceVersion: number;
  resources: Resource[];
}

export const STORE_FILE = 'store.json';
const TEMP_MARK = '.tmp-';

export function storeFilePath(stateDir: string): string {
  return join(stateDir, STORE_FILE);
}

/** Reads the store file; an absent file is an empty store. A damaged one is an error naming it. */
export async function readStoreFile(stateDir: string): Promise<StoreFileContent> {
  const file = storeFilePath(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { format: 1, resourceVersion: 0, resources: [] };
    throw new Error(`cannot read the config store ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`the config store ${file} is not valid JSON (${(err as Error).message}); move it aside to start empty`);
  }
  if (!isContent(parsed)) throw new Error(`the config store ${file} has an unknown layout; move it aside to start empty`);
  return parsed;
}

/** Writes the whole store atomically and durably. */
export async function writeStoreFile(stateDir: string, content: StoreFileContent): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeFileAtomic(storeFilePath(stateDir), `${JSON.stringify(content, null, 1)}\n`);
}

/**
 * Replaces `file` with `text` so that readers (and a crash) see the old or the new content, never
 * a mix: the text goes to a uniquely named temporary file beside it, which is flushed to disk
 * and renamed over `file`; the directory is then flushed so the rename itself survives a power loss.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(file));
}

/** Removes temporary files a crashed writer left behind (only call while holding the store lock). */
export async function removeStaleTemps(stateDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(stateDir);
  } catch {
    return;
  }
  const prefix = `${basename(storeFilePath(stateDir))}${TEMP_MARK}`;
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => unlink(join(stateDir, n)).catch(() => undefined)));
}

async function syncDir(dir: string): Promise<void> {
  // Not every platform lets a directory be opened for fsync (Windows); the rename is done either way.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

function isContent(v: unknown): v is StoreFileContent {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.format === 1 && typeof o.resourceVersion === 'number' && Array.isArray(o.resources);
}
