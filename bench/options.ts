/**
 * Command-line options of `npm run bench` (`node dist/bench/main.js`): what to run and for how long.
 */

export type Suite = 'proxy' | 'controlplane' | 'micro' | 'instructions';

export interface BenchOptions {
  /** Suites to run, in order. */
  suites: Suite[];
  /** Interleaved rounds; each figure is the median over them. */
  rounds: number;
  /** Seconds of the max-throughput run and of the fixed-rate run, each. */
  durationS: number;
  /** Seconds of warm-up load before each max-throughput run. */
  warmupS: number;
  /** Connections of the max-throughput run (wrk -c). */
  connections: number;
  /** Total request rate of the latency run, req/s. */
  fixedRate: number;
  /** Connections sharing the fixed rate. */
  fixedConnections: number;
  /** Only these scenarios (by name); empty = all. */
  only: string[];
  /** Record CPU profiles of one row's Skiff proxies under load instead of the table. */
  profile: boolean;
  quick: boolean;
  /** Niceness of every benchmark process (negative = ahead of other work; needs root). 0 = unchanged. */
  nice: number;
  /** Where latest.json and the per-run copies go. */
  resultsDir: string | null;
  /** Control plane: write skiffd's CPU profile (node --cpu-prof) into this directory. */
  cpuProfileDir: string | null;
  /** Instruction counts: requests before counting starts. */
  instrWarmup: number;
  /** Instruction counts: requests counted. */
  instrRequests: number;
}

export const DEFAULTS: Readonly<Omit<BenchOptions, 'suites' | 'only' | 'resultsDir' | 'cpuProfileDir'>> = Object.freeze({
  rounds: 3,
  durationS: 10,
  warmupS: 3,
  connections: 50,
  fixedRate: 1000,
  fixedConnections: 16,
  profile: false,
  quick: false,
  nice: 0,
  instrWarmup: 40_000,
  instrRequests: 5_000,
});

/** `--quick`: one short round of everything, for use while developing (about a minute). */
const QUICK = { rounds: 1, durationS: 3, warmupS: 1, instrWarmup: 5_000, instrRequests: 1_000 } as const;

export const USAGE = `usage: npm run bench -- [options]
  --quick              one short round (about a minute); figures are indicative only
                       (control plane: 100 and 1000 proxies, 3 changes)
  --rounds N           interleaved rounds, medians reported (default ${DEFAULTS.rounds})
  --duration S         seconds of each max-throughput and each fixed-rate run (default ${DEFAULTS.durationS})
  --warmup S           seconds of warm-up before each max-throughput run (default ${DEFAULTS.warmupS})
  --connections N      connections of the max-throughput run (default ${DEFAULTS.connections})
  --rate R             request rate of the latency run, req/s (default ${DEFAULTS.fixedRate})
  --only A,B           only these scenarios (e.g. direct,skiff-outbound,nginx)
  --suite S            proxy (default), controlplane, micro (hot-path calls in-process: router,
                       telemetry, load balancing; ns per call), all (those three), or instructions:
                       user-space instructions per request of each proxy of skiff-2hop-mtls and
                       nginx-2hop-mtls, counted by valgrind's callgrind (the same on a busy machine;
                       --only skiff-2hop-mtls or nginx-2hop-mtls for one pair; a few minutes)
  --instr-warmup N     instructions: requests before counting (default ${DEFAULTS.instrWarmup})
  --instr-requests N   instructions: requests counted (default ${DEFAULTS.instrRequests})
  --profile            CPU-profile a row's Skiff proxies under load and list their hot spots: skiff-outbound
                       (default), or --only skiff-inbound, skiff-gateway, skiff-2hop or skiff-2hop-mtls
                       (both sidecars, each profiled on its own)
  --nice N             run backend, proxies and wrk at niceness N (e.g. -10, needs root): on a shared
                       machine this keeps other work from taking the measured cores
  --results DIR        where latest.json goes (default bench/results)
  --cpu-prof-dir DIR   control plane: write skiffd's CPU profile into DIR
  -h, --help           this text`;

export class UsageError extends Error {}

function number(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isFinite(n) || n < min) {
    throw new UsageError(`${flag} needs a number >= ${min}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
  }
  return n;
}

/** Parses argv (without node and script); throws UsageError with a readable message. Returns null for --help. */
export function parseOptions(argv: readonly string[]): BenchOptions | null {
  const explicit: Partial<BenchOptions> = {};
  let quick = false;
  let suites: Suite[] = ['proxy'];
  let only: string[] = [];
  let resultsDir: string | null = null;
  let cpuProfileDir: string | null = null;
  let profile = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '-h':
      case '--help':
        return null;
      case '--quick':
        quick = true;
        break;
      case '--profile':
        profile = true;
        break;
      case '--rounds':
        explicit.rounds = Math.round(number(flag, value(), 1));
        break;
      case '--duration':
        explicit.durationS = number(flag, value(), 1);
        break;
      case '--warmup':
        explicit.warmupS = number(flag, value(), 0);
        break;
      case '--connections':
        explicit.connections = Math.round(number(flag, value(), 1));
        break;
      case '--instr-warmup':
        explicit.instrWarmup = Math.round(number(flag, value(), 0));
        break;
      case '--instr-requests':
        explicit.instrRequests = Math.round(number(flag, value(), 1));
        break;
      case '--rate':
        explicit.fixedRate = number(flag, value(), 1);
        break;
      case '--nice': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < -20 || n > 19) throw new UsageError('--nice needs a whole number from -20 to 19');
        explicit.nice = n;
        break;
      }
      case '--only':
        only = (value() ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
        if (only.length === 0) throw new UsageError('--only needs a comma-separated list of scenarios');
        break;
      case '--suite': {
        const v = value();
        if (v === 'proxy' || v === 'controlplane' || v === 'micro' || v === 'instructions') suites = [v];
        else if (v === 'all') suites = ['micro', 'proxy', 'controlplane'];
        else throw new UsageError(`--suite must be proxy, controlplane, micro, instructions or all, got ${JSON.stringify(v ?? '')}`);
        break;
      }
      case '--results': {
        const v = value();
        if (v === undefined || v === '') throw new UsageError('--results needs a directory');
        resultsDir = v;
        break;
      }
      case '--cpu-prof-dir': {
        const v = value();
        if (v === undefined || v === '') throw new UsageError('--cpu-prof-dir needs a directory');
        cpuProfileDir = v;
        break;
      }
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  return { ...DEFAULTS, ...(quick ? QUICK : {}), ...explicit, quick, profile, suites, only, resultsDir, cpuProfileDir };
}
