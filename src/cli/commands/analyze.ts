/**
 * `skiff analyze [-f FILE|DIR ...]`: validates the resources and checks them as a set, like
 * `istioctl analyze` (references between resources, conflicts, selectors that match nothing).
 * As istioctl analyses the cluster, it analyses the live mesh — the running skiffd's config, or
 * the state directory's when none runs — with the files given merged over it; `--use-kube=false`
 * analyses the files alone. Prints istioctl-style messages with Istio's codes; exit status 79
 * (istioctl's) when a message reaches the failure threshold (Error by default), 0 otherwise.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { colorEnabled, paint } from '../../config/format.js';
import { parseOutputFormat } from '../file-args.js';
import type { AnalysisMessage, Level, ProxyJwksReport } from '../../analyze/index.js';
import type { ProxyStatusReport } from '../../controlplane/push/status-handler.js';
import type { Resource } from '../../api/types.js';
import type { LeftOutReport } from '../../analyze/left-out.js';
import { STATE_DIR_HELP } from '../state-dir-option.js';

interface AnalyzeOptions {
  filename?: string[];
  output: string;
  namespace: string;
  allNamespaces?: boolean;
  failureThreshold: Level;
  outputThreshold: Level;
  listAnalyzers?: boolean;
  useKube: boolean;
  stateDir?: string;
}

/** istioctl's exit status for "analysis found issues", so CI scripts written for it keep working. */
export const EXIT_ANALYZER_FOUND_ISSUES = 79;
const ANALYSIS_DOCS = 'https://istio.io/latest/docs/reference/config/analysis';
const LEVELS: readonly Level[] = ['Error', 'Warning', 'Info'];

/** istioctl's `--use-kube=false`: any of true/false/yes/no/1/0. */
function parseBool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === 'yes' || v === '1') return true;
  if (v === 'false' || v === 'no' || v === '0') return false;
  throw new InvalidArgumentError(`must be true or false (got "${value}")`);
}

function parseLevel(value: string): Level {
  const level = LEVELS.find((l) => l.toLowerCase() === value.toLowerCase());
  if (!level) throw new InvalidArgumentError(`must be one of ${LEVELS.join(', ')}`);
  return level;
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description('Analyze the live mesh config, with any files merged over it, and print validation messages (like istioctl analyze)')
    .argument('[files...]', 'files or directories (same as -f)')
    .option('-f, --filename <paths...>', 'file, directory (searched recursively for .yaml/.yml/.json) or - for stdin; repeatable')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .option('-n, --namespace <namespace>', 'namespace to analyze, also given to resources that name none', 'default')
    .option('-A, --all-namespaces', 'report messages for every namespace')
    .addOption(new Option('--failure-threshold <level>', 'lowest level that makes the exit status non-zero').default('Error').argParser(parseLevel))
    .addOption(new Option('--output-threshold <level>', 'lowest level of messages to print').default('Info').argParser(parseLevel))
    .option('-L, --list-analyzers', 'list the analyzers and the message codes they report, then exit')
    .addOption(
      new Option('--use-kube [bool]', 'analyze the live mesh (the running skiffd, else the state directory) with the files merged over it; --use-kube=false: the files alone')
        .default(true)
        .argParser(parseBool),
    )
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .addHelpText('after', `\nExit status: ${EXIT_ANALYZER_FOUND_ISSUES} when a message reaches the failure threshold, 0 otherwise.\nMessage codes: IST* as in ${ANALYSIS_DOCS}; SKF* are Skiff's own (see --list-analyzers).`)
    .action(async (files: string[], opts: AnalyzeOptions) => {
      const { analyze, analyzers } = await import('../../analyze/index.js');
      if (opts.listAnalyzers) {
        const { MessageTypes } = await import('../../analyze/messages.js');
        const lines = analyzers.map((a) => `* ${a.name}:\n    ${a.description}`);
        lines.push('', 'Message codes:');
        for (const t of Object.values(MessageTypes)) lines.push(`  ${t.code} ${t.name} (${t.level}): ${t.description}`);
        process.stdout.write(`${lines.join('\n')}\n`);
        return;
      }
      const paths = [...(opts.filename ?? []), ...files];
      const format = parseOutputFormat(opts.output);
      const scope = { namespace: opts.namespace, allNamespaces: opts.allNamespaces === true };
      const { loadFiles } = await import('../../config/load.js');
      const loaded = paths.length > 0 ? await loadFiles(paths, { defaultNamespace: opts.namespace }) : undefined;
      if (!opts.useKube) {
        if (loaded === undefined) throw new InvalidArgumentError('no input: with --use-kube=false pass files or directories with -f FILE|DIR (or -f - for stdin)');
        process.exitCode = await report(analyze(loaded, scope), format === 'json', opts);
        return;
      }
      const live = await liveResources(opts.stateDir);
      if (live === undefined && loaded === undefined) {
        const { resolveStateDir } = await import('../../config/state-dir.js');
        throw new InvalidArgumentError(`no input: no skiffd runs on ${resolveStateDir(opts.stateDir)} and it holds no config; start one with \`skiff up\`, or pass files with -f FILE|DIR`);
      }
      const { analyzeLive } = await import('../../analyze/live.js');
      const messages = analyzeLive(live ?? [], loaded, { ...scope, live: { jwks: await liveJwks(opts.stateDir) } });
      messages.push(...(await liveLeftOut(opts.stateDir)));
      process.exitCode = await report(messages, format === 'json', opts);
    });
}

/** What the running skiffd of the state directory leaves out of every proxy's config (SKF0006); nothing when none runs. */
async function liveLeftOut(stateDir: string | undefined): Promise<AnalysisMessage[]> {
  const { apiRequest, readSkiffdInfo } = await import('../skiffd-client.js');
  const { leftOutMessages } = await import('../../analyze/left-out.js');
  const live = await readSkiffdInfo(stateDir);
  if (live === undefined) return [];
  const status = (await apiRequest(live, 'GET', '/api/v1/status').catch(() => undefined)) as { leftOut?: LeftOutReport[] } | undefined;
  return leftOutMessages(status?.leftOut ?? []);
}

/** What the running skiffd's proxies report of the JWKS they fetch (SKF0010); nothing when none runs. */
async function liveJwks(stateDir: string | undefined): Promise<ProxyJwksReport[]> {
  const { apiRequest, readSkiffdInfo } = await import('../skiffd-client.js');
  const { PROXY_STATUS_PATH } = await import('../../controlplane/push/status-handler.js');
  const { proxyName } = await import('../proxy-tables.js');
  const live = await readSkiffdInfo(stateDir);
  if (live === undefined) return [];
  const report = (await apiRequest(live, 'GET', PROXY_STATUS_PATH).catch(() => undefined)) as ProxyStatusReport | undefined;
  return (report?.proxies ?? []).flatMap((p) =>
    (p.jwks ?? []).map((j) => ({ proxy: proxyName(p), uri: j.uri, state: j.state, error: j.error, failures: j.failures, keys: j.keys })),
  );
}

/** Every resource of the live mesh; undefined when no skiffd runs and the state directory holds no config. */
async function liveResources(stateDirOption: string | undefined): Promise<Resource[] | undefined> {
  const { resolveStateDir } = await import('../../config/state-dir.js');
  const { configClient } = await import('../config-client.js');
  const client = await configClient(resolveStateDir(stateDirOption));
  const items = await client.list({});
  return client.skiffd === undefined && items.length === 0 ? undefined : items;
}

const SEVERITY: Record<Level, number> = { Error: 2, Warning: 1, Info: 0 };

async function report(messages: readonly AnalysisMessage[], json: boolean, opts: AnalyzeOptions): Promise<number> {
  const { formatMessage, messageToJson } = await import('../../analyze/format.js');
  const shown = messages.filter((m) => SEVERITY[m.level] >= SEVERITY[opts.outputThreshold]);
  const failed = messages.some((m) => SEVERITY[m.level] >= SEVERITY[opts.failureThreshold]);
  const target = opts.allNamespaces ? 'all namespaces' : `namespace: ${opts.namespace}`;
  if (json) {
    process.stdout.write(`${JSON.stringify(shown.map(messageToJson), null, 2)}\n`);
  } else {
    const color = colorEnabled(process.stdout);
    for (const m of shown) process.stdout.write(`${formatMessage(m, color)}\n`);
    if (shown.length === 0) process.stdout.write(`${paint('✔', 'green', color)} No validation issues found when analyzing ${target}.\n`);
  }
  if (!failed) return 0;
  if (!json) {
    process.stderr.write(`Error: Analyzers found issues when analyzing ${target}.\nSee ${ANALYSIS_DOCS} for more information about causes and resolutions.\n`);
  }
  return EXIT_ANALYZER_FOUND_ISSUES;
}
