import { once } from 'node:events'
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import { RawHttp1Connection } from './raw-http1.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface Answer { readonly status: number, readonly body: Buffer }

/** One keep-alive connection (or HTTP/2 session) that a known worker accepted. */
export interface WorkerConnection {
  readonly worker: number
  get (path: string, headers?: Record<string, string>): Promise<Answer>
  close (): void
}

export type Opener = () => Promise<Omit<WorkerConnection, 'worker'>>

/** Opens HTTP/1.1 keep-alive connections, driven by hand (raw-http1.ts): nothing reconnects behind the test's back. */
export const openHttp1: (port: number, ca: Buffer) => Opener = (port, ca) => async () => {
  const connection = await RawHttp1Connection.open(port, ca)
  return {
    get: async (path, headers) => {
      connection.send(path, headers)
      const { status, body } = await connection.readResponse()
      return { status, body }
    },
    close: () => connection.close()
  }
}

/** An HTTP/2 session to seraph on 127.0.0.1, connected. */
export function openSession (port: number, ca: Buffer): Promise<ClientHttp2Session> {
  const session = connect(`https://localhost:${port}`, { ca, host: '127.0.0.1' } as never)
  session.on('error', () => {})
  return once(session, 'connect').then(() => session)
}

/** The status and whole body of a client stream. */
function readStream (stream: ClientHttp2Stream): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let status = 0
    const chunks: Buffer[] = []
    stream.on('response', (headers) => { status = Number(headers[':status']) })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve({ status, body: Buffer.concat(chunks) }))
    stream.on('error', reject)
  })
}

/** Opens HTTP/2 sessions, one stream per request. */
export const openHttp2: (port: number, ca: Buffer) => Opener = (port, ca) => async () => {
  const session = await openSession(port, ca)
  return {
    get: (path, headers = {}) => {
      const stream = session.request({ ':path': path, ...headers })
      stream.end()
      return readStream(stream)
    },
    close: () => session.destroy()
  }
}

/**
 * One connection to each of `workers` workers: they share one accept queue,
 * so connections are opened a few at a time until each worker took one.
 */
export async function connectToEachWorker (t: Teardown, open: Opener, workers: number): Promise<WorkerConnection[]> {
  const byWorker = new Map<number, WorkerConnection>()
  for (let round = 0; round < 20 && byWorker.size < workers; round++) {
    const opened = await Promise.all(Array.from({ length: 4 }, open))
    for (const connection of opened) {
      const { worker } = JSON.parse((await connection.get('/healthz')).body.toString()) as { worker: number }
      if (byWorker.has(worker)) {
        connection.close()
      } else {
        byWorker.set(worker, { worker, ...connection })
        t.teardown(() => connection.close())
      }
    }
  }
  if (byWorker.size < workers) throw new Error(`reached ${byWorker.size} of ${workers} workers`)
  return [...byWorker.values()]
}
