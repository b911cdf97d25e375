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
    const url = request.raw.url ?? ''
    logger.info({
      method: request.method,
      http: request.raw.httpVersion,
      url: url.length > maxLoggedUrlLength ? `${url.slice(0, maxLoggedUrlLength)}…` : url,
      status: reply.statusCode,
      bytes: request.method === 'HEAD' || reply.statusCode === 304 ? 0 : responseBytes(reply.getHeader('content-length')),
      ms: Math.round(reply.elapsedTime * 100) / 100
    }, 'request')
    done()
  })
}

function responseBytes (header: unknown): number {
  const value = Number(Array.isArray(header) ? header[0] : header)
  return Number.isFinite(value) ? value : 0
}
