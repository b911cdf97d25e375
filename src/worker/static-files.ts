import fastifyStatic from '@fastify/static'
import { mime } from '@fastify/send'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { cacheControlFor } from './cache-policy.js'
import { FileCache, type CachedFile, type Resolution } from './file-cache.js'
import type { CachedResponses } from './cached-response.js'
import type { Refusal, RootConfinement } from './root-confinement.js'
import { parse, relative, sep } from 'node:path'
import { splitQuery } from '../shared/request-target.js'
import type { RuleOutcome, SiteRules } from './site-rules/site-rules.js'

/**
 * How old a cached answer may be before it is checked against the disk. The
 * promise is that a change is served within a second: the check starts with
 * the first request after this interval and the stale answer is served until
 * it is done (stat, read, gzip), so the interval is 750 ms, not the full
 * second (at 1000 ms, edits were measured served after up to 1011 ms).
 * A busy file costs one stat per interval.
 */
export const defaultRevalidateMs = 750

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
    // Only a default: every sendFile below names the root its file was
    // checked against, which moves with a deploy by symlink swap
    // (@fastify/static takes any root per call and send confines the path to it).
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
    revalidateMs: options.revalidateMs ?? defaultRevalidateMs,
    confinement: options.confinement,
    ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused }),
    ...(options.onStaleTwin === undefined ? {} : { onStaleTwin: options.onStaleTwin }),
    ...(options.rules === undefined ? {} : { unserved: options.rules.isRulesFile.bind(options.rules) })
  })

  // The cache's answer may be up to `revalidateMs` old: check the link again
  // right before streaming, and stream the real path it resolves to now,
  // below the real root it was judged against — not the root as it may be by
  // the time send opens it: a root that moves in between still leads to the
  // file that was checked (the old release's, like a download in flight),
  // never to its namesake in another tree unchecked.
  const sendFromDisk = async (reply: FastifyReply, urlPath: string, fsPath: string): Promise<FastifyReply> => {
    const verdict = await options.confinement.check(fsPath)
    if (!verdict.allowed) {
      options.onRefused?.(urlPath, verdict.reason)
      reply.callNotFound()
      return reply
    }
    const inside = relative(verdict.root, verdict.realPath)
    // --follow-symlinks to a target outside the root: its real path too,
    // below the file system's root, rather than the links followed again
    // at the open (in a tree that may have moved to another release since).
    const base = inside === '..' || inside.startsWith(`..${sep}`) ? parse(verdict.realPath).root : verdict.root
    return reply.sendFile(relative(base, verdict.realPath).split(sep).join('/'), base)
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
        return sendFromDisk(reply, urlPath, resolution.fsPath)
      case 'file':
        if (request.headers.range !== undefined) return sendFromDisk(reply, urlPath, resolution.file.fsPath)
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
