import { Agent } from 'node:https'
import { rootCertificates } from 'node:tls'
import { axios as acmeAxios } from 'acme-client'

/** How long one request to the CA may take before the order fails (and is retried later). */
const caTimeoutMs = 30_000

interface Interceptors { handlers?: unknown[] }

/**
 * Sets up acme-client's HTTP client (its own axios instance; the primary has
 * one CA): trust for --acme-ca, a timeout, and no retries of its own: a
 * failed request fails the order, which renewal-schedule.ts retries with
 * back-off and a log line each time.
 */
export function configureCaHttp (extraCa: string | undefined): void {
  if (extraCa !== undefined) acmeAxios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, extraCa], keepAlive: true })
  acmeAxios.defaults.timeout = caTimeoutMs
  Object.assign((acmeAxios.defaults as { acmeSettings?: object }).acmeSettings ?? {}, { retryMaxAttempts: 1, retryDefaultDelay: 1 })
  // acme-client 5.4's own response interceptor ends a request that got no
  // response (ECONNREFUSED, a timeout) with "Cannot read properties of
  // undefined (reading 'config')", losing the cause. This one runs first and
  // passes such an error on without its axios config, which acme-client's
  // interceptor then lets through unchanged.
  const id = acmeAxios.interceptors.response.use(null, (error: { response?: unknown, code?: string, message: string }) => {
    if (error.response !== undefined) throw error
    throw Object.assign(new Error(`the ACME server cannot be reached: ${error.code ?? error.message}`), { code: error.code })
  })
  const handlers = (acmeAxios.interceptors.response as Interceptors).handlers
  if (Array.isArray(handlers) && handlers.length > 1) handlers.unshift(...handlers.splice(id, 1))
}
