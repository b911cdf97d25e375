import { pino, type Logger } from 'pino'
import type { LogLevel } from './options.js'

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
}

/**
 * A pino JSON logger on stdout, every line tagged with role, pid and worker id.
 *
 * stdout is shared by every process, so no write(2) may exceed PIPE_BUF or
 * carry part of a line: a pipe keeps such a write whole, never interleaved
 * with another process's. Unbuffered, each line is one synchronous write.
 * Buffered (workers), sonic-boom joins whole lines into chunks of at most
 * PIPE_BUF bytes and writes them asynchronously, at least every second; a
 * single line is kept below that size by capping client-controlled fields
 * (see access-log.ts).
 */
export function createLogOutput (options: LoggerOptions): LogOutput {
  const base: Record<string, unknown> = { role: options.role, pid: process.pid }
  if (options.workerId !== undefined) base.worker = options.workerId
  const destination = options.buffered === true
    ? pino.destination({ dest: 1, sync: false, minLength: pipeBuf / 2, maxWrite: pipeBuf, periodicFlush: 1000 })
    : pino.destination({ dest: 1, sync: true })
  if (options.buffered === true) {
    // Last resort for an exit nobody awaited flush() for (a crash).
    process.once('exit', () => {
      try {
        destination.flushSync()
      } catch {}
    })
  }
  return {
    logger: pino({ level: options.level, base }, destination),
    flush: () => new Promise((resolve) => {
      if (options.buffered !== true) return resolve()
      destination.flush(() => resolve())
    })
  }
}

/** An unbuffered logger (the primary, the CLI). */
export function createLogger (options: Omit<LoggerOptions, 'buffered'>): Logger {
  return createLogOutput(options).logger
}
