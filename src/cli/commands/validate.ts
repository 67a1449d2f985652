/**
 * `skiff validate -f FILE|DIR ...`: checks each resource on its own (schema and Istio's validation
 * rules, no cross-resource checks), as `istioctl validate` does. Exit status 1 when any resource
 * is invalid; warnings (such as kinds Skiff does not support) do not fail.
 */
import type { Command } from 'commander';
import { colorEnabled, findingToJson, formatFinding, paint, sortFindings } from '../../config/format.js';
import type { LoadResult } from '../../config/finding.js';
import { collectFileArgs, parseOutputFormat } from '../file-args.js';
import type { OutputFormat } from '../file-args.js';

interface ValidateOptions {
  filename?: string[];
  output: string;
  namespace: string;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('Validate Istio and Kubernetes resources in files, each on its own (like istioctl validate)')
    .argument('[files...]', 'files or directories (same as -f)')
    .option('-f, --filename <paths...>', 'file, directory (searched recursively for .yaml/.yml/.json) or - for stdin; repeatable')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .option('-n, --namespace <namespace>', 'namespace for resources that name none', 'default')
    .addHelpText('after', '\nExit status: 0 when every resource is valid (warnings allowed), 1 otherwise.')
    .action(async (files: string[], opts: ValidateOptions) => {
      const paths = collectFileArgs(files, opts.filename);
      const format = parseOutputFormat(opts.output);
      const { loadFiles } = await import('../../config/load.js');
      const result = await loadFiles(paths, { defaultNamespace: opts.namespace });
      process.exitCode = report(result, format);
    });
}

/** Prints the outcome and returns the exit status. */
function report(result: LoadResult, format: OutputFormat): number {
  const findings = sortFindings(result.findings, result.files);
  const failed = findings.some((f) => f.severity === 'error');
  const count = (status: string): number => result.documents.filter((d) => d.status === status).length;
  const valid = count('valid');
  const invalid = count('invalid');
  const unsupported = count('unsupported');
  if (format === 'json') {
    const body = {
      valid: !failed,
      resources: result.documents.map((d) => ({ ...(d.resource !== undefined ? { resource: d.resource } : {}), file: d.file, line: d.line, status: d.status })),
      findings: findings.map(findingToJson),
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return failed ? 1 : 0;
  }
  const color = colorEnabled(process.stderr);
  // An unsupported kind needs no excerpt: the line names the kind, and there may be many of them.
  for (const f of findings) process.stderr.write(`${formatFinding(f, { color, excerpt: f.unsupported !== true })}\n`);
  const where = result.files.length === 0 ? 'the input' : result.files.length === 1 ? result.files[0] : `${result.files.length} files`;
  const skipped = unsupported > 0 ? ` (${unsupported} skipped: kind not supported by Skiff)` : '';
  const total = valid + invalid;
  if (failed) {
    const what = invalid > 0 ? `${invalid} of ${total} ${plural(total, 'resource')} invalid` : 'input could not be read';
    process.stderr.write(`${paint('✘', 'red', color)} ${what} in ${where}${skipped}\n`);
    return 1;
  }
  const out = colorEnabled(process.stdout);
  process.stdout.write(`${paint('✔', 'green', out)} ${valid} ${plural(valid, 'resource')} valid in ${where}${skipped}\n`);
  return 0;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
