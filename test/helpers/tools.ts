/**
 * What some tests need from outside the repository: a program (Chromium, Prometheus, promtool,
 * redis-server, iptables, ip, kubectl, openssl, wrk, valgrind), found on PATH, or the `../shared` folder beside
 * the repository (Istio's sample files, never committed).
 *
 * On a developer's machine a missing one skips the tests that need it, with a message naming it
 * and how to install it. With `SKIFF_REQUIRE_TOOLS=1` (CI sets it) those tests fail with the same
 * message instead, so a missing install step cannot hide behind a green run.
 *
 * A test states its need twice: `{ skip: t.skip }` in its options (false when present or
 * required), and `t.require()` (or `t.path`) where it uses the thing, which throws the message
 * when it is missing. Adding a tool is one entry in `TOOLS` (and, for CI, one package in
 * `.ci/run`).
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { repoRoot } from './cli.js';

/** The variable that turns a missing tool from a skip into a failure. */
export const REQUIRE_TOOLS_VAR = 'SKIFF_REQUIRE_TOOLS';
/** Where `../shared` is looked for instead, when set (an empty directory hides it). */
export const SHARED_DIR_VAR = 'SKIFF_SHARED_DIR';

interface ProgramSpec {
  /** The executable looked for on PATH. */
  executable: string;
  /** What the tests do with it, for the message. */
  usedFor: string;
  /** How to get it on Debian, as CI does. */
  install: string;
}

/** Every program a test may need. CI (`.ci/run`) installs the Debian packages named here that its tests use. */
export const TOOLS = {
  chromium: { executable: 'chromium', usedFor: 'the dashboard browser test', install: 'apt-get install -y chromium' },
  prometheus: { executable: 'prometheus', usedFor: 'a real Prometheus scraping the mesh', install: 'apt-get install -y prometheus' },
  promtool: { executable: 'promtool', usedFor: 'checking every metrics scrape a test reads', install: 'apt-get install -y prometheus (it ships promtool)' },
  'redis-server': { executable: 'redis-server', usedFor: 'a real Redis', install: 'apt-get install -y redis-server' },
  iptables: { executable: 'iptables', usedFor: 'traffic capture rules', install: 'apt-get install -y iptables' },
  ip: { executable: 'ip', usedFor: 'network namespaces laid out as pods', install: 'apt-get install -y iproute2' },
  kubectl: { executable: 'kubectl', usedFor: 'checks against kubectl itself', install: 'apt-get install -y kubernetes-client (Debian ships kubectl in it)' },
  openssl: { executable: 'openssl', usedFor: 'making test certificates', install: 'apt-get install -y openssl' },
  wrk: { executable: 'wrk', usedFor: "running the benchmark's wrk scripts", install: 'apt-get install -y wrk' },
  valgrind: { executable: 'valgrind', usedFor: "the benchmark's instruction counts (callgrind)", install: 'apt-get install -y valgrind' },
} as const satisfies Record<string, ProgramSpec>;

export type ToolName = keyof typeof TOOLS;

/** Whether missing tools fail tests (CI) rather than skip them. */
export function toolsRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[REQUIRE_TOOLS_VAR];
  return v !== undefined && v !== '' && v !== '0';
}

/** The error a test that needs a missing tool fails with. */
export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

export interface Requirement {
  /** What it is, as the messages name it. */
  readonly name: string;
  /** Where it is, or null when missing. */
  readonly path: string | null;
  /** The `skip` option of a test that needs it: the reason when it is missing and not required, else false. */
  readonly skip: string | false;
  /** Its path; throws `MissingToolError` (naming it and how to install it) when it is missing. */
  require(): string;
}

function requirement(name: string, path: string | null, missing: string, env: NodeJS.ProcessEnv): Requirement {
  const required = toolsRequired(env);
  return {
    name,
    path,
    skip: path !== null || required ? false : `${missing}; skipping (set ${REQUIRE_TOOLS_VAR}=1 to make this a failure)`,
    require(): string {
      if (path === null) throw new MissingToolError(`${missing}${required ? ` (${REQUIRE_TOOLS_VAR} is set: the tests that need it fail instead of skipping)` : ''}`);
      return path;
    },
  };
}

/** The full path of `executable` on `pathVar`, or null. */
export function onPath(executable: string, pathVar: string = process.env.PATH ?? ''): string | null {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, executable);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** A program some test needs, looked up on PATH now. */
export function tool(name: ToolName, env: NodeJS.ProcessEnv = process.env): Requirement {
  const spec: ProgramSpec = TOOLS[name];
  const path = onPath(spec.executable, env.PATH ?? '');
  return requirement(name, path, `${spec.executable} not found on PATH; it is needed for ${spec.usedFor}. Install it with: ${spec.install}`, env);
}

/** The `../shared` folder beside the repository (or `$SKIFF_SHARED_DIR`): Istio's sample manifests, certificates and CRDs. */
export function sharedFiles(env: NodeJS.ProcessEnv = process.env): Requirement {
  const override = env[SHARED_DIR_VAR];
  const dir = override !== undefined && override !== '' ? resolve(override) : join(repoRoot, '..', 'shared');
  const samples = join(dir, 'istio-samples');
  return requirement(
    '../shared',
    existsSync(samples) ? dir : null,
    `../shared/istio-samples not found (looked in ${samples}); Istio's sample files are kept beside the repository, never in it: put the shared folder next to the checkout`,
    env,
  );
}
