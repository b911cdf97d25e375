import { Agent } from 'node:https'
import { rootCertificates } from 'node:tls'
import { axios as acmeAxios } from 'acme-client'

/** How long one request to the CA may take before the order fails (and is retried later). */
const caTimeoutMs = 30_000

interface Interceptors { handlers?: unknown[] }

/** What the CA answered with an error status (4xx, 5xx). */
export interface CaErrorResponse {
  readonly status: number
  readonly headers: Record<string, unknown>
  readonly data: unknown
}

let listener: ((response: CaErrorResponse) => void) | undefined
let installed = false

/**
 * Sets up acme-client's HTTP client (its own axios instance; the primary has
 * one CA): trust for --acme-ca, a timeout, and no retries of its own: a
 * failed request fails the order, which renewal-schedule.ts retries with
 * back-off and a log line each time. acme-client would otherwise sleep for
 * whatever Retry-After the CA sends, inside the request and uncapped, while
 * every other name's order waits behind it.
 *
 * acme-client turns an error answer into a bare Error with the problem's
 * detail: `onErrorResponse` sees the answer itself first (its Retry-After,
 * its problem type).
 */
export function configureCaHttp (extraCa: string | undefined, onErrorResponse?: (response: CaErrorResponse) => void): void {
  if (extraCa !== undefined) acmeAxios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, extraCa], keepAlive: true })
  acmeAxios.defaults.timeout = caTimeoutMs
  Object.assign((acmeAxios.defaults as { acmeSettings?: object }).acmeSettings ?? {}, { retryMaxAttempts: 0, retryDefaultDelay: 1 })
  listener = onErrorResponse
  if (installed) return
  installed = true
  // acme-client 5.4's own response interceptor ends a request that got no
  // response (ECONNREFUSED, a timeout) with "Cannot read properties of
  // undefined (reading 'config')", losing the cause. This one runs first and
  // passes such an error on without its axios config, which acme-client's
  // interceptor then lets through unchanged. acme-client makes every answer
  // an error at first (validateStatus), so every answer passes here.
  const id = acmeAxios.interceptors.response.use(null, (error: { response?: CaErrorResponse, code?: string, message: string }) => {
    if (error.response !== undefined) {
      if (error.response.status >= 400) listener?.(error.response)
      throw error
    }
    throw Object.assign(new Error(`the ACME server cannot be reached: ${error.code ?? error.message}`), { code: error.code })
  })
  const handlers = (acmeAxios.interceptors.response as Interceptors).handlers
  if (Array.isArray(handlers) && handlers.length > 1) handlers.unshift(...handlers.splice(id, 1))
}

/** A GET outside acme-client (RFC 9773 renewalInfo, the directory), with the same trust and timeout (or a shorter one); throws on an error status. */
export async function caGet (url: string, timeoutMs?: number): Promise<{ data: unknown, headers: Record<string, unknown> }> {
  const response = await acmeAxios.get(url, timeoutMs === undefined ? {} : { timeout: timeoutMs })
  return { data: response.data as unknown, headers: response.headers as Record<string, unknown> }
}
