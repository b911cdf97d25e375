import { constants } from 'node:crypto'
import { connect, type SecureVersion } from 'node:tls'

export interface ProbeResult {
  readonly reused: boolean
  /** The newest session the server gave us, to resume with next time. */
  readonly session: Buffer | undefined
  readonly fingerprint256: string
  readonly status: number
}

export interface ProbeOptions {
  readonly ca: Buffer | Buffer[]
  readonly session?: Buffer | undefined
  readonly version: SecureVersion
  /** Resume by session ID only, like a client without ticket support. */
  readonly noTickets?: boolean
}

/**
 * One HTTPS request on a fresh TLS connection, offering `session` for
 * resumption; reports whether the server resumed it and which certificate it showed.
 */
export function probeTls (port: number, options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined
    let answer = ''
    let fingerprint256 = ''
    let reused = false
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: options.ca,
      minVersion: options.version,
      maxVersion: options.version,
      ...(options.session === undefined ? {} : { session: options.session }),
      ...(options.noTickets === true ? { secureOptions: constants.SSL_OP_NO_TICKET } : {})
    }, () => {
      fingerprint256 = socket.getPeerX509Certificate()?.fingerprint256 ?? ''
      reused = socket.isSessionReused()
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    })
    // TLS 1.3 tickets arrive after the handshake; keep the newest one.
    socket.on('session', (data: Buffer) => { session = data })
    socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
    socket.on('error', reject)
    socket.on('close', () => {
      resolve({
        reused,
        session: session ?? socket.getSession(),
        fingerprint256,
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
      })
    })
  })
}

/** `rounds` fresh connections, each offering the session of the one before; counts resumptions. */
export async function resumptionRate (port: number, options: ProbeOptions, rounds: number): Promise<{ resumed: number, ok: number, session: Buffer | undefined }> {
  let session = options.session ?? (await probeTls(port, options)).session
  let resumed = 0
  let ok = 0
  for (let i = 0; i < rounds; i++) {
    const result = await probeTls(port, { ...options, session })
    if (result.reused) resumed++
    if (result.status === 200) ok++
    session = result.session ?? session
  }
  return { resumed, ok, session }
}
