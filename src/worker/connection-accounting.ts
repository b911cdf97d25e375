import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import type { ServerHttp2Session } from 'node:http2'
import type { Server } from 'node:https'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { classify, type CloseCause, type CloseRecord } from './close-cause.js'

/** Receives every opened and every closed connection, each exactly once. */
export interface ConnectionObserver {
  opened (): void
  closed (record: CloseRecord): void
}

interface ConnectionState {
  cause?: CloseCause
  reason?: string
  /** A request's headers arrived and its response is not finished. */
  inRequest: boolean
  /** The TLS handshake completed (at once on a plain-HTTP connection). */
  secure: boolean
  /** The socket an HTTP/1.x request in progress reads and writes on (the TLS socket), for the stall sweep. */
  http1?: Socket
  /** Its bytes read + written when the sweep last saw them change; -1: not seen since the request began. */
  progress: number
  /** When the sweep saw that change (performance.now()). */
  progressAt: number
  /** An HTTP/2 session runs on the connection and has not emitted 'close'. */
  sessionOpen?: boolean
  /** The socket closed while its session had not: counts the close once the session has. */
  countClose?: () => void
}

const kState = Symbol('seraph.connection')
type Tracked = Socket & { [kState]?: ConnectionState }

/**
 * Counts every TCP connection of a TLS server (and of the plain-HTTP
 * redirect listener) from accept to close, and the cause of its close. A raw socket emits 'close' exactly once, so a close is
 * counted once however many errors, timeouts and aborts led to it; the first
 * cause reported wins.
 */
export class ConnectionAccounting {
  readonly #observer: ConnectionObserver
  readonly #sockets = new Set<Socket>()
  #socketTimeoutMs = 0
  #shuttingDown = false
  #sweep: NodeJS.Timeout | undefined

  constructor (observer: ConnectionObserver) {
    this.#observer = observer
  }

  /** Connections open now. */
  get open (): number {
    return this.#sockets.size
  }

  /**
   * Attaches to `server` before it listens. `socketTimeoutMs` (--socket-timeout)
   * closes an HTTP/1.x connection whose request is in progress but has moved
   * no byte either way for that long: a download the client stopped reading.
   * Node's own `server.timeout` does the same with a timer per socket, but
   * moves every keep-alive socket onto that timer and back at each request,
   * with a new Timeout each time (`resetSocketTimeout` in _http_server:
   * ~2,800 instructions per request, docs/performance-history.md "Instructions per
   * request, and the socket timers"); a sweep every eighth of the timeout costs a request nothing.
   * A stalled connection closes between 1 and 1.25 timeouts after its last
   * byte. HTTP/2 sessions keep their own timeout (http2SessionTimeout).
   */
  attach (server: Server, socketTimeoutMs?: number): void {
    this.#socketTimeoutMs = socketTimeoutMs ?? 0
    server.on('connection', (socket: Socket) => this.track(socket))
    server.on('secureConnection', (socket: TLSSocket) => {
      const state = stateOf(socket)
      if (state !== undefined) state.secure = true
      this.#blameTimeouts(socket)
    })
    this.#followRequests(server)
    // Only an HTTP/2 server emits it.
    server.on('session', (session: ServerHttp2Session) => this.#followSession(session))
    if (socketTimeoutMs !== undefined && socketTimeoutMs > 0) {
      const sweep = setInterval(() => this.#closeStalled(socketTimeoutMs, performance.now()), Math.max(25, socketTimeoutMs / 8)).unref()
      this.#sweep = sweep
      server.once('close', () => clearInterval(sweep))
    }
  }

  /** Attaches to the plain-HTTP server of --redirect-port before it listens: no handshake to wait for. */
  attachPlain (server: HttpServer): void {
    server.on('connection', (socket: Socket) => {
      this.track(socket)
      const state = stateOf(socket)
      if (state !== undefined) state.secure = true
      this.#blameTimeouts(socket)
    })
    this.#followRequests(server)
  }

  // A keep-alive or stalled-response timeout destroys the socket without
  // an error; tell which one it was while the state is still known.
  #blameTimeouts (socket: Socket): void {
    socket.on('timeout', () => {
      const state = stateOf(socket)
      if (state !== undefined && state.cause === undefined) {
        state.cause = 'timeout'
        state.reason = state.inRequest ? 'socket' : 'idle'
      }
    })
  }

  #followRequests (server: Server | HttpServer): void {
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const state = stateOf(request.socket)
      if (state === undefined) return
      state.inRequest = true
      if (request.httpVersionMajor === 1) {
        state.http1 = request.socket
        state.progress = -1
      }
      response.once('close', () => { state.inRequest = false })
    })
  }

  // Every byte a request in progress moved restarts its clock; one that
  // moved none for `timeoutMs` is closed as Node's socket timeout would.
  #closeStalled (timeoutMs: number, now: number): void {
    for (const socket of this.#sockets) {
      const state = stateOf(socket)
      const http1 = state?.http1
      if (state === undefined || http1 === undefined || !state.inRequest || http1.destroyed) continue
      const progress = http1.bytesRead + http1.bytesWritten
      if (progress !== state.progress) {
        state.progress = progress
        state.progressAt = now
      } else if (now - state.progressAt >= timeoutMs) {
        if (state.cause === undefined) {
          state.cause = 'timeout'
          state.reason = 'socket'
        }
        http1.destroy()
      }
    }
  }

  /*
   * Follows the HTTP/2 session of a connection. Node destroys the socket of
   * a session nghttp2 ended (a flood, a protocol error) before it emits the
   * session's 'error' (closeSession, lib/internal/http2/core.js): counted at
   * the socket's 'close', such a connection read as `normal`. Its close is
   * counted at the session's 'close' instead, which follows that 'error'.
   *
   * A session that moved no frame for --keep-alive-timeout gets GOAWAY
   * (Fastify's http2SessionTimeout: session.close()), which waits for its
   * open streams. A stream whose client stopped reading (a window of 0)
   * never ends, and held the connection and its streams' buffers for good:
   * the session is cut once no byte moved for --socket-timeout after the
   * GOAWAY, as a stalled HTTP/1.x download.
   */
  #followSession (session: ServerHttp2Session): void {
    const state = stateOf(session.socket as unknown as Socket)
    if (state === undefined) return
    state.sessionOpen = true
    session.on('error', (error: NodeJS.ErrnoException) => {
      if (state.cause !== undefined) return
      const record = classify(error, false)
      state.cause = record.cause
      state.reason = record.reason
    })
    let timedOut = false
    let stalled: NodeJS.Timeout | undefined
    // The raw socket itself: `session.socket` is a proxy that is undefined
    // once the session let go of its socket, which can be before its
    // 'timeout' (reading through it then crashed the worker).
    const raw = (session.socket as unknown as { _parent?: Socket | null })._parent
    const bytesMoved = (): number => raw === null || raw === undefined ? 0 : raw.bytesRead + raw.bytesWritten
    session.once('timeout', () => {
      timedOut = true
      const timeoutMs = this.#socketTimeoutMs
      if (timeoutMs <= 0) return
      let moved = bytesMoved()
      const cutIfStalled = (): void => {
        if (session.destroyed) return
        // A client still reading, however slowly, keeps its streams.
        if (bytesMoved() !== moved) {
          moved = bytesMoved()
          stalled = setTimeout(cutIfStalled, timeoutMs).unref()
          return
        }
        if (state.cause === undefined) {
          state.cause = 'timeout'
          state.reason = 'socket'
        }
        session.destroy()
      }
      stalled = setTimeout(cutIfStalled, timeoutMs).unref()
    })
    session.once('close', () => {
      clearTimeout(stalled)
      // Ended by its idle timeout, as an idle HTTP/1.1 connection by the keep-alive timeout.
      if (state.cause === undefined && timedOut) {
        state.cause = 'timeout'
        state.reason = 'idle'
      }
      state.sessionOpen = false
      state.countClose?.()
    })
  }

  /** Records why `socket` (raw or TLS) is about to close; the first call wins. */
  blame (socket: Socket, error: NodeJS.ErrnoException & { reason?: string }): CloseRecord {
    const state = stateOf(socket)
    const record = classify(error, state?.inRequest ?? false)
    if (state !== undefined && state.cause === undefined) {
      state.cause = record.cause
      state.reason = record.reason
    }
    return record
  }

  /**
   * Counts `socket` from now on, if it is not counted yet. The server's
   * 'connection' listener does it too; the PROXY protocol reader calls it
   * first, so a connection it refuses before the server sees it still counts.
   */
  track (socket: Socket): void {
    if ((socket as Tracked)[kState] === undefined) this.#onConnection(socket)
  }

  /** Records `record` as the cause of `socket`'s coming close, unless one is known already; the caller closes it. */
  refuse (socket: Socket, record: CloseRecord): void {
    const state = stateOf(socket)
    if (state !== undefined && state.cause === undefined) {
      state.cause = record.cause
      state.reason = record.reason
    }
  }

  /** From now on, closes without another cause count as `shutdown`. */
  startShutdown (): void {
    this.#shuttingDown = true
  }

  /** Closes every connection now (forced shutdown). */
  destroyAll (): void {
    this.#shuttingDown = true
    clearInterval(this.#sweep)
    for (const socket of this.#sockets) {
      // Destroying the raw socket makes the TLS socket above it report a
      // premature close, which would read as the client's reset.
      const state = stateOf(socket)
      if (state !== undefined && state.cause === undefined) state.cause = 'shutdown'
      socket.destroy()
    }
  }

  // A close nobody reported an error for. The client left before a complete
  // exchange (a FIN, or a reset that TLS read as end of stream), or after it.
  #quietClose (state: ConnectionState): CloseRecord {
    if (this.#shuttingDown) return { cause: 'shutdown', reason: '' }
    if (!state.secure) return { cause: 'client_closed', reason: 'during handshake' }
    if (state.inRequest) return { cause: 'client_closed', reason: 'during request' }
    return { cause: 'normal', reason: '' }
  }

  #onConnection (socket: Tracked): void {
    const state: ConnectionState = { inRequest: false, secure: false, progress: -1, progressAt: 0 }
    socket[kState] = state
    this.#sockets.add(socket)
    this.#observer.opened()
    // Errors are handled by the TLS socket above this one; this listener only
    // records the cause, so an error nobody else handles cannot crash us.
    socket.on('error', (error: NodeJS.ErrnoException) => this.blame(socket, error))
    socket.once('close', () => {
      this.#sockets.delete(socket)
      const count = (): void => {
        state.countClose = undefined
        this.#observer.closed(state.cause === undefined ? this.#quietClose(state) : { cause: state.cause, reason: state.reason ?? '' })
      }
      if (state.sessionOpen === true) state.countClose = count
      else count()
    })
  }
}

function stateOf (socket: Socket | null | undefined): ConnectionState | undefined {
  if (socket === null || socket === undefined) return undefined
  const own = (socket as Tracked)[kState]
  if (own !== undefined) return own
  // A TLSSocket wraps the raw socket that 'connection' gave us.
  const parent = (socket as unknown as { _parent?: Tracked | null })._parent
  return parent?.[kState]
}
