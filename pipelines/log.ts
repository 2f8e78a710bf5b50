/**
 * Structured logs carry ids and counts only: never a name, date of birth, address or raw identifier.
 * The Lambda handlers pass Powertools' Logger (same shape); locally we write JSON lines to stderr.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof LEVELS;

export function jsonLog(
  level: Level = (process.env.LOG_LEVEL?.toLowerCase() as Level) ?? 'warn',
  sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Log {
  const min = LEVELS[level] ?? LEVELS.warn;
  const emit = (lvl: Exclude<Level, 'silent'>) => (message: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    sink(JSON.stringify({ level: lvl.toUpperCase(), timestamp: new Date().toISOString(), message, ...fields }));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
