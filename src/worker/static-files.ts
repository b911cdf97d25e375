import fastifyStatic from '@fastify/static'
import { mime } from '@fastify/send'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { cacheControlFor } from './cache-policy.js'
import { FileCache, type CachedFile } from './file-cache.js'
import type { Refusal, RootConfinement } from './root-confinement.js'
import { relative, sep } from 'node:path'
import { splitQuery } from '../shared/request-target.js'

export interface StaticFilesOptions {
  readonly root: string
  /** In-memory cache per worker, bytes; 0 streams every file from disk. */
  readonly cacheBytes: number
  readonly maxCachedFileBytes?: number
  readonly revalidateMs?: number
  readonly confinement: RootConfinement
  /** Told about each refused URL path (never the target of the link that was refused). */
  readonly onRefused?: (urlPath: string, reason: Refusal) => void
}

/**
 * Serves the root: small files from memory (file-cache.ts), range requests and
 * large files through @fastify/static, which streams them from disk.
 */
export async function registerStaticFiles (app: FastifyInstance, options: StaticFilesOptions): Promise<FileCache> {
  await app.register(fastifyStatic, {
    // Streams open the real path below the real root (sendFromDisk), so a
    // link swapped after the check cannot lead send elsewhere.
    root: options.confinement.realRoot,
    serve: false,
    // We set Cache-Control ourselves (cache-policy.ts).
    cacheControl: false,
    // The file cache decides which dot paths are served (only /.well-known/).
    dotfiles: 'allow',
    serveDotFiles: false,
    setHeaders: (res, path) => {
      res.setHeader('cache-control', cacheControlFor(path, mime.getType(path) ?? ''))
    }
  })
  const cache = new FileCache({
    root: options.root,
    maxBytes: options.cacheBytes,
    maxFileBytes: options.maxCachedFileBytes ?? 1024 * 1024,
    revalidateMs: options.revalidateMs ?? 1000,
    confinement: options.confinement,
    ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused })
  })

  // The cache's answer may be up to `revalidateMs` old: check the link again
  // right before streaming, and stream the real path it resolves to now.
  const sendFromDisk = async (reply: FastifyReply, urlPath: string, fsPath: string, relativePath: string): Promise<FastifyReply> => {
    const verdict = await options.confinement.check(fsPath)
    if (!verdict.allowed) {
      options.onRefused?.(urlPath, verdict.reason)
      reply.callNotFound()
      return reply
    }
    const inside = relative(options.confinement.realRoot, verdict.realPath)
    // --follow-symlinks to a target outside the root: send follows the link itself.
    if (inside.startsWith('..')) return reply.sendFile(relativePath, options.root)
    return reply.sendFile(inside.split(sep).join('/'))
  }

  // send's size-and-mtime ETag is weak (W/) only by its choice; like nginx's,
  // it changes with every write, so seraph sends it as strong and maps the
  // client's strong validator back for send's own comparison (If-Range).
  app.addHook('onRequest', (request, _reply, done) => {
    const ifRange = request.headers['if-range']
    if (typeof ifRange === 'string' && ifRange.startsWith('"')) request.raw.headers['if-range'] = `W/${ifRange}`
    done()
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    const etag = reply.getHeader('etag')
    if (typeof etag === 'string' && etag.startsWith('W/"')) reply.header('etag', etag.slice(2))
    done(null, payload)
  })

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const { path: rawPath, query } = splitQuery(request.raw.url ?? '/')
    const urlPath = decodeURIComponent(rawPath)
    const resolution = await cache.resolve(urlPath)
    switch (resolution.kind) {
      case 'missing':
        return reply.callNotFound()
      case 'redirect':
        return reply.redirect(`${rawPath}/${query}`, 301)
      case 'large':
        return sendFromDisk(reply, urlPath, resolution.fsPath, resolution.relativePath)
      case 'file':
        if (request.headers.range !== undefined) return sendFromDisk(reply, urlPath, resolution.file.fsPath, resolution.file.relativePath)
        return sendCached(request, reply, resolution.file)
    }
  }
  app.get('/*', handler)
  return cache
}

function sendCached (request: FastifyRequest, reply: FastifyReply, file: CachedFile): FastifyReply {
  reply.header('etag', file.etag)
  reply.header('last-modified', file.lastModified)
  reply.header('cache-control', file.cacheControl)
  reply.header('accept-ranges', 'bytes')
  if (file.compressible) reply.header('vary', 'Accept-Encoding')
  if (isNotModified(request, file)) return reply.code(304).send()
  reply.header('content-type', file.contentType)
  const encoding = chooseEncoding(file, request.headers['accept-encoding'])
  if (encoding === 'identity') return reply.send(file.body)
  return reply.header('content-encoding', encoding).send(file[encoding])
}

export type Encoding = 'identity' | 'br' | 'gzip'

/** The smallest variant of `file` the client accepts: brotli, then gzip, then none. */
export function chooseEncoding (file: CachedFile, acceptEncoding: string | undefined): Encoding {
  if (acceptEncoding === undefined) return 'identity'
  if (file.br !== undefined && accepts(acceptEncoding, 'br')) return 'br'
  if (file.gzip !== undefined && accepts(acceptEncoding, 'gzip')) return 'gzip'
  return 'identity'
}

// RFC 9110 §13.1.3: If-None-Match (weak comparison) wins over If-Modified-Since.
function isNotModified (request: FastifyRequest, file: CachedFile): boolean {
  const noneMatch = request.headers['if-none-match']
  if (typeof noneMatch === 'string') {
    return noneMatch.trim() === '*' || noneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)
  }
  const since = request.headers['if-modified-since']
  if (typeof since !== 'string') return false
  const date = Date.parse(since)
  return !Number.isNaN(date) && Math.floor(file.mtimeMs / 1000) * 1000 <= date
}

/** True when `header` accepts `coding` with a non-zero q-value. */
export function accepts (header: string, coding: string): boolean {
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().split(';')
    if (name?.trim().toLowerCase() !== coding) continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  }
  return false
}
