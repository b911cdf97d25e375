import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'
import { defaultContentSecurityPolicy, type SecurityHeaders } from '../shared/settings.js'

export { defaultContentSecurityPolicy }

/**
 * The usual headers of a static site, as helmet makes them: HSTS,
 * `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `X-Frame-Options:
 * DENY` with CSP `frame-ancestors 'none'`, a CSP the sample blog satisfies,
 * COOP, CORP and `Origin-Agent-Cluster`. They are the same for every
 * response, so helmet runs once at start-up and each response gets the
 * finished set (one hook, no per-request work in helmet's dozen middlewares).
 * A site adds or removes its own per path with `_headers` (site-rules/).
 */
export function registerSecurityHeaders (app: FastifyInstance, headers: SecurityHeaders): Readonly<Record<string, string>> {
  const values = securityHeaderValues(headers)
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(values)
    done()
  })
  return values
}

/** Runs helmet against a recording response and returns the headers it set. */
export function securityHeaderValues (headers: SecurityHeaders): Record<string, string> {
  const options: HelmetOptions = {
    contentSecurityPolicy: headers.contentSecurityPolicy === false
      ? false
      : { useDefaults: false, directives: parseContentSecurityPolicy(headers.contentSecurityPolicy) },
    strictTransportSecurity: headers.hstsMaxAgeSeconds > 0 ? { maxAge: headers.hstsMaxAgeSeconds, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    frameguard: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
    // Legacy headers no current browser acts on (issue 31): MDN marks
    // X-XSS-Protection deprecated and advises against it; X-Download-Options
    // was for Internet Explorer 8, X-Permitted-Cross-Domain-Policies for
    // Flash and Acrobat; X-DNS-Prefetch-Control: off only slows links down.
    // Each cost every response its bytes and Node its header validation.
    xXssProtection: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xDnsPrefetchControl: false
  }
  const collected: Record<string, string> = {}
  const recorder = {
    setHeader: (name: string, value: unknown) => { collected[name.toLowerCase()] = String(value) },
    removeHeader: (name: string) => { Reflect.deleteProperty(collected, name.toLowerCase()) }
  }
  let done = false
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err !== undefined && err !== null) throw err
    done = true
  })
  // helmet's middlewares are synchronous; a future async one would show here.
  if (!done) throw new Error('helmet did not finish synchronously')
  return collected
}

/** `"default-src 'self'; img-src 'self' data:"` → `{ 'default-src': ["'self'"], 'img-src': ["'self'", 'data:'] }`. */
export function parseContentSecurityPolicy (policy: string): Record<string, string[]> {
  const directives: Record<string, string[]> = {}
  for (const part of policy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/)
    if (name !== undefined && name !== '') directives[name] = values
  }
  return directives
}
