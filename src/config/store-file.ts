/**
 * The config store on disk: one JSON file, `<state-dir>/store.json`, holding every applied
 * resource and the last resource version, replaced atomically on each change (write a temporary
 * file, fsync it, rename it over the old one, fsync the directory). The file it replaces is kept
 * beside it as `store.json.prev` (itself replaced atomically, by a hard link renamed into place),
 * so a store damaged later can be restored to the state before its last change, and an
 * unreadable store says how.
 *
 * Why one file rather than one per resource: an apply of a whole file must land whole or not at
 * all, and a single rename gives that for free — a crash at any moment leaves either the state
 * before the apply or the state after it, never half of it. A local mesh holds hundreds of
 * resources at most, so rewriting them all on a change costs milliseconds.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
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
/** The store as it was before its last change. */
export const PREVIOUS_STORE_FILE = 'store.json.prev';
const TEMP_MARK = '.tmp-';

export function storeFilePath(stateDir: string): string {
  return join(stateDir, STORE_FILE);
}

export function previousStoreFilePath(stateDir: string): string {
  return join(stateDir, PREVIOUS_STORE_FILE);
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
  const read = parseStore(text);
  if (typeof read === 'string') throw new Error(`the config store ${file} ${read}. ${await howToRestore(stateDir)}`);
  return read;
}

/** The file's content, or what is wrong with it. */
function parseStore(text: string): StoreFileContent | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return `is not valid JSON (${(err as Error).message})`;
  }
  return isContent(parsed) ? parsed : 'has an unknown layout (not { format: 1, resourceVersion, resources })';
}

/** The exact commands that bring back the previous store, or start empty when there is none to restore. */
async function howToRestore(stateDir: string): Promise<string> {
  const file = storeFilePath(stateDir);
  const prev = previousStoreFilePath(stateDir);
  const keep = `cp ${shellQuote(file)} ${shellQuote(`${file}.damaged`)}`;
  let previous: StoreFileContent | string;
  let written: Date | undefined;
  try {
    written = (await stat(prev)).mtime;
    previous = parseStore(await readFile(prev, 'utf8'));
  } catch {
    previous = 'is missing';
  }
  if (typeof previous !== 'string') {
    const n = previous.resources.length;
    return (
      `The store as it was before its last change is kept in ${prev} (${n} ${n === 1 ? 'resource' : 'resources'}, written ${written?.toISOString() ?? 'at an unknown time'}); ` +
      `keep the damaged one if you want it (${keep}), then restore the previous one: cp ${shellQuote(prev)} ${shellQuote(file)}`
    );
  }
  return `No earlier store can be restored (${prev} ${previous}); to start with an empty config, move the damaged one aside: mv ${shellQuote(file)} ${shellQuote(`${file}.damaged`)}`;
}

/** A path as one shell word: quoted only when it needs to be. */
function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/** Writes the whole store atomically and durably; the file it replaces becomes `store.json.prev`. */
export async function writeStoreFile(stateDir: string, content: StoreFileContent): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await keepPrevious(stateDir);
  await writeFileAtomic(storeFilePath(stateDir), `${JSON.stringify(content, null, 1)}\n`);
}

/**
 * `store.json.prev` becomes the current store, in one rename: a hard link to the current file
 * (no copy) made under a temporary name, renamed over the old `.prev`. Where hard links are not
 * available the file is copied to the temporary name instead.
 */
async function keepPrevious(stateDir: string): Promise<void> {
  const file = storeFilePath(stateDir);
  const temp = `${previousStoreFilePath(stateDir)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await link(file, temp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // the first change: nothing before it
    try {
      await copyFile(file, temp);
    } catch {
      // A store that cannot be kept is no reason to refuse the change itself.
      return;
    }
  }
  try {
    await rename(temp, previousStoreFilePath(stateDir));
  } catch {
    await unlink(temp).catch(() => undefined);
  }
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
  const prefixes = [`${basename(storeFilePath(stateDir))}${TEMP_MARK}`, `${PREVIOUS_STORE_FILE}${TEMP_MARK}`];
  await Promise.all(names.filter((n) => prefixes.some((p) => n.startsWith(p))).map((n) => unlink(join(stateDir, n)).catch(() => undefined)));
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
