import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { packageRoot } from '../../src/shared/package-info.js'
import { WatchedList } from './watched-list.js'

interface Teardown { teardown (fn: () => unknown): void }

/** One answer: status, headers, JSON body. */
export interface Answer {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: unknown
}

export interface FakeCaOptions {
  /** Serve the directory without renewalInfo (like Debian's pebble 2.4). */
  readonly withoutRenewalInfo?: boolean
  /** Answer to GET of the directory; default: the recorded Let's Encrypt directory. */
  readonly directory?: () => Answer | undefined
  /** Answer to the new-order POST (the fake never issues: it exists for the CA's refusals). */
  readonly newOrder?: () => Answer
  /** Answer to GET <renewalInfo>/<certID>. */
  readonly renewalInfo?: (certId: string) => Answer
  /** `meta.profiles` of the directory (draft-ietf-acme-profiles), as Let's Encrypt lists them; none when absent. */
  readonly profiles?: Record<string, string>
}

export interface FakeCa {
  readonly directoryUrl: string
  /** "METHOD /path" of every request, in order. */
  readonly requests: string[]
  /** Resolves at the first request whose "METHOD /path" matches. */
  waitForRequest (pattern: RegExp): Promise<string>
  /** Resolves with the JWS payload of the first new-order request (its signature unchecked). */
  firstOrder (): Promise<Record<string, unknown>>
}

const recordedDirectory = JSON.parse(readFileSync(join(packageRoot, 'test', 'fixtures', 'acme', 'letsencrypt-directory.json'), 'utf8')) as Record<string, unknown>

/**
 * A stand-in ACME server on loopback, for what Debian's pebble 2.4 cannot
 * do: answer with Retry-After or a rateLimited problem, and offer
 * renewalInfo (pebble has it from 2.6). It plays the directory (the recorded
 * Let's Encrypt one), nonces and accounts well enough for acme-client to
 * reach new-order; it checks no signature.
 */
export async function startFakeCa (t: Teardown, options: FakeCaOptions = {}): Promise<FakeCa> {
  const requests = new WatchedList<string>()
  const orders = new WatchedList<Record<string, unknown>>()
  let origin = ''
  const send = (res: ServerResponse, answer: Answer): void => {
    const problem = answer.status >= 400
    res.writeHead(answer.status, {
      'replay-nonce': randomBytes(12).toString('base64url'),
      'content-type': problem ? 'application/problem+json' : 'application/json',
      ...answer.headers
    })
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body))
  }
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const path = new URL(req.url ?? '/', origin).pathname
    requests.push(`${req.method ?? ''} ${path}`)
    if (path === '/directory') {
      const directory = Object.fromEntries(Object.entries(recordedDirectory)
        .filter(([key]) => !(options.withoutRenewalInfo === true && key === 'renewalInfo'))
        .map(([key, value]) => [key, typeof value === 'string' ? value.replace('https://acme-v02.api.letsencrypt.org', origin) : value]))
      if (options.profiles !== undefined) directory.meta = { ...(directory.meta as object), profiles: options.profiles }
      return send(res, options.directory?.() ?? { status: 200, body: directory })
    }
    if (path === '/acme/new-order') {
      const jws = JSON.parse(body.toString()) as { payload: string }
      orders.push(JSON.parse(Buffer.from(jws.payload, 'base64url').toString()) as Record<string, unknown>)
    }
    if (path === '/acme/new-nonce') return send(res, { status: req.method === 'HEAD' ? 200 : 204 })
    if (path === '/acme/new-acct') return send(res, { status: 201, headers: { location: `${origin}/acme/acct/1` }, body: { status: 'valid' } })
    if (path === '/acme/new-order') return send(res, options.newOrder?.() ?? { status: 500, body: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'no orders here' } })
    const ari = /^\/draft-ietf-acme-ari-03\/renewalInfo\/(.+)$/.exec(path)
    if (ari !== null && options.renewalInfo !== undefined) return send(res, options.renewalInfo(ari[1] as string))
    send(res, { status: 404, body: { type: 'urn:ietf:params:acme:error:malformed', detail: 'not found' } })
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => handle(req, res, Buffer.concat(chunks)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return {
    directoryUrl: `${origin}/directory`,
    requests: requests.items,
    waitForRequest: (pattern) => requests.waitFor((request) => pattern.test(request)),
    firstOrder: () => orders.waitFor(() => true)
  }
}
