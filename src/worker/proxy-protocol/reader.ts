import { BlockList, isIPv4, type Server, type Socket } from 'node:net'
import type { ConnectionAccounting } from '../connection-accounting.js'
import type { Logger } from '../../shared/logger.js'
import { LogRateLimiter } from '../log-rate-limiter.js'
import { parseHeader, startsWithHeader, type HeaderVerdict } from './header.js'
import { clientAddressText, setClientAddress } from './client-address.js'

/** Lines per reason, per worker and listener, in each window (as client-errors.ts). */
const logLimit = 10
const logWindowMs = 10_000

export interface ProxyProtocolOptions {
  /** --trusted-proxy: addresses and CIDR blocks, validated by the primary. */
  readonly trusted: readonly string[]
  /** How long a connection may take to send its header (the handshake timeout). */
  readonly timeoutMs: number
  readonly logger: Logger
  /** `https` or `redirect`, for the log lines. */
  readonly listener: string
  /** Counts every connection from accept, refused here or not. */
  readonly accounting?: ConnectionAccounting
}

/**
 * PROXY protocol v1 and v2 (https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt)
 * in front of a listener's own 'connection' listeners, like the ACME
 * TLS-ALPN-01 responder (and in front of it: the header comes before the
 * ClientHello). Each new connection's first bytes are read here:
 * - from a trusted proxy, a header is required; its source address becomes
 *   the client's (client-address.ts) and the bytes after it are put back;
 * - from anyone else, a header is refused (it would let a client pick its own
 *   address); anything else is put back untouched, usually at the first byte.
 * A refused connection is counted under `proxy_protocol` with the reason,
 * logged rate-limited and destroyed. A header that does not complete within
 * `timeoutMs` is refused too: nothing else times a connection out before
 * TLS (or HTTP) has it.
 */
export class ProxyProtocolReader {
  readonly #trusted = new BlockList()
  readonly #options: ProxyProtocolOptions
  readonly #limiter: LogRateLimiter

  constructor (options: ProxyProtocolOptions) {
    this.#options = options
    for (const entry of options.trusted) addTrusted(this.#trusted, entry)
    this.#limiter = new LogRateLimiter(logLimit, logWindowMs, (reason, suppressed) => {
      options.logger.warn({ cause: 'proxy_protocol', reason, listener: options.listener, suppressed, windowMs: logWindowMs }, 'proxy protocol refusals suppressed from the log')
    })
  }

  /** True when `address` (as Node reports a peer) is a --trusted-proxy. */
  isTrusted (address: string | undefined): boolean {
    if (address === undefined) return false
    // A dual-stack listener reports IPv4 peers as IPv4-mapped IPv6.
    const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
    return this.#trusted.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6')
  }

  /** Puts the header check in front of `server`'s 'connection' listeners (call last, before it listens). */
  attach (server: Server): void {
    const listeners = server.listeners('connection') as Array<(socket: Socket) => void>
    server.removeAllListeners('connection')
    const pass = (socket: Socket): void => { for (const listener of listeners) listener.call(server, socket) }
    server.on('connection', (socket: Socket) => this.#read(socket, pass))
  }

  /** Reports the lines held back so far; call on shutdown. */
  flush (): void {
    this.#limiter.flush()
  }

  #read (socket: Socket, pass: (socket: Socket) => void): void {
    const { accounting } = this.#options
    accounting?.track(socket)
    // getpeername(2) fails once the peer has reset, even before its first
    // bytes are read here: that is a client gone, not an untrusted one.
    if (socket.remoteAddress === undefined) {
      socket.on('error', () => {})
      accounting?.blame(socket, Object.assign(new Error('the peer reset before its address was read'), { code: 'ECONNRESET' }))
      socket.destroy()
      return
    }
    const trusted = this.isTrusted(socket.remoteAddress)
    let data: Buffer = Buffer.alloc(0)
    const stop = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('end', onEnd)
    }
    const refuse = (reason: string, cause: 'proxy_protocol' | 'timeout' = 'proxy_protocol'): void => {
      stop()
      // The error listener stays: a late reset on a refused socket must not crash us.
      socket.on('error', () => {})
      accounting?.refuse(socket, { cause, reason })
      if (this.#limiter.allow(`${cause}: ${reason}`)) {
        this.#options.logger.warn({ cause, reason, listener: this.#options.listener, remote: clientAddressText(socket) }, 'proxy protocol: connection refused')
      }
      socket.destroy()
    }
    // A direct client that sends nothing is what the TLS handshake timeout
    // (the headers timeout on the plain-HTTP port) would have closed; count it as that.
    const silent = this.#options.listener === 'https' ? 'handshake' : 'headers'
    const timer = setTimeout(() => trusted || data.length > 0 ? refuse('timeout') : refuse(silent, 'timeout'), this.#options.timeoutMs)
    const onError = (error: NodeJS.ErrnoException): void => {
      stop()
      socket.on('error', () => {})
      accounting?.blame(socket, error)
      socket.destroy()
    }
    // A proxy stopped sending mid-header. An empty connection (a TCP health
    // check) closes quietly like any other.
    const onEnd = (): void => {
      if (trusted && data.length > 0) refuse('truncated')
      else { stop(); socket.destroy() }
    }
    const onData = (chunk: Buffer): void => {
      data = data.length === 0 ? chunk : Buffer.concat([data, chunk])
      const verdict: HeaderVerdict | 'direct' | 'untrusted' = trusted ? parseHeader(data) : untrustedVerdict(data)
      if (verdict === 'untrusted') return refuse('untrusted')
      if (verdict !== 'direct' && verdict.kind === 'incomplete') return
      if (verdict !== 'direct' && verdict.kind === 'fault') return refuse(verdict.reason)
      stop()
      // Paused, so nothing is read past what we put back until the next
      // reader (ACME's peek, TLS, HTTP) takes the socket over.
      socket.pause()
      let rest: Buffer = data
      if (verdict !== 'direct') {
        if (verdict.client !== undefined) setClientAddress(socket, verdict.client)
        rest = data.subarray(verdict.length)
      }
      if (rest.length > 0) socket.unshift(rest)
      pass(socket)
      // A TLS server reads what was put back at once, from the buffer. A
      // reader that listens for 'data' instead (the ACME peek; the HTTP
      // server, whose parser reads the handle directly and gets the buffer
      // only through 'data') waits for the paused socket to flow again.
      if (socket.listenerCount('data') > 0) socket.resume()
    }
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('end', onEnd)
  }
}

function untrustedVerdict (data: Buffer): HeaderVerdict | 'direct' | 'untrusted' {
  const header = startsWithHeader(data)
  return header === undefined ? { kind: 'incomplete' } : header ? 'untrusted' : 'direct'
}

/** Adds an address or `address/prefix` (already validated) to `list`. */
function addTrusted (list: BlockList, entry: string): void {
  const [address, prefix] = entry.split('/') as [string, string | undefined]
  const family = isIPv4(address) ? 'ipv4' : 'ipv6'
  list.addSubnet(address, prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix), family)
}
