import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { logAccess } from './access-log.js'
import type { Logger } from '../shared/logger.js'
import type { CachedFile, FileCache } from './file-cache.js'
import type { CachedResponses } from './cached-response.js'
import { closesWhileDraining } from './drain-rule.js'
import { hasConflictingHost } from './host-header.js'
import { clientAddress } from './proxy-protocol/client-address.js'
import type { SiteRules } from './site-rules/site-rules.js'

export interface FastPathOptions {
  readonly cache: FileCache
  readonly logger: Logger
  /** The same answers Fastify's handler sends for cached files (static-files.ts). */
  readonly responses: CachedResponses
  readonly isDraining?: () => boolean
  readonly onResponse?: (status: number) => void
  /** The site's `_redirects` and `_headers`: a forced rule takes the path off the fast path, `_headers` edit the answer. */
  readonly rules?: SiteRules
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void

/**
 * Answers the commonest request — GET or HEAD of a small file that is in
 * memory and fresh — before Fastify: no routing, no hooks, no reply object.
 * Status, headers and body come from cached-response.ts, like Fastify's for
 * the same file. Everything else (ranges, conditional requests that are not
 * a plain If-None-Match, unusual paths, misses) goes to Fastify unchanged.
 * The access line and metrics are the same as Fastify's too.
 */
export function withFastPath (options: FastPathOptions, fastify: Handler): Handler {
  return function handle (request, response) {
    const method = request.method
    const url = request.url ?? ''
    const start = performance.now()
    const file = fastPathFile(options.cache, method, url, request.headers, request.rawHeaders)
    if (file === undefined) return fastify(request, response)
    const rules = options.rules?.forPath(url)
    if (rules?.forced === true) return fastify(request, response)
    const { status, rawHeaders, body } = options.responses.answerHttp1(request.headers, file, rules?.headers)
    // The prepared flat list as it is (writeHead only reads it); a draining
    // worker's rare answers get a copy with `connection: close`.
    const list = closesWhileDraining(request, options.isDraining) ? [...rawHeaders, 'connection', 'close'] : rawHeaders
    response.writeHead(status, list as string[])
    if (method === 'HEAD' || body === undefined) response.end()
    else response.end(body)
    options.onResponse?.(status)
    const bytes = method === 'HEAD' || body === undefined ? 0 : body.length
    logAccess(options.logger, { method, http: request.httpVersion, url, status, bytes, ms: performance.now() - start, remote: clientAddress(request.socket)?.address })
  }
}

/**
 * The cached file a request may be answered with before Fastify, or undefined
 * when the request must take the full path. One rule for both fast paths
 * (this one and the HTTP/2 one, http2-fast-path.ts), so they take the same requests.
 */
export function fastPathFile (cache: FileCache, method: string | undefined, url: string, headers: IncomingHttpHeaders, rawHeaders: readonly string[]): CachedFile | undefined {
  // Only plain paths: anything with a query, an escape, a dot segment or a
  // backslash takes the full path (and its checks).
  if ((method !== 'GET' && method !== 'HEAD') || !/^\/[\w\-/.~]*$/.test(url) || url.includes('/.') ||
      headers.range !== undefined || headers['if-modified-since'] !== undefined ||
      hasConflictingHost(rawHeaders)) {
    return undefined
  }
  const file = cache.peekFresh(url, Date.now())
  if (file === undefined) return undefined
  // Any other If-None-Match goes to Fastify as it always did: Fastify's
  // HEAD route adds `content-length: 0` to a 304, and that answer keeps its bytes.
  const noneMatch = headers['if-none-match']
  if (noneMatch !== undefined && noneMatch !== file.etag) return undefined
  return file
}
