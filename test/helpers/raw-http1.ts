import { once } from 'node:events'
import { connect, type TLSSocket } from 'node:tls'

export interface RawResponse {
  readonly status: number
  /** Lower-case names; the last value of a repeated header. */
  readonly headers: Record<string, string>
  readonly body: Buffer
}

/**
 * One HTTP/1.1 keep-alive connection driven by hand: the test decides when a
 * request is written and when the response is read, and sees exactly when the
 * server closes. No client library in between that would retry a request or
 * quietly open another connection.
 */
export class RawHttp1Connection {
  readonly socket: TLSSocket
  // Chunks joined only when read: joining on every chunk would copy a large body quadratically.
  #chunks: Buffer[] = []
  #length = 0
  #ended = false
  #wake: (() => void) | undefined

  private constructor (socket: TLSSocket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk)
      this.#length += chunk.length
      this.#wake?.()
    })
    socket.on('end', () => {
      this.#ended = true
      this.#wake?.()
    })
    socket.on('error', () => {
      this.#ended = true
      this.#wake?.()
    })
  }

  static async open (port: number, ca: Buffer): Promise<RawHttp1Connection> {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] })
    await once(socket, 'secureConnect')
    return new RawHttp1Connection(socket)
  }

  /** True once the server ended the connection. */
  get ended (): boolean {
    return this.#ended
  }

  send (path: string, headers: Record<string, string> = {}): void {
    const lines = Object.entries({ host: 'localhost', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    this.socket.write(`GET ${path} HTTP/1.1\r\n${lines}\r\n`)
  }

  /** Reads the head of the next response; the body stays unread. */
  async readHead (): Promise<{ status: number, headers: Record<string, string> }> {
    const end = await this.#waitFor(() => this.#joined().indexOf('\r\n\r\n'))
    const [statusLine, ...fields] = this.#take(end + 4).toString('latin1').split('\r\n')
    const headers: Record<string, string> = {}
    for (const field of fields) {
      const colon = field.indexOf(':')
      headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim()
    }
    return { status: Number(statusLine?.split(' ')[1]), headers }
  }

  /** Reads a `content-length` body (seraph sends no chunked response to these requests). */
  async readBody (headers: Record<string, string>): Promise<Buffer> {
    if (headers['content-length'] === undefined) throw new Error(`no content-length: ${JSON.stringify(headers)}`)
    const length = Number(headers['content-length'])
    await this.#waitFor(() => this.#length >= length ? length : -1)
    return this.#take(length)
  }

  async readResponse (): Promise<RawResponse> {
    const head = await this.readHead()
    return { ...head, body: await this.readBody(head.headers) }
  }

  close (): void {
    this.socket.destroy()
  }

  #joined (): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks)]
    return this.#chunks[0]!
  }

  #take (bytes: number): Buffer {
    const all = this.#joined()
    this.#chunks = [all.subarray(bytes)]
    this.#length -= bytes
    return all.subarray(0, bytes)
  }

  // Resolves with `find()` once it is not -1; rejects if the server ends the connection first.
  async #waitFor (find: () => number): Promise<number> {
    for (;;) {
      const found = find()
      if (found !== -1) return found
      if (this.#ended) throw new Error(`the server closed the connection with ${this.#length} bytes of a response read`)
      await new Promise<void>((resolve) => { this.#wake = resolve })
      this.#wake = undefined
    }
  }
}
