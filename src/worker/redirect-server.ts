import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { deadlineCheckIntervalMs, type ConnectionLimits } from '../shared/settings.js'
import { logAccess } from './access-log.js'
import type { Logger } from '../shared/logger.js'
import type { ConnectionAccounting } from './connection-accounting.js'
import { closesWhileDraining } from './drain-rule.js'
import { hasConflictingHost } from './host-header.js'
import { clientAddress } from './proxy-protocol/client-address.js'

// A host name or IPv4 address, or a bracketed IPv6 address, with an optional
// port: anything else (a path, credentials, spaces) could redirect elsewhere.
const validHost = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

export interface RedirectHooks {
  /** While true, every response asks the client to close its connection (drain-rule.ts). */
  readonly isDraining?: () => boolean
  /** Answers a request before the redirect (ACME HTTP-01); true when it did. */
  readonly answerFirst?: (request: IncomingMessage, response: ServerResponse) => boolean
  /** Counts this listener's connections and why each closed, with the HTTPS port's. */
  readonly accounting?: ConnectionAccounting
}

/**
 * The plain-HTTP listener of `--redirect-port`: every request gets a 301
 * (GET, HEAD) or 308 (other methods, which keeps the method and body) to the
 * same host, path and query over HTTPS. The Host header is validated, so the
 * answer can only point at the host the client asked for.
 */
export function createRedirectServer (httpsPort: number, limits: ConnectionLimits, logger: Logger, hooks: RedirectHooks = {}): Server {
  const { isDraining, answerFirst, accounting } = hooks
  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: deadlineCheckIntervalMs(limits)
  }, (request, response) => {
    if (closesWhileDraining(request, isDraining)) response.setHeader('connection', 'close')
    // ACME HTTP-01 answers (acme-challenge-responder.ts) come before the redirect.
    if (answerFirst?.(request, response) === true) {
      logAccess(logger, { method: request.method, http: request.httpVersion, scheme: 'http', url: request.url ?? '', status: 200, bytes: 0, ms: 0, remote: clientAddress(request.socket)?.address })
      return
    }
    redirect(request, response, httpsPort, logger)
  })
  server.maxConnections = limits.maxConnections
  accounting?.attachPlain(server)
  // A parser error or a headers/request timeout: recorded, then closed without an answer.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    accounting?.blame(socket as Socket, err)
    socket.destroy()
  })
  return server
}

function redirect (request: IncomingMessage, response: ServerResponse, httpsPort: number, logger: Logger): void {
  const host = request.headers.host ?? ''
  const url = request.url ?? ''
  let status: number
  if (!validHost.test(host) || hasConflictingHost(request.rawHeaders) || !url.startsWith('/') || url.startsWith('//')) {
    status = 400
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Bad Request: a valid Host header is required\n')
  } else {
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0] as string
    const location = `https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`
    status = request.method === 'GET' || request.method === 'HEAD' ? 301 : 308
    response.writeHead(status, { location, 'content-type': 'text/plain; charset=utf-8', 'content-length': '0' }).end()
  }
  logAccess(logger, { method: request.method, http: request.httpVersion, scheme: 'http', url, status, bytes: 0, ms: 0, remote: clientAddress(request.socket)?.address })
}
