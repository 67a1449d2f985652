/**
 * The floors of `src/`: which folders each folder may import, checked over the TypeScript sources
 * together with three rules for every file — no import cycles between files of `src/`, nothing
 * outside `src/` imported but packages (so never `samples/`, `bench/` or `test/`), and every
 * import resolved (an import the check cannot follow would escape it).
 *
 * The check is dependency-cruiser's: it reads `import`, `export … from` and `import()` including
 * type-only imports, and resolves the NodeNext `.js` specifiers to the `.ts` files as tsc does.
 * The 17.x line is used because it runs on Node 20 (18.x requires Node 22, and `engine-strict`
 * refuses it here).
 */
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

/** Every folder of `src/` may import. */
export const ANY = '*';

/**
 * Each folder of `src/` (a nested folder such as `proxy/filters` may have a line of its own, which
 * then applies instead of its parent's) and the folders of `src/` it may import besides itself.
 * A folder that no line names fails the check: a new folder takes its floor here.
 */
export const FLOORS: Readonly<Record<string, readonly string[]>> = {
  api: [],
  snapshot: ['api'],
  config: ['api'],
  registry: ['config', 'api'],
  telemetry: ['snapshot', 'api'],
  analyze: ['config', 'api'],
  dashboard: ['api'],
  capture: [],
  // The proxy's capture listeners read original destinations with capture's addon wrapper.
  proxy: ['capture', 'snapshot', 'telemetry', 'api'],
  // Inside the proxy: string matching at the bottom, then the filters (which see a request or a
  // connection only through their contracts), then the connection phase that runs them; the
  // request path, the router, listeners and the rest stand on all three.
  'proxy/match': ['snapshot', 'api'],
  'proxy/filters': ['proxy/match', 'snapshot', 'telemetry', 'api'],
  'proxy/connection': ['proxy/filters', 'snapshot', 'telemetry', 'api'],
  runtime: ['registry', 'config', 'api'],
  kube: ['registry', 'config', 'api'],
  controlplane: ['snapshot', 'telemetry', 'analyze', 'dashboard', 'runtime', 'registry', 'config', 'api'],
  cli: [ANY],
};

const CYCLE = 'no-cycle';
const OUTSIDE = 'only-src';
const UNRESOLVED = 'resolved';
const FLOOR = 'floor:';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function rules(floors: Readonly<Record<string, readonly string[]>>): IForbiddenRuleType[] {
  const out: IForbiddenRuleType[] = [
    { name: CYCLE, severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    { name: OUTSIDE, severity: 'error', from: { path: '^src/' }, to: { pathNot: '^(src|node_modules)/', dependencyTypesNot: ['core'] } },
    { name: UNRESOLVED, severity: 'error', from: { path: '^src/' }, to: { couldNotResolve: true } },
  ];
  for (const [folder, allowed] of Object.entries(floors)) {
    if (allowed.includes(ANY)) continue;
    const nested = Object.keys(floors).filter((other) => other.startsWith(`${folder}/`));
    const own = [folder, ...allowed].map(escape).join('|');
    out.push({
      name: `${FLOOR}${folder}`,
      severity: 'error',
      from: { path: `^src/${escape(folder)}/`, ...(nested.length > 0 ? { pathNot: `^src/(${nested.map(escape).join('|')})/` } : {}) },
      to: { path: '^src/', pathNot: `^src/(${own})/` },
    });
  }
  return out;
}

/** One line per broken rule: the importing file, the imported file and the rule. */
function explain(v: IViolation, floors: Readonly<Record<string, readonly string[]>>): string {
  const name = v.rule.name;
  if (name === CYCLE) {
    const loop = [v.from, ...(v.cycle ?? []).map((c) => c.name)].join(' -> ');
    return `${v.from} imports ${v.to}, which leads back to it (${loop}): no import cycles between files of src/`;
  }
  if (name === OUTSIDE) return `${v.from} imports ${v.to}: src/ imports nothing outside src/ but packages`;
  if (name === UNRESOLVED) return `${v.from} imports ${v.to}, which cannot be resolved: every import must resolve for the floors to be checked`;
  const folder = name.slice(FLOOR.length);
  const allowed = floors[folder] ?? [];
  const may = allowed.length === 0 ? 'nothing else of src/' : allowed.map((f) => `src/${f}`).join(', ');
  return `${v.from} imports ${v.to}: src/${folder} may import only ${may} (floor of src/${folder})`;
}

/** The files of `src/` whose folder no line of the floors names. */
function offFloor(result: ICruiseResult, floors: Readonly<Record<string, readonly string[]>>): string[] {
  const folders = Object.keys(floors);
  return result.modules
    .map((m) => m.source)
    .filter((source) => source.startsWith('src/') && !folders.some((f) => source.startsWith(`src/${f}/`)))
    .map((source) => `${source} is in no folder of the floors: give its folder a line in FLOORS`);
}

/**
 * Checks the sources under `<baseDir>/src` (with `<baseDir>/tsconfig.json`) against `floors`;
 * returns one line per problem, none when every file keeps to its floor.
 */
export async function checkFloors(baseDir: string, floors: Readonly<Record<string, readonly string[]>> = FLOORS): Promise<string[]> {
  const tsConfigFile = join(baseDir, 'tsconfig.json');
  const { output } = await cruise(
    ['src'],
    {
      baseDir,
      validate: true,
      ruleSet: { forbidden: rules(floors) },
      tsPreCompilationDeps: true,
      tsConfig: { fileName: tsConfigFile },
      doNotFollow: { path: 'node_modules' },
      // As Node resolves an ESM import; packages such as typebox export only `.mjs` files.
      enhancedResolveOptions: {
        exportsFields: ['exports'],
        conditionNames: ['import', 'node', 'default'],
        extensions: ['.ts', '.d.ts', '.js', '.mjs', '.d.mts', '.json'],
      },
    },
    undefined,
    { tsConfig: extractTSConfig(tsConfigFile) },
  );
  if (typeof output === 'string') throw new Error(`dependency-cruiser answered text instead of a result: ${output.slice(0, 200)}`);
  const problems = output.summary.violations.map((v) => explain(v, floors));
  return [...new Set([...problems, ...offFloor(output, floors)])].sort();
}
