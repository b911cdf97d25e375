import fastifyStatic from '@fastify/static'
import { mime } from '@fastify/send'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { cacheControlFor } from './cache-policy.js'
import { FileCache, type CachedFile, type Resolution } from './file-cache.js'
import type { CachedResponses } from './cached-response.js'
import type { Refusal, RootConfinement } from './root-confinement.js'
import { relative, sep } from 'node:path'
import { splitQuery } from '../shared/request-target.js'
import type { RuleOutcome, SiteRules } from './site-rules/site-rules.js'

export interface StaticFilesOptions {
  readonly root: string
  /** In-memory cache per worker, bytes; 0 streams every file from disk. */
  readonly cacheBytes: number
  readonly revalidateMs?: number
  readonly confinement: RootConfinement
  /** Told about each refused URL path (never the target of the link that was refused). */
  readonly onRefused?: (urlPath: string, reason: Refusal) => void
  /** A compressed twin (`x.html.br`, `x.html.gz`) that does not hold its file (file-cache.ts). */
  readonly onStaleTwin?: (relativePath: string) => void
  /** Answers for files in memory, shared with the fast path (fast-path.ts). */
  readonly responses: CachedResponses
  /** The site's `_redirects` (its `_headers` are applied by site-rules/rule-headers.ts); its two files are never served. */
  readonly rules?: SiteRules
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
    maxFileBytes: 1024 * 1024,
    revalidateMs: options.revalidateMs ?? 1000,
    confinement: options.confinement,
    ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused }),
    ...(options.onStaleTwin === undefined ? {} : { onStaleTwin: options.onStaleTwin }),
    ...(options.rules === undefined ? {} : { unserved: options.rules.isRulesFile.bind(options.rules) })
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
    const outcome = options.rules?.route(urlPath, query, resolution.kind !== 'missing')
    if (outcome !== undefined) return answerRule(request, reply, outcome)
    if (resolution.kind === 'redirect') return reply.redirect(`${rawPath}/${query}`, 301)
    return serve(request, reply, urlPath, resolution)
  }

  const serve = (request: FastifyRequest, reply: FastifyReply, urlPath: string, resolution: Resolution): unknown => {
    switch (resolution.kind) {
      case 'missing':
      case 'redirect':
        return reply.callNotFound()
      case 'large':
        return sendFromDisk(reply, urlPath, resolution.fsPath, resolution.relativePath)
      case 'file':
        if (request.headers.range !== undefined) return sendFromDisk(reply, urlPath, resolution.file.fsPath, resolution.file.relativePath)
        return sendCached(request, reply, resolution.file, options.responses)
    }
  }

  // A rule's answer (site-rules/): a redirect, or the file TO names —
  // looked up like any path, so the root's confinement and the rules files'
  // privacy hold for it too — with status 200, or 404 for a page. A TO that
  // is a folder serves its index.html.
  const answerRule = async (request: FastifyRequest, reply: FastifyReply, outcome: RuleOutcome): Promise<unknown> => {
    if (outcome.kind === 'redirect') return reply.redirect(outcome.location, outcome.status)
    let target = await cache.resolve(outcome.path)
    if (target.kind === 'redirect') target = await cache.resolve(`${outcome.path}/`)
    if (outcome.kind === 'rewrite') return serve(request, reply, outcome.path, target)
    if (target.kind !== 'file') return reply.callNotFound()
    return reply.code(404).type(target.file.contentType).header('cache-control', 'no-cache').send(target.file.body)
  }

  // HEAD is routed here itself rather than through Fastify's generated HEAD
  // route, whose onSend hook (fastify/lib/head-route.js) gives any bodiless
  // answer `content-length: 0`, a 304 too: RFC 9110 §8.6 allows a 304's
  // Content-Length only with the length a 200 would have. Node sends no body
  // for HEAD, and Fastify and send set the length a GET would have.
  app.route({ method: ['GET', 'HEAD'], url: '/*', exposeHeadRoute: false, handler })
  return cache
}

function sendCached (request: FastifyRequest, reply: FastifyReply, file: CachedFile, responses: CachedResponses): FastifyReply {
  const { status, headers, body } = responses.answer(request.headers, file)
  reply.code(status).headers(headers)
  return body === undefined ? reply.send() : reply.send(body)
}
