import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext, type Server as TlsServer } from 'node:tls'
import { maxRecordBytes, parseClientHello, recordComplete } from './client-hello.js'
import type { AcmeChallenge } from '../../shared/messages.js'
import { tlsPolicyOptions, type TlsPolicy } from '../../shared/tls-policy.js'

const challengePath = '/.well-known/acme-challenge/'
/** A validation connection that has not finished its handshake by then is closed. */
const challengeTimeoutMs = 10_000

/**
 * A worker's answers to the ACME challenges the primary tells it about
 * (an 'acme-challenges' message replaces the whole set).
 *
 * HTTP-01 is answered on the --redirect-port listener, before its redirect.
 *
 * TLS-ALPN-01 (RFC 8737) needs the challenge certificate for connections that
 * offer the ALPN protocol `acme-tls/1`, and the real certificate for every
 * other connection to the same name, browsers included, while the order runs.
 * Node's callbacks cannot make that choice for every client:
 * - the certificate is chosen in `SNICallback`, which Node runs from OpenSSL's
 *   certificate callback; in TLS 1.2 OpenSSL selects ALPN only after it
 *   (in TLS 1.3 before), so the callback cannot know what the client offered
 *   (https://github.com/openssl/openssl/blob/openssl-3.0/ssl/statem/statem_srvr.c,
 *   tls_post_process_client_hello; checked with Node 20 and 24);
 * - `ALPNCallback` sees the offer but cannot change the certificate, and Node
 *   refuses it together with `ALPNProtocols`, which the HTTP/2 server sets
 *   (https://nodejs.org/api/tls.html#tlscreateserveroptions-secureconnectionlistener,
 *   ERR_TLS_ALPN_CALLBACK_WITH_PROTOCOLS).
 * So while (and only while) a TLS-ALPN-01 challenge is pending, the worker
 * reads the first TLS record of each new connection itself and parses the
 * ClientHello (client-hello.ts). A hello for a pending name that offers
 * `acme-tls/1` gets a TLS socket of its own with the challenge certificate and
 * ALPN `acme-tls/1` only; any other connection has its bytes put back
 * (`unshift`, which Node's TLSSocket reads before the socket's handle) and
 * goes to the HTTPS server unchanged. With no challenge pending, connections
 * go straight through.
 */
export class AcmeChallengeResponder {
  #tokens = new Map<string, string>()
  #alpn = new Map<string, SecureContext>()
  readonly #policy: () => TlsPolicy | undefined

  /** `policy`: the worker's --tls-ciphers/--tls-min-version (the defaults when `undefined`); validators speak TLS 1.2 and 1.3 with AEAD suites. */
  constructor (policy: () => TlsPolicy | undefined = () => undefined) {
    this.#policy = policy
  }

  update (challenges: readonly AcmeChallenge[]): void {
    const tokens = new Map<string, string>()
    const alpn = new Map<string, SecureContext>()
    for (const challenge of challenges) {
      if (challenge.type === 'http-01') tokens.set(challenge.token, challenge.keyAuthorization)
      else alpn.set(challenge.name, createSecureContext({ ...tlsPolicyOptions(this.#policy()), cert: challenge.cert, key: challenge.key }))
    }
    this.#tokens = tokens
    this.#alpn = alpn
  }

  /** For the redirect listener: answers a known HTTP-01 token and returns true; anything else is left to the redirect. */
  answerHttp (request: IncomingMessage, response: ServerResponse): boolean {
    const url = request.url ?? ''
    if (!url.startsWith(challengePath) || (request.method !== 'GET' && request.method !== 'HEAD')) return false
    const keyAuthorization = this.#tokens.get(url.slice(challengePath.length))
    if (keyAuthorization === undefined) return false
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(keyAuthorization), 'cache-control': 'no-store' })
    response.end(request.method === 'HEAD' ? undefined : keyAuthorization)
    return true
  }

  /** Puts the TLS-ALPN-01 check in front of the HTTPS server's own 'connection' listeners (call once, before it listens). */
  attach (server: TlsServer): void {
    const listeners = server.listeners('connection') as Array<(socket: Socket) => void>
    server.removeAllListeners('connection')
    const pass = (socket: Socket): void => { for (const listener of listeners) listener.call(server, socket) }
    server.on('connection', (socket: Socket) => {
      if (this.#alpn.size === 0) return pass(socket)
      this.#peek(socket, pass)
    })
  }

  #peek (socket: Socket, pass: (socket: Socket) => void): void {
    let data: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => socket.destroy(), challengeTimeoutMs)
    const stop = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onError)
    }
    const onError = (): void => {
      stop()
      socket.destroy()
    }
    const onData = (chunk: Buffer): void => {
      data = data.length === 0 ? chunk : Buffer.concat([data, chunk])
      if (!recordComplete(data) && data.length < maxRecordBytes) return
      stop()
      socket.pause()
      socket.unshift(data)
      const hello = parseClientHello(data)
      const context = hello?.servername === undefined ? undefined : this.#alpn.get(hello.servername)
      if (context !== undefined && hello?.alpn.includes('acme-tls/1') === true) answerTlsAlpn(socket, context)
      else pass(socket)
    }
    socket.on('data', onData)
    socket.on('error', onError)
  }
}

function answerTlsAlpn (socket: Socket, secureContext: SecureContext): void {
  const tls = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['acme-tls/1'] })
  const timer = setTimeout(() => tls.destroy(), challengeTimeoutMs)
  // The validation only needs the handshake; RFC 8737 §3: the server then closes.
  tls.once('secure', () => tls.end())
  tls.on('error', () => tls.destroy())
  tls.once('close', () => clearTimeout(timer))
}
