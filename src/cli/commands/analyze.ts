/**
 * `skiff analyze -f FILE|DIR ...`: validates the resources and checks them as a set, like
 * `istioctl analyze` (references between resources, conflicts, selectors that match nothing).
 * Prints istioctl-style messages with Istio's codes; exit status 79 (istioctl's) when a message
 * reaches the failure threshold (Error by default), 0 otherwise.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { colorEnabled, paint } from '../../config/format.js';
import { collectFileArgs, parseOutputFormat } from '../file-args.js';
import type { AnalysisMessage, Level } from '../../analyze/index.js';

interface AnalyzeOptions {
  filename?: string[];
  output: string;
  namespace: string;
  allNamespaces?: boolean;
  failureThreshold: Level;
  outputThreshold: Level;
  listAnalyzers?: boolean;
}

/** istioctl's exit status for "analysis found issues", so CI scripts written for it keep working. */
export const EXIT_ANALYZER_FOUND_ISSUES = 79;
const ANALYSIS_DOCS = 'https://istio.io/latest/docs/reference/config/analysis';
const LEVELS: readonly Level[] = ['Error', 'Warning', 'Info'];

function parseLevel(value: string): Level {
  const level = LEVELS.find((l) => l.toLowerCase() === value.toLowerCase());
  if (!level) throw new InvalidArgumentError(`must be one of ${LEVELS.join(', ')}`);
  return level;
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description('Analyze Istio configuration files as a set and print validation messages (like istioctl analyze)')
    .argument('[files...]', 'files or directories (same as -f)')
    .option('-f, --filename <paths...>', 'file, directory (searched recursively for .yaml/.yml/.json) or - for stdin; repeatable')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .option('-n, --namespace <namespace>', 'namespace to analyze, also given to resources that name none', 'default')
    .option('-A, --all-namespaces', 'report messages for every namespace')
    .addOption(new Option('--failure-threshold <level>', 'lowest level that makes the exit status non-zero').default('Error').argParser(parseLevel))
    .addOption(new Option('--output-threshold <level>', 'lowest level of messages to print').default('Info').argParser(parseLevel))
    .option('-L, --list-analyzers', 'list the analyzers and the message codes they report, then exit')
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
      const paths = collectFileArgs(files, opts.filename);
      const format = parseOutputFormat(opts.output);
      const { loadFiles } = await import('../../config/load.js');
      const loaded = await loadFiles(paths, { defaultNamespace: opts.namespace });
      const messages = analyze(loaded, { namespace: opts.namespace, allNamespaces: opts.allNamespaces === true });
      process.exitCode = await report(messages, format === 'json', opts);
    });
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
