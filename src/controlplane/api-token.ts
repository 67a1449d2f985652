/**
 * The credential of skiffd's HTTP API: a random bearer token in a file only its owner can read
 * (`<state-dir>/api-token`, mode 0600). skiffd creates it (or keeps the one a previous skiffd of
 * the state directory made, so clients that read it stay valid across restarts); the CLI reads it
 * and sends `Authorization: Bearer <token>`. Whoever can read the state directory's token can
 * drive the mesh, exactly as whoever can write its store can.
 *
 * On Kubernetes the token is a Secret mounted into skiffd's pod (`startSkiffd({ apiTokenFile })`,
 * read, never written), and clients reach skiffd through the Kubernetes API (port-forward or the
 * service proxy), so the API server's own authentication and RBAC decide who may reach skiffd
 * and read the Secret; see docs/architecture.md.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The token file skiffd keeps in its state directory. */
export function apiTokenFile(stateDir: string): string {
  return join(stateDir, 'api-token');
}

/** 32 random bytes as base64url: 256 bits, safe in a header without quoting. */
function newToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,512}$/;

/**
 * The token in `file`, created when absent (or when it is not the owner's alone: a token others
 * could read is replaced by a new one). The file is written beside itself and renamed into place,
 * created with mode 0600 so it is never readable by others, not even for a moment.
 */
export async function ensureApiToken(file: string): Promise<string> {
  const kept = await readPrivateToken(file);
  if (kept !== undefined) return kept;
  const token = newToken();
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${token}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // The process umask cannot widen 0600, but a file system may ignore the mode at creation.
    await chmod(temp, 0o600);
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return token;
}

/** A token given to skiffd (a mounted Secret on Kubernetes): read as it is, never written. */
export async function readGivenApiToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the API token file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const token = text.trim();
  if (!TOKEN_SHAPE.test(token)) throw new Error(`the API token file ${file} must hold one token of 16 to 512 characters from A-Z a-z 0-9 _ -`);
  return token;
}

/** The token a client sends, or undefined when the file cannot be read (skiffd then answers 401 saying why). */
export async function readApiToken(file: string): Promise<string | undefined> {
  try {
    const token = (await readFile(file, 'utf8')).trim();
    return TOKEN_SHAPE.test(token) ? token : undefined;
  } catch {
    return undefined;
  }
}

async function readPrivateToken(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    // Readable or writable by group or others (or not a plain file): not a secret any more.
    if (!info.isFile() || (info.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && info.uid !== process.getuid())) return undefined;
    const token = (await readFile(file, 'utf8')).trim();
    return TOKEN_SHAPE.test(token) ? token : undefined;
  } catch {
    return undefined;
  }
}

/** Compares a presented token with the expected one in constant time. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
