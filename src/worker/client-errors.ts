import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { classify, type CloseRecord } from './close-cause.js'
import type { ConnectionAccounting } from './connection-accounting.js'
import type { Logger } from '../shared/logger.js'
import { LogRateLimiter } from './log-rate-limiter.js'
import { clientAddressText } from './proxy-protocol/client-address.js'

/**
 * How long a connection stays open for reading after its error answer was
 * sent, unless the client closes first (nginx's lingering close).
 */
const lingerMs = 2000

/** Lines per cause and reason, per worker, in each window. */
const logLimit = 10
const logWindowMs = 10_000

const answers: Record<string, string> = {
  408: 'Request Timeout',
  400: 'Bad Request',
  431: 'Request Header Fields Too Large'
}

/**
 * Fastify's `clientErrorHandler`: every socket, TLS and HTTP parser error of a
 * connection ends here. It records the cause, logs it (rate-limited, never a
 * stack: it is the client's fault), answers with an HTTP status where the
 * client can still read one, and closes the connection.
 */
export function createClientErrorHandler (logger: Logger, accounting?: ConnectionAccounting): {
  handler: (error: NodeJS.ErrnoException & { reason?: string }, socket: Socket) => void
  /** Reports the lines held back so far; call on shutdown. */
  flush: () => void
} {
  const limiter = new LogRateLimiter(logLimit, logWindowMs, (key, count) => {
    logger.warn({ kind: key, suppressed: count, windowMs: logWindowMs }, 'client errors suppressed from the log')
  })
  const lingering = new WeakSet<Socket>()
  function handler (error: NodeJS.ErrnoException & { reason?: string }, socket: Socket): void {
    // The parser's next error on a connection already answered: it lingers.
    if (lingering.has(socket)) return
    const record: CloseRecord = accounting === undefined ? classify(error, false) : accounting.blame(socket, error)
    const key = record.reason === '' ? record.cause : `${record.cause}: ${record.reason}`
    if (limiter.allow(key)) {
      const fields = { cause: record.cause, reason: record.reason, code: error.code, remote: clientAddressText(socket) }
      // Resets and idle timeouts are everyday traffic; the rest is worth a warning.
      if (record.cause === 'client_reset') logger.debug(fields, 'client error')
      else logger.warn(fields, 'client error')
    }
    const status = statusFor(record, error)
    if (status !== undefined && canAnswer(socket)) {
      socket.end(`HTTP/1.1 ${status} ${answers[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      lingerThenClose(socket, lingering)
      return
    }
    socket.destroy()
  }
  return { handler, flush: () => limiter.flush() }
}

function statusFor (record: CloseRecord, error: NodeJS.ErrnoException): number | undefined {
  if (record.cause === 'timeout' && (record.reason === 'headers' || record.reason === 'request')) return 408
  if (record.cause === 'http_error') return error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
  return undefined
}

// Only over an established TLS session that is still writable, and only when
// no response has started (Node tells us through `_httpMessage`).
function canAnswer (socket: Socket): boolean {
  const tls = socket as TLSSocket & { _httpMessage?: unknown, _secureEstablished?: boolean }
  return tls.writable && tls._secureEstablished === true && (tls._httpMessage === null || tls._httpMessage === undefined)
}

// The client may still be sending (a slow header, a body): closing now, with
// its bytes unread, makes the kernel send a reset, and a reset can destroy the
// answer before the client reads it. So, like nginx's lingering close, the
// connection stays open for reading after the answer and its FIN: the
// client's own close ends it (both sides are then done), or `lingerMs`.
function lingerThenClose (socket: Socket, lingering: WeakSet<Socket>): void {
  lingering.add(socket)
  const timer = setTimeout(() => socket.destroy(), lingerMs)
  socket.once('close', () => clearTimeout(timer))
}
