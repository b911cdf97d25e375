import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

import { defaultContentSecurityPolicy } from './options.js'

export { defaultContentSecurityPolicy }

export interface SecurityHeaders {
  /** `Strict-Transport-Security` max-age; 0 sends none (the development certificate). */
  readonly hstsMaxAgeSeconds: number
  /** A `Content-Security-Policy` value, or false for none. */
  readonly contentSecurityPolicy: string | false
}

/**
 * The usual headers of a static site, through @fastify/helmet: HSTS,
 * `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `X-Frame-Options:
 * DENY` with CSP `frame-ancestors 'none'`, and a CSP the sample blog satisfies.
 */
export async function registerSecurityHeaders (app: FastifyInstance, headers: SecurityHeaders): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: headers.contentSecurityPolicy === false
      ? false
      : { useDefaults: false, directives: parseContentSecurityPolicy(headers.contentSecurityPolicy) },
    strictTransportSecurity: headers.hstsMaxAgeSeconds > 0 ? { maxAge: headers.hstsMaxAgeSeconds, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    frameguard: { action: 'deny' },
    crossOriginEmbedderPolicy: false
  })
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
