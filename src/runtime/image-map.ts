/**
 * Reads samples/images.yaml (container image → local command; the format is described at the
 * top of that file) and answers which local process stands in for a container image.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ImageEntry {
  /** Normalised image names or globs. */
  match: string[];
  command: string[];
  args: 'keep' | 'drop';
  env: Record<string, string>;
  tools: Record<string, string[]>;
}

/**
 * Docker's normalisation of an image reference, without tag or digest:
 * `curlimages/curl:8.16.0` → `docker.io/curlimages/curl`, `redis` → `docker.io/library/redis`.
 */
export function normalizeImage(ref: string): string {
  let name = ref.trim().toLowerCase();
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  if (colon >= 0) name = name.slice(0, colon);
  const segments = name.split('/');
  const first = segments[0];
  const hasRegistry = segments.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = segments.length === 1 ? `docker.io/library/${name}` : `docker.io/${name}`;
  return name.replace(/^index\.docker\.io\//, 'docker.io/');
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]*')}$`);
}

function fail(source: string, where: string, message: string): never {
  throw new Error(`${source}: ${where}: ${message}`);
}

function stringList(value: unknown, source: string, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
    fail(source, where, 'must be a non-empty list of strings');
  }
  return value as string[];
}

/** Parses and checks the file's text; errors name the file, the entry and the field. */
export function parseImageMap(text: string, source = 'images.yaml'): ImageEntry[] {
  const doc = parse(text) as unknown;
  const list = (doc as { images?: unknown } | null)?.images;
  if (!Array.isArray(list)) fail(source, 'images', 'must be a list of entries');
  return list.map((raw: unknown, i) => {
    const where = `images[${i}]`;
    if (typeof raw !== 'object' || raw === null) fail(source, where, 'must be a mapping');
    const e = raw as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!['match', 'command', 'args', 'env', 'tools'].includes(key)) fail(source, `${where}.${key}`, 'unknown field (expected match, command, args, env, tools)');
    }
    const args = e.args ?? 'drop';
    if (args !== 'keep' && args !== 'drop') fail(source, `${where}.args`, `must be "keep" or "drop", not ${JSON.stringify(args)}`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries((e.env ?? {}) as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(source, `${where}.env.${k}`, 'must be a string (quote numbers and booleans)');
      env[k] = v;
    }
    const tools: Record<string, string[]> = {};
    for (const [k, v] of Object.entries((e.tools ?? {}) as Record<string, unknown>)) tools[k] = stringList(v, source, `${where}.tools.${k}`);
    return {
      match: stringList(e.match, source, `${where}.match`).map(normalizeImage),
      command: stringList(e.command, source, `${where}.command`),
      args,
      env,
      tools,
    };
  });
}

export function loadImageMap(file: string): ImageEntry[] {
  return parseImageMap(readFileSync(file, 'utf8'), file);
}

/** The first entry whose pattern matches `image` (any tag or digest), or undefined. */
export function findImage(entries: readonly ImageEntry[], image: string): ImageEntry | undefined {
  const name = normalizeImage(image);
  return entries.find((entry) => entry.match.some((pattern) => globToRegExp(pattern).test(name)));
}

/** The argv for a container of this image: the entry's command, plus the container's args when kept. */
export function commandFor(entry: ImageEntry, containerArgs: readonly string[] = []): string[] {
  return entry.args === 'keep' ? [...entry.command, ...containerArgs] : [...entry.command];
}
