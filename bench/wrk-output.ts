/**
 * Reading what wrk prints: the machine-readable line our Lua `done()` hook writes
 * (`SKIFF_BENCH {json}`), with wrk's own text summary (`--latency`) as the fallback, and the
 * Lua scripts that produce that line and pace the fixed-rate run.
 */

export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
  /** Responses with a status other than 2xx/3xx. */
  status: number;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  /** requests / duration. */
  rps: number;
  /** Percentiles in milliseconds; null when wrk printed none. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  errors: WrkErrors;
}

const MARKER = 'SKIFF_BENCH ';

/** The Lua `done()` hook: one line of JSON with counts and latency percentiles in microseconds. */
export const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARKER}{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

/**
 * A pacing script for a fixed total rate over `connections` connections. With LuaJIT's ffi (wrk's
 * usual build) every request takes the next slot of one schedule spaced 1/rate apart, so requests
 * leave evenly at the rate whatever the latency (as long as a connection is free); without ffi
 * each connection waits a jittered mean delay instead. The schedule never runs more than one slot
 * behind, so a slow proxy gets a lower rate (reported) rather than catch-up bursts. wrk measures
 * latency from the moment a request is written, so the wait itself is never counted.
 */
export function pacedScript(rate: number, connections: number): string {
  const intervalMs = 1000 / rate;
  const meanMs = (connections * 1000) / rate;
  return `
local interval = ${intervalMs.toFixed(6)}
local mean = ${meanMs.toFixed(3)}
local now_ms = nil
local has_ffi, ffi = pcall(require, "ffi")
if has_ffi then
  ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } skiff_bench_timespec; int clock_gettime(int clk, skiff_bench_timespec *tp); ]]
  local ts = ffi.new("skiff_bench_timespec")
  now_ms = function()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
end
local next_at = nil
math.randomseed(${Date.now() % 100000})
delay = function()
  if now_ms == nil then
    return math.floor(mean * (0.5 + math.random()) + 0.5)
  end
  local now = now_ms()
  if next_at == nil or next_at < now - interval then
    next_at = now
  else
    next_at = next_at + interval
  end
  local d = next_at - now
  if d <= 0 then return 0 end
  return math.floor(d + 0.5)
end
${DONE_HOOK}`;
}

/** wrk's time units: `us`, `ms`, `s`, `m` (and `h` for durations). */
export function toMs(value: number, unit: string): number {
  switch (unit) {
    case 'us':
      return value / 1000;
    case 'ms':
      return value;
    case 's':
      return value * 1000;
    case 'm':
      return value * 60_000;
    case 'h':
      return value * 3_600_000;
    default:
      throw new Error(`unknown wrk time unit ${JSON.stringify(unit)}`);
  }
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`wrk result line: ${key} is not a number`);
  return v;
}

function fromMarker(line: string): WrkResult {
  const parsed: unknown = JSON.parse(line.slice(line.indexOf(MARKER) + MARKER.length));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('wrk result line is not an object');
  const o = parsed as Record<string, unknown>;
  const requests = num(o, 'requests');
  const durationS = num(o, 'duration_us') / 1e6;
  return {
    requests,
    durationS,
    rps: durationS > 0 ? requests / durationS : 0,
    p50Ms: num(o, 'p50_us') / 1000,
    p90Ms: num(o, 'p90_us') / 1000,
    p99Ms: num(o, 'p99_us') / 1000,
    maxMs: num(o, 'max_us') / 1000,
    errors: { connect: num(o, 'connect'), read: num(o, 'read'), write: num(o, 'write'), timeout: num(o, 'timeout'), status: num(o, 'status') },
  };
}

/** wrk's text summary, as printed with `--latency`. */
function fromText(text: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(text);
  if (total === null) throw new Error(`wrk printed no "N requests in T" line:\n${text.slice(0, 2000)}`);
  const requests = Number(total[1]);
  const durationS = toMs(Number(total[2]), total[3]) / 1000;
  const rpsLine = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const pct = (p: number): number | null => {
    const m = new RegExp(`^\\s+${p}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m === null ? null : toMs(Number(m[1]), m[2]);
  };
  const max = /^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)/m.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const status = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests,
    durationS,
    rps: rpsLine !== null ? Number(rpsLine[1]) : durationS > 0 ? requests / durationS : 0,
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    maxMs: max === null ? null : toMs(Number(max[1]), max[2]),
    errors: {
      connect: sock === null ? 0 : Number(sock[1]),
      read: sock === null ? 0 : Number(sock[2]),
      write: sock === null ? 0 : Number(sock[3]),
      timeout: sock === null ? 0 : Number(sock[4]),
      status: status === null ? 0 : Number(status[1]),
    },
  };
}

/** Parses wrk's stdout; prefers the `SKIFF_BENCH` line. Throws when neither form is present. */
export function parseWrkOutput(text: string): WrkResult {
  const line = text.split('\n').find((l) => l.includes(MARKER));
  return line !== undefined ? fromMarker(line) : fromText(text);
}

/** Total of every error kind. */
export function errorCount(e: WrkErrors): number {
  return e.connect + e.read + e.write + e.timeout + e.status;
}
