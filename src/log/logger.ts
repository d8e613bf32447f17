/**
 * Operator log: one line per event on stderr, `TIME LEVEL [who] message`. Lines are plain text
 * so a person can read them in a terminal and a test or `grep` can match them; the process
 * name (`primary`, `worker 2`) says who wrote the line, since all processes share one stderr.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * `PORTICO_LOG_FORMAT=json` (set by `--log-format json` or `logFormat: json`, inherited by the
 * workers) writes one JSON object per line instead: time, level, process, msg.
 */
export function createLogger(who: string, minimum: LogLevel = levelFromEnv(), format = process.env.PORTICO_LOG_FORMAT === 'json' ? 'json' : 'text'): Logger {
  const write = (level: LogLevel, message: string): void => {
    if (LEVEL_RANK[level] < LEVEL_RANK[minimum]) return;
    const time = new Date().toISOString();
    process.stderr.write(format === 'json' ? `${JSON.stringify({ time, level, process: who, msg: message })}\n` : `${time} ${level.toUpperCase().padEnd(5)} [${who}] ${message}\n`);
  };
  return {
    debug: (message) => write('debug', message),
    info: (message) => write('info', message),
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
  };
}

function levelFromEnv(): LogLevel {
  const level = process.env.PORTICO_LOG_LEVEL;
  return level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? level : 'info';
}
