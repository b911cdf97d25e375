import { connect } from 'node:tls'

export interface SniProbe {
  readonly serial: string
  readonly names: string
  readonly authorized: boolean
  readonly authorizationError: string | undefined
  readonly status: number
}

/** One HTTPS request on a fresh connection with server name `servername` (none when undefined); reports the certificate shown. */
export function probeName (port: number, servername: string | undefined, ca?: string): Promise<SniProbe> {
  return new Promise((resolve, reject) => {
    let answer = ''
    let result: Omit<SniProbe, 'status'> | undefined
    const socket = connect({
      host: '127.0.0.1',
      port,
      ...(servername === undefined ? {} : { servername }),
      ...(ca === undefined ? {} : { ca }),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1']
    }, () => {
      const cert = socket.getPeerCertificate()
      result = {
        serial: cert.serialNumber.toLowerCase(),
        names: cert.subjectaltname ?? '',
        authorized: socket.authorized,
        authorizationError: socket.authorizationError === null ? undefined : String(socket.authorizationError)
      }
      socket.write(`GET /healthz HTTP/1.1\r\nHost: ${servername ?? '127.0.0.1'}\r\nConnection: close\r\n\r\n`)
    })
    socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
    socket.on('error', reject)
    socket.on('close', () => {
      if (result === undefined) return reject(new Error('no handshake'))
      resolve({ ...result, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0) })
    })
  })
}

/** Fresh-connection requests for each name in turn until stopped; every error or non-200 is a failure. */
export function nameLoad (port: number, names: readonly string[]): { answered: () => number, stop: () => Promise<{ ok: number, errors: string[] }> } {
  const state = { running: true }
  let ok = 0
  const errors: string[] = []
  const loops = names.map(async (name) => {
    while (state.running) {
      try {
        const probe = await probeName(port, name)
        if (probe.status === 200) ok++
        else errors.push(`${name}: status ${probe.status}`)
      } catch (err) {
        errors.push(`${name}: ${(err as Error).message}`)
      }
    }
  })
  return {
    answered: () => ok,
    stop: async () => {
      state.running = false
      await Promise.all(loops)
      return { ok, errors }
    }
  }
}
