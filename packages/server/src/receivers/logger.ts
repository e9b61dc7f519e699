/** Where the receivers report what happens to them. Messages are one line each, without a trailing newline. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  /** `error` is the thrown value, when there is one; a logger may print its stack. */
  error(message: string, error?: unknown): void;
}

/** Severity threshold of {@link consoleLogger}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

function noop(): void {}

/** A logger that drops everything (the default for library use and tests). */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/**
 * A logger writing to stderr (warn, error) and stdout (debug, info), each line
 * prefixed with an ISO time and the level.
 *
 * @example
 * const log = consoleLogger('info');
 * log.info('OTLP/HTTP listening on localhost:4318');
 */
export function consoleLogger(level: LogLevel = 'info'): Logger {
  const min = RANK[level];
  const line = (lvl: string, message: string) => `${new Date().toISOString()} ${lvl} ${message}\n`;
  return {
    debug: (m) => {
      if (min <= RANK.debug) process.stdout.write(line('debug', m));
    },
    info: (m) => {
      if (min <= RANK.info) process.stdout.write(line('info ', m));
    },
    warn: (m) => {
      if (min <= RANK.warn) process.stderr.write(line('warn ', m));
    },
    error: (m, e) => {
      if (min > RANK.error) return;
      const extra = e instanceof Error && e.stack ? `\n${e.stack}` : e === undefined ? '' : ` ${String(e)}`;
      process.stderr.write(line('error', m + extra));
    },
  };
}
