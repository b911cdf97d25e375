import { pino, type Logger } from 'pino'
import type { LogLevel } from './options.js'

export type { Logger }

export interface LoggerOptions {
  readonly role: 'primary' | 'worker'
  readonly level: LogLevel
  readonly workerId?: number
}

/**
 * A pino JSON logger on stdout, every line tagged with role, pid and worker id.
 *
 * Writes are synchronous, one `write(2)` per line: stdout is shared by all
 * processes, and a pipe only keeps writes of up to PIPE_BUF (4 KiB) whole, so
 * buffering several lines per write could interleave lines of different
 * workers. Fields that a client controls are capped (see access-log.ts) to keep
 * every line below that size.
 */
export function createLogger (options: LoggerOptions): Logger {
  const base: Record<string, unknown> = { role: options.role, pid: process.pid }
  if (options.workerId !== undefined) base.worker = options.workerId
  return pino({ level: options.level, base }, pino.destination({ dest: 1, sync: true }))
}
