/**
 * `promtool check metrics` (Prometheus's own linter, from Debian's prometheus package) over a
 * metrics page a test scraped: the page must parse as Prometheus text format, and every lint
 * finding must be one Envoy's own pages draw too (`ENVOY_LINTS`). Every test that reads a scrape
 * calls `checkScrape` on what it read. Without promtool the check is left out, except under
 * SKIFF_REQUIRE_TOOLS=1, where it fails (test/telemetry/metrics.test.ts shows the skip).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tool } from './tools.js';

export const promtool = tool('promtool');

/**
 * Lint findings a proxy's page draws by design, as Envoy's and Istio's do: Envoy writes `# TYPE`
 * lines without `# HELP` and keeps its stats' own names (the counter
 * `envoy_cluster_upstream_rq_retry` has no `_total` added, the gauge
 * `envoy_cluster_membership_total` keeps its), and Istio's standard duration histogram is named
 * in milliseconds.
 */
export const ENVOY_LINTS: readonly RegExp[] = [
  /^\S+ no help text$/,
  /^envoy_\w+ counter metrics should have "_total" suffix$/,
  /^envoy_\w+ non-counter metrics should not have "_total" suffix$/,
  /^istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"$/,
];

/** Pages already found good in this process (an `eventually` loop reads the same page often). */
const checked = new Set<string>();

/** Runs promtool on `text`; resolves to its verdict (exit code and what it printed). */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  const bin = promtool.require();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.on('error', () => undefined); // promtool may stop reading early on a parse error
    child.stdin.end(text);
  });
}

/**
 * Throws when promtool finds `text` malformed or lints it, naming `where` and quoting its
 * findings. Without promtool (and without SKIFF_REQUIRE_TOOLS) it checks nothing.
 */
export async function checkScrape(text: string, where: string): Promise<void> {
  if (promtool.path === null && promtool.skip !== false) return;
  const key = createHash('sha256').update(text).digest('hex');
  if (checked.has(key)) return;
  const { code, output } = await promtoolCheck(text);
  // Exit 1: the page does not parse; 3: lint findings, listed one a line.
  const findings = output.split('\n').filter((l) => l.trim() !== '' && !ENVOY_LINTS.some((re) => re.test(l.trim())));
  if ((code !== 0 && code !== 3) || findings.length > 0) {
    throw new Error(`promtool check metrics refuses the scrape of ${where} (exit ${String(code)}):\n${findings.join('\n') || output.trim()}`);
  }
  checked.add(key);
}
