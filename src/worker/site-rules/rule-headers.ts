import type { FastifyInstance } from 'fastify'
import { splitQuery } from '../../shared/request-target.js'
import { editReply } from './header-edit.js'
import type { SiteRules } from './site-rules.js'

/**
 * Applies `_headers` to every answer Fastify sends for a GET or HEAD of a
 * site path — files (200, 206, 304), redirects, rewrites and 404 pages —
 * with the same edit, in the same order, as the fast paths' prepared answers
 * (header-edit.ts). Not to `/healthz` (seraph's, not the site's) nor to a
 * 400 for a path the request guard refused. Register it before any other
 * onSend hook that adds a header (the drain rule's `connection: close`), so
 * that header comes last here as on the fast path.
 */
export function registerRuleHeaders (app: FastifyInstance, rules: SiteRules): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (rules.active && (request.method === 'GET' || request.method === 'HEAD') && reply.statusCode !== 400 && request.routeOptions.url !== '/healthz') {
      const path = decodedPath(request.raw.url ?? '/')
      const edit = path === undefined ? undefined : rules.headersFor(path)
      if (edit !== undefined) editReply(reply, edit)
    }
    done(null, payload)
  })
}

function decodedPath (url: string): string | undefined {
  try {
    return decodeURIComponent(splitQuery(url).path)
  } catch {
    return undefined
  }
}
