import { readFileSync } from 'node:fs'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { Agent, Client, request, type Dispatcher } from 'undici'
import { ensureDevCertificate } from '../../src/primary/certificates.js'
import { devCertDir } from '../../src/shared/state-dir.js'

/** The development CA that signs the certificate seraph uses without --cert. */
export async function devCa (): Promise<Buffer> {
  const dev = await ensureDevCertificate(devCertDir(process.env))
  return readFileSync(dev.caPath)
}

export interface Response {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: Buffer
}

async function send (dispatcher: Dispatcher, port: number, path: string, method: Dispatcher.HttpMethod = 'GET', headers: Record<string, string> = {}): Promise<Response> {
  const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher, method, headers })
  const body = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers, body }
}

/** A keep-alive agent that trusts `ca`; `close()` it in teardown. */
export function keepAliveAgent (ca: Buffer): Agent {
  return new Agent({ connect: { ca } })
}

export function get (dispatcher: Dispatcher, port: number, path: string, method?: Dispatcher.HttpMethod): Promise<Response> {
  return send(dispatcher, port, path, method)
}

/** One request on a connection of its own (full TLS handshake), closed afterwards; `servername`: the SNI name the certificate must match (none: 127.0.0.1). */
export async function getFresh (ca: Buffer, port: number, path: string, headers?: Record<string, string>, servername?: string): Promise<Response> {
  const client = new Client(`https://127.0.0.1:${port}`, { connect: { ca, ...(servername === undefined ? {} : { servername }) }, pipelining: 0 })
  try {
    return await send(client, port, path, 'GET', headers)
  } finally {
    await client.close()
  }
}

/**
 * Sends `raw` as-is over TLS and returns the raw answer: for paths an HTTP
 * client would normalize or refuse to send.
 */
export function rawRequest (ca: Buffer, port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // No end(): a half-close right after the request may race the answer;
    // `Connection: close` in `raw` makes the server close when done.
    const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ca }, () => socket.write(raw))
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { answer += chunk })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
  })
}
