/**
 * Turns the paths a user passes with `-f` into texts to parse: files as named, directories
 * searched recursively for `*.yaml`, `*.yml` and `*.json` (in sorted order), and `-` for stdin.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface InputText {
  /** The name findings use: the path as given (joined for directory entries), or `<stdin>`. */
  name: string;
  text: string;
}

export interface InputError {
  name: string;
  message: string;
}

/** How findings name standard input (`-f -`). */
export const STDIN_NAME = '<stdin>';

const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

export function isConfigFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return CONFIG_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Reads every input; unreadable paths become errors instead of stopping the others. */
export async function readInputs(
  paths: readonly string[],
  readStdin: () => Promise<string> = readAllStdin,
): Promise<{ inputs: InputText[]; errors: InputError[] }> {
  const inputs: InputText[] = [];
  const errors: InputError[] = [];
  let stdinText: string | undefined;
  for (const path of paths) {
    if (path === '-') {
      // Reading stdin twice would give nothing the second time; `-f - -f -` means the same text once.
      if (stdinText === undefined) {
        stdinText = await readStdin();
        inputs.push({ name: STDIN_NAME, text: stdinText });
      }
      continue;
    }
    try {
      const info = await stat(path);
      if (info.isDirectory()) {
        const files = await listConfigFiles(path);
        if (files.length === 0) errors.push({ name: path, message: 'directory contains no .yaml, .yml or .json files' });
        for (const file of files) inputs.push({ name: file, text: await readFile(file, 'utf8') });
      } else {
        inputs.push({ name: path, text: await readFile(path, 'utf8') });
      }
    } catch (err: unknown) {
      errors.push({ name: path, message: describeFsError(err) });
    }
  }
  return { inputs, errors };
}

/** Config files under `dir`, recursively, sorted by path (a directory's files before its subdirectories'). */
async function listConfigFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  const subdirs: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) subdirs.push(full);
    else if (entry.isFile() && isConfigFileName(entry.name)) files.push(full);
  }
  for (const sub of subdirs) files.push(...(await listConfigFiles(sub)));
  return files;
}

function describeFsError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}

export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
