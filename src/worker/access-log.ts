import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type { Logger } from '../shared/logger.js'
import { clientAddress } from './proxy-protocol/client-address.js'

/** Longest URL written to the log; keeps each line under PIPE_BUF (see logger.ts). */
export const maxLoggedUrlLength = 1024

/**
 * One `info` line per request when its response has finished: method, HTTP
 * version, url, status, bytes, duration, the client's address. Replaces Fastify's two-line request logging.
 */
export function registerAccessLog (app: FastifyInstance, logger: Logger, onResponse?: (status: number) => void): void {
  // An HTTP/2 request's socket is a view of its stream's session, which the
  // stream leaves when it closes: by onResponse the address is gone, so it is
  // read when the request arrives. HTTP/1.1 keeps its socket throughout.
  const http2Remote = new WeakMap<object, string | undefined>()
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.raw.httpVersionMajor === 2) http2Remote.set(request.raw, clientAddress(request.raw.socket)?.address)
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    onResponse?.(reply.statusCode)
    logAccess(logger, {
      method: request.method,
      http: request.raw.httpVersion,
      url: request.raw.url ?? '',
      status: reply.statusCode,
      bytes: request.method === 'HEAD' || reply.statusCode === 304 ? 0 : responseBytes(reply.getHeader('content-length')),
      ms: reply.elapsedTime,
      remote: request.raw.httpVersionMajor === 2 ? http2Remote.get(request.raw) : clientAddress(request.raw.socket)?.address
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
  /** The client's IP address: the PROXY header's behind a trusted proxy (proxy-protocol/), else the peer's. */
  readonly remote?: string | undefined
}

const infoLevel = 30

// The JSON of the methods and HTTP versions nearly every line has, made
// once: JSON.stringify is a call into V8's runtime, ~450 instructions each
// (docs/performance-history.md, "Instructions per request").
const quoted = new Map(['GET', 'HEAD', 'POST', '1.1', '2.0', '1.0'].map((value) => [value, JSON.stringify(value)]))

function json (value: string): string {
  return quoted.get(value) ?? JSON.stringify(value)
}

/**
 * `Math.round(ms * 100) / 100` as JSON writes it, from integers: the
 * decimal `whole.frac` is the shortest one that reads back as that double
 * (it has at most 11 digits), which is what Number#toString prints, and
 * integers skip V8's double-to-string conversion (~850 instructions).
 */
export function formatMs (ms: number): string {
  const hundredths = Math.round(ms * 100)
  if (!(hundredths >= 0 && hundredths < 1e9)) return String(hundredths / 100)
  // `| 0`: small integers, whose text V8 makes without its double conversion.
  const whole = (hundredths / 100) | 0
  const frac = (hundredths - whole * 100) | 0
  if (frac === 0) return String(whole)
  return frac % 10 === 0 ? `${whole}.${frac / 10}` : `${whole}.${frac < 10 ? '0' : ''}${frac}`
}

// The epoch time as text, made again only when the millisecond changes:
// under load many lines share one (a double's text costs ~500 instructions).
let lastTime = 0
let lastTimeText = '0'

function timeText (): string {
  const now = Date.now()
  if (now !== lastTime) {
    lastTime = now
    lastTimeText = String(now)
  }
  return lastTimeText
}

/**
 * Writes one access line; every writer goes through here, so each line has
 * the same shape and size cap. The line is exactly what `logger.info(fields,
 * 'request')` writes (pino's epoch time, the logger's bindings, `msg` last;
 * a test compares them), built from a template: it runs once per request,
 * and pino's general serializer took ~0.9 µs per line here against ~0.25 µs
 * for the template (docs/performance-history.md, "Performance work").
 */
export function logAccess (logger: Logger, fields: AccessFields): void {
  if (logger.levelVal > infoLevel) return
  const { url } = fields
  const logged = url.length > maxLoggedUrlLength ? `${url.slice(0, maxLoggedUrlLength)}…` : url
  const stream = (logger as unknown as Record<symbol, { write: (line: string) => void }>)[pino.symbols.streamSym]
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym]
  // pino leaves out a key whose value is undefined.
  const method = fields.method === undefined ? '' : `"method":${json(fields.method)},`
  stream?.write(`{"level":${infoLevel},"time":${timeText()}${bindings ?? ''},${method}` +
    `"http":${json(fields.http)},"url":${JSON.stringify(logged)},"status":${fields.status},"bytes":${fields.bytes},` +
    `"ms":${formatMs(fields.ms)}${fields.scheme === undefined ? '' : `,"scheme":"${fields.scheme}"`}` +
    `${fields.remote === undefined ? '' : `,"remote":${JSON.stringify(fields.remote)}`},"msg":"request"}\n`)
}

function responseBytes (header: unknown): number {
  const value = Number(Array.isArray(header) ? header[0] : header)
  return Number.isFinite(value) ? value : 0
}
