import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { ServerHttp2Stream } from 'node:http2'
import { logAccess } from './access-log.js'
import type { Logger } from '../shared/logger.js'
import type { FileCache } from './file-cache.js'
import type { CachedHttp2Answer, CachedResponses } from './cached-response.js'
import { fastPathFile } from './fast-path.js'
import { clientAddress } from './proxy-protocol/client-address.js'
import type { SiteRules } from './site-rules/site-rules.js'

export interface Http2FastPathOptions {
  readonly cache: FileCache
  readonly logger: Logger
  readonly responses: CachedResponses
  readonly onResponse?: (status: number) => void
  /** As for HTTP/1.1 (fast-path.ts): a forced rule leaves the path to Fastify, `_headers` edit the answer. */
  readonly rules?: SiteRules
}

/** The server's 'stream' listener: Node's compat layer (onServerStream in lib/internal/http2/compat.js). */
export type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void

interface StreamEmitter {
  listeners (event: 'stream'): Function[]
  removeListener (event: 'stream', fn: Function): void
  on (event: 'stream', fn: StreamListener): void
}

// Errors of a stream the fast path answered (a client's RST_STREAM while the
// body is flushed) end that stream only; without a listener they would be
// thrown. The compat layer ignores them the same way (onStreamError).
function ignoreStreamError (): void {}

// Node 22.20+/24.8+ take the response headers as a flat name/value array
// (https://github.com/nodejs/node/pull/59455), which skips building and
// walking a header object per response: ~15 % of a small response's CPU with
// seraph's 20 headers (docs/performance-history.md, second pass). Older versions throw
// ERR_INVALID_ARG_TYPE before sending anything; the first such throw switches
// this worker to the header object for good.
let rawHeadersAccepted = true

// A session's client address does not change (a PROXY header comes before
// TLS): read once per session, not through the session's socket Proxy per stream.
const sessionRemotes = new WeakMap<object, string | undefined>()

function remoteOf (stream: ServerHttp2Stream): string | undefined {
  const session = stream.session
  if (session === undefined) return undefined
  if (sessionRemotes.has(session)) return sessionRemotes.get(session)
  const remote = clientAddress(session.socket)?.address
  sessionRemotes.set(session, remote)
  return remote
}

function respond (stream: ServerHttp2Stream, answer: CachedHttp2Answer): void {
  if (rawHeadersAccepted) {
    try {
      // A copy: respond() appends `date` to the array it is given.
      stream.respond(answer.rawHeaders.slice() as unknown as OutgoingHttpHeaders)
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_INVALID_ARG_TYPE') throw err
      rawHeadersAccepted = false
    }
  }
  // respond() copies the headers object before adding `date`: the prepared one stays as it is.
  stream.respond(answer.headers)
}

/**
 * Answers GET/HEAD of a fresh cached file over HTTP/2 on the core stream API
 * (`stream.respond()` + `stream.end()`), before Node's compat layer builds an
 * Http2ServerRequest/Http2ServerResponse pair and before Fastify: the compat
 * layer cost about as much as the rest of the request (issue 14).
 *
 * Http2SecureServer registers the compat layer as its one 'stream' listener
 * when the first 'request' listener is added (setupCompat in core.js), so
 * that listener is taken off and called by ours for every stream we do not
 * answer: those reach the compat layer, the HTTP/1 fast path's wrapper
 * (fast-path.ts) and Fastify exactly as before. The requests taken are those
 * fastPathFile() admits, the same rule as HTTP/1.1, and the answer comes from
 * cached-response.ts: the same status, headers, body, access line and
 * metrics as Fastify's. No drain header: HTTP/2 has none, a draining worker
 * sends GOAWAY (worker-process.ts).
 *
 * Returns false when the server has no compat listener to wrap (HTTP/1.1 only).
 */
export function installHttp2FastPath (server: object, options: Http2FastPathOptions): boolean {
  const emitter = server as StreamEmitter
  const listeners = emitter.listeners('stream')
  if (listeners.length !== 1) return false
  const compat = listeners[0] as StreamListener
  emitter.removeListener('stream', compat)
  emitter.on('stream', function onStream (stream, headers, flags, rawHeaders) {
    if (!answer(options, stream, headers, rawHeaders)) compat(stream, headers, flags, rawHeaders)
  })
  return true
}

function answer (options: Http2FastPathOptions, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): boolean {
  // `expect` is the compat layer's to answer (100-continue or 417); a stream
  // already closed by the client is left to it as well.
  if (headers.expect !== undefined || stream.destroyed || stream.closed) return false
  const method = headers[':method'] as string | undefined
  const url = headers[':path'] as string | undefined ?? ''
  const start = performance.now()
  const file = fastPathFile(options.cache, method, url, headers, rawHeaders)
  if (file === undefined) return false
  const rules = options.rules?.forPath(url)
  if (rules?.forced === true) return false
  const answered = options.responses.answerHttp2(headers, file, rules?.headers)
  const { status, body } = answered
  stream.on('error', ignoreStreamError)
  // respond() ends the stream itself for a 304 and for HEAD (stream.headRequest).
  respond(stream, answered)
  const sendsBody = method !== 'HEAD' && body !== undefined
  if (sendsBody) stream.end(body)
  const bytes = sendsBody ? body.length : 0
  options.onResponse?.(status)
  logAccess(options.logger, { method, http: '2.0', url, status, bytes, ms: performance.now() - start, remote: remoteOf(stream) })
  return true
}
