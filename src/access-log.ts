import type { FastifyInstance } from 'fastify'
import type { Logger } from './logger.js'

/** Longest URL written to the log; keeps each line under PIPE_BUF (see logger.ts). */
export const maxLoggedUrlLength = 1024

/**
 * One `info` line per request when its response has finished: method, HTTP
 * version, url, status, bytes, duration. Replaces Fastify's two-line request logging.
 */
export function registerAccessLog (app: FastifyInstance, logger: Logger, onResponse?: (status: number) => void): void {
  app.addHook('onResponse', (request, reply, done) => {
    onResponse?.(reply.statusCode)
    logAccess(logger, {
      method: request.method,
      http: request.raw.httpVersion,
      url: request.raw.url ?? '',
      status: reply.statusCode,
      bytes: request.method === 'HEAD' || reply.statusCode === 304 ? 0 : responseBytes(reply.getHeader('content-length')),
      ms: reply.elapsedTime
    })
    done()
  })
}

export interface AccessFields {
  readonly method: string | undefined
  readonly http: string
  readonly url: string
  readonly status: number
  readonly bytes: number
  readonly ms: number
  /** `http` for the plain-HTTP redirect listener. */
  readonly scheme?: 'http'
}

/** Writes one access line; every writer goes through here, so each line has the same shape and size cap. */
export function logAccess (logger: Logger, fields: AccessFields): void {
  const { url } = fields
  logger.info({
    ...fields,
    url: url.length > maxLoggedUrlLength ? `${url.slice(0, maxLoggedUrlLength)}…` : url,
    ms: Math.round(fields.ms * 100) / 100
  }, 'request')
}

function responseBytes (header: unknown): number {
  const value = Number(Array.isArray(header) ? header[0] : header)
  return Number.isFinite(value) ? value : 0
}
