import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { logAccess } from './access-log.js'
import type { Logger } from '../shared/logger.js'
import type { CachedFile, FileCache } from './file-cache.js'
import { chooseEncoding, type Encoding } from './static-files.js'
import { closesWhileDraining } from './drain-rule.js'
import { hasConflictingHost } from './host-header.js'

export interface FastPathOptions {
  readonly cache: FileCache
  readonly logger: Logger
  /** Headers every response carries (security-headers.ts). */
  readonly commonHeaders: Readonly<Record<string, string>>
  readonly isDraining?: () => boolean
  readonly onResponse?: (status: number) => void
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void

/**
 * Answers the commonest request — GET or HEAD of a small file that is in
 * memory and fresh — before Fastify: no routing, no hooks, no reply object,
 * headers prepared once per file version and encoding. Everything else
 * (ranges, conditional requests that are not a plain If-None-Match, unusual
 * paths, misses) goes to Fastify unchanged. Responses are identical to
 * Fastify's for the same request, access line and metrics included.
 */
export function withFastPath (options: FastPathOptions, fastify: Handler): Handler {
  const prepared = new WeakMap<CachedFile, Partial<Record<Encoding, OutgoingHttpHeaders>>>()
  const headersFor = (file: CachedFile, encoding: Encoding): OutgoingHttpHeaders => {
    let forFile = prepared.get(file)
    if (forFile === undefined) {
      forFile = {}
      prepared.set(file, forFile)
    }
    let headers = forFile[encoding]
    if (headers === undefined) {
      const body = encoding === 'identity' ? file.body : file[encoding] as Buffer
      headers = {
        ...options.commonHeaders,
        'cache-control': file.cacheControl,
        'last-modified': file.lastModified,
        etag: file.etag,
        'accept-ranges': 'bytes',
        'content-type': file.contentType,
        'content-length': String(body.length),
        ...(file.compressible ? { vary: 'Accept-Encoding' } : {}),
        ...(encoding === 'identity' ? {} : { 'content-encoding': encoding })
      }
      forFile[encoding] = headers
    }
    return headers
  }

  return function handle (request, response) {
    const method = request.method
    const url = request.url ?? ''
    // Only plain paths: anything with a query, an escape, a dot segment or a
    // backslash takes the full path (and its checks).
    if ((method !== 'GET' && method !== 'HEAD') || !/^\/[\w\-/.~]*$/.test(url) || url.includes('/.') ||
        request.headers.range !== undefined || request.headers['if-modified-since'] !== undefined ||
        hasConflictingHost(request.rawHeaders)) {
      return fastify(request, response)
    }
    const start = performance.now()
    const file = options.cache.peekFresh(url, Date.now())
    if (file === undefined) return fastify(request, response)
    const noneMatch = request.headers['if-none-match']
    if (noneMatch !== undefined && noneMatch !== file.etag) return fastify(request, response)
    const status = noneMatch === undefined ? 200 : 304
    const encoding = status === 304 ? 'identity' : chooseEncoding(file, request.headers['accept-encoding'])
    const headers = headersFor(file, encoding)
    const draining = closesWhileDraining(request, options.isDraining)
    if (status === 304) {
      const { 'content-type': _type, 'content-length': _length, 'content-encoding': _encoding, ...notModified } = headers
      response.writeHead(304, draining ? { ...notModified, connection: 'close' } : notModified)
      response.end()
    } else {
      response.writeHead(200, draining ? { ...headers, connection: 'close' } : headers)
      if (method === 'HEAD') response.end()
      else response.end(encoding === 'identity' ? file.body : file[encoding])
    }
    options.onResponse?.(status)
    const bytes = status === 304 || method === 'HEAD' ? 0 : Number(headers['content-length'])
    logAccess(options.logger, { method, http: request.httpVersion, url, status, bytes, ms: performance.now() - start })
  }
}
