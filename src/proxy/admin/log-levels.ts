/**
 * The proxy's loggers and their levels, as Envoy's admin `/logging` shows and sets them (and
 * `istioctl proxy-config log` drives): each logger has a level, and a line is written when its
 * level is at or below the logger's. Process-wide, as Envoy's are: under --concurrency each worker
 * has its own, and the admin port (first worker) sets the first worker's.
 */

/** Envoy's levels, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The proxy's loggers: `config` the snapshots it is given (from the control plane or a file) and
 * what it answers about them, `main` the rest of its own life (ports opened, draining, faults).
 */
export const LOGGERS = ['config', 'main'] as const;
export type LoggerName = (typeof LOGGERS)[number];

/** The level a proxy starts with: the lines it writes today are all `info` or above. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export function isLoggerName(value: string): value is LoggerName {
  return (LOGGERS as readonly string[]).includes(value);
}

export class LogLevels {
  private readonly levels = new Map<LoggerName, LogLevel>(LOGGERS.map((l) => [l, DEFAULT_LOG_LEVEL]));

  level(logger: LoggerName): LogLevel {
    return this.levels.get(logger) ?? DEFAULT_LOG_LEVEL;
  }

  /** Whether a line of `level` from `logger` is written. */
  enabled(logger: LoggerName, level: Exclude<LogLevel, 'off'>): boolean {
    return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.level(logger));
  }

  set(logger: LoggerName, level: LogLevel): void {
    this.levels.set(logger, level);
  }

  setAll(level: LogLevel): void {
    for (const l of LOGGERS) this.levels.set(l, level);
  }

  /** Envoy's `/logging` answer: `active loggers:` and a line per logger, by name. */
  render(): string {
    return `active loggers:\n${[...LOGGERS].sort().map((l) => `  ${l}: ${this.level(l)}\n`).join('')}`;
  }

  /**
   * Applies Envoy's `/logging` query: `level=L` sets every logger, `NAME=L` one, and
   * `paths=NAME:L,NAME:L` several. Returns an error naming what is wrong, changing nothing then.
   */
  applyQuery(params: URLSearchParams): string | undefined {
    const changes: [LoggerName | '*', LogLevel][] = [];
    for (const [key, value] of params) {
      const pairs = key === 'paths' ? value.split(',').map((p) => p.split(':') as [string, string?]) : [[key === 'level' ? '*' : key, value] as [string, string?]];
      for (const [name, level = ''] of pairs) {
        const logger = name === '*' ? name : isLoggerName(name) ? name : undefined;
        if (logger === undefined) return `unknown logger "${name}" (loggers: ${LOGGERS.join(', ')})`;
        if (!isLogLevel(level)) return `unknown log level "${level}" for ${logger === '*' ? 'every logger' : `logger ${logger}`} (levels: ${LOG_LEVELS.join(', ')})`;
        changes.push([logger, level]);
      }
    }
    for (const [name, level] of changes) {
      if (name === '*') this.setAll(level);
      else this.set(name, level);
    }
    return undefined;
  }
}

/** The loggers of this process. */
export const proxyLogLevels = new LogLevels();

/** `write`, for lines of `level` from `logger`: each is written only while its logger lets it through. */
export function gatedLog(write: (line: string) => void, logger: LoggerName, level: Exclude<LogLevel, 'off'> = 'info', levels: LogLevels = proxyLogLevels): (line: string) => void {
  return (line) => {
    if (levels.enabled(logger, level)) write(line);
  };
}
