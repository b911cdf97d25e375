import { connect, constants, type ClientHttp2Session } from 'node:http2'

/**
 * HTTP/2 requests the way a browser makes them: on one shared session until
 * the server sends GOAWAY, then on a new one. A stream the server refused
 * (REFUSED_STREAM: it was never processed, RFC 9113 §8.7) is retried.
 *
 * undici is not used here: it fails requests in flight on a graceful GOAWAY
 * (https://github.com/nodejs/undici/issues/5089).
 */
export class Http2Client {
  readonly #origin: string
  readonly #ca: Buffer
  readonly #onGoaway: () => void
  #session: ClientHttp2Session | undefined

  constructor (port: number, ca: Buffer, onGoaway: () => void = () => {}) {
    this.#origin = `https://localhost:${port}`
    this.#ca = ca
    this.#onGoaway = onGoaway
  }

  #current (): ClientHttp2Session {
    if (this.#session !== undefined && !this.#session.closed && !this.#session.destroyed) return this.#session
    const session = connect(this.#origin, { ca: this.#ca, host: '127.0.0.1' } as never)
    session.on('error', () => {})
    // After GOAWAY the session takes no new streams: open a new one for them.
    session.on('goaway', () => {
      this.#onGoaway()
      if (this.#session === session) this.#session = undefined
    })
    session.on('close', () => { if (this.#session === session) this.#session = undefined })
    this.#session = session
    return session
  }

  /**
   * Resolves with the status code; a stream refused unprocessed is retried
   * up to twice, as Chromium does (kMaxRetryAttempts): in a rolling reload
   * the retry's new connection can reach a worker whose drain comes next.
   */
  async get (path: string, headers: Record<string, string> = {}, retries = 2): Promise<number> {
    try {
      return await this.#once(path, headers)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException & { code?: string }).code
      const refused = /REFUSED_STREAM|ERR_HTTP2_GOAWAY_SESSION|ERR_HTTP2_INVALID_SESSION/.test(`${code ?? ''} ${(err as Error).message}`)
      if (refused && retries > 0) return this.get(path, headers, retries - 1)
      throw err
    }
  }

  #once (path: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const stream = this.#current().request({ ...headers, ':path': path })
      let status = 0
      stream.on('response', (headers) => { status = Number(headers[':status']) })
      stream.on('error', reject)
      stream.resume()
      stream.on('close', () => {
        if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) reject(new Error('REFUSED_STREAM'))
        else if (status === 0) reject(new Error(`stream closed without a response (rst ${stream.rstCode})`))
        else resolve(status)
      })
      stream.end()
    })
  }

  close (): void {
    this.#session?.close()
  }
}
