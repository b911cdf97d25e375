import { pino, type Logger } from 'pino'
import { LineBatcher } from './line-batcher.js'
import type { LogLevel } from './settings.js'

export type { Logger }

export interface LoggerOptions {
  readonly role: 'primary' | 'worker'
  readonly level: LogLevel
  readonly workerId?: number
  /** Batch lines into fewer writes (workers: one access line per request). */
  readonly buffered?: boolean
}

/** A pipe keeps a write whole only up to PIPE_BUF bytes (4 KiB on Linux). */
const pipeBuf = 4096

export interface LogOutput {
  readonly logger: Logger
  /** Writes out what is buffered; resolves when it is written. */
  flush (): Promise<void>
  /** Lines dropped because stdout (a full pipe) did not take them; 0 unbuffered. */
  droppedLines (): number
}

/**
 * A pino JSON logger on stdout, every line tagged with role, pid and worker id.
 *
 * stdout is shared by every process, so no write(2) may exceed PIPE_BUF or
 * carry part of a line: a pipe keeps such a write whole, never interleaved
 * with another process's. Unbuffered, each line is one synchronous write.
 * Buffered (workers), a LineBatcher joins whole lines into chunks of at most
 * PIPE_BUF bytes and writes each chunk at once, at least every second; a
 * single line is kept below that size by capping client-controlled fields
 * (see access-log.ts).
 */
export function createLogOutput (options: LoggerOptions): LogOutput {
  const base: Record<string, unknown> = { role: options.role, pid: process.pid }
  if (options.workerId !== undefined) base.worker = options.workerId
  if (options.buffered !== true) {
    return { logger: pino({ level: options.level, base }, pino.destination({ dest: 1, sync: true })), flush: async () => {}, droppedLines: () => 0 }
  }
  const batcher = new LineBatcher(1, { maxWriteBytes: pipeBuf, flushIntervalMs: 1000 })
  // Last resort for an exit nobody awaited flush() for (a crash).
  process.once('exit', () => batcher.flushSync())
  return {
    logger: pino({ level: options.level, base }, batcher),
    flush: () => new Promise((resolve) => batcher.flush(() => resolve())),
    droppedLines: () => batcher.dropped
  }
}

/** An unbuffered logger (the primary, the CLI). */
export function createLogger (options: Omit<LoggerOptions, 'buffered'>): Logger {
  return createLogOutput(options).logger
}
