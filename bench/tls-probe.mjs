// @ts-check
/**
 * Does a server let a returning client resume its TLS session? One fresh TLS
 * connection per probe, offering a saved session, sending one request and
 * reading the whole response (which is also when TLS 1.3 tickets arrive).
 * The bench's resumption probe and the tests' (test/helpers/tls-probe.ts)
 * are this one file.
 */
import { constants } from 'node:crypto'
import tls from 'node:tls'

/**
 * @typedef {object} ProbeOptions
 * @property {string | Buffer | Buffer[]} ca
 * @property {Buffer} [session] offered for resumption
 * @property {tls.SecureVersion} [version] pins both the minimum and the maximum
 * @property {boolean} [noTickets] resume by session ID only, like a client without ticket support
 * @property {string} [path] requested (default /healthz)
 */

/**
 * @typedef {object} TlsProbe
 * @property {boolean} reused the server resumed the offered session
 * @property {Buffer | undefined} session the newest session the server gave ('session' event), to offer next time;
 *   undefined when it gave none (a resumed TLS 1.2 session): keep offering the one before
 * @property {string} fingerprint256 of the certificate the server showed
 * @property {string} protocol negotiated
 * @property {number} status of the response
 */

/**
 * One HTTPS request on a fresh TLS connection to 127.0.0.1 (server name localhost).
 * @param {number} port
 * @param {ProbeOptions} options
 * @returns {Promise<TlsProbe>}
 */
export function probeTls (port, options) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer | undefined} */
    let session
    let answer = ''
    let fingerprint256 = ''
    let protocol = ''
    let reused = false
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: options.ca,
      ...(options.version === undefined ? {} : { minVersion: options.version, maxVersion: options.version }),
      ...(options.session === undefined ? {} : { session: options.session }),
      ...(options.noTickets === true ? { secureOptions: constants.SSL_OP_NO_TICKET } : {})
    }, () => {
      fingerprint256 = socket.getPeerX509Certificate()?.fingerprint256 ?? ''
      reused = socket.isSessionReused()
      protocol = socket.getProtocol() ?? ''
      socket.write(`GET ${options.path ?? '/healthz'} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
    })
    const timer = setTimeout(() => { socket.destroy(new Error('TLS probe: no response within 5 s')) }, 5000)
    // TLS 1.3 tickets arrive after the handshake; keep the newest one.
    socket.on('session', (data) => { session = data })
    socket.setEncoding('latin1').on('data', (chunk) => { answer += chunk })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({
        reused,
        session,
        fingerprint256,
        protocol,
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
      })
    })
  })
}

/**
 * @typedef {object} ProbeResult
 * @property {number} resumed
 * @property {number} total
 * @property {string} protocol negotiated by the last connection
 */

/**
 * `count` sequential connections, each offering the session of the one before
 * (what a browser does; autocannon does not). `tickets`: Node's client
 * defaults. `session-ids`: TLS 1.2 with tickets refused (SSL_OP_NO_TICKET), so
 * only a session-ID cache on the server can resume; TLS 1.3 has no session IDs.
 * @param {{ port: number, ca: string | Buffer, mode: 'tickets' | 'session-ids', count?: number }} options
 * @returns {Promise<ProbeResult>}
 */
export async function probeResumption ({ port, ca, mode, count = 20 }) {
  /** @type {Buffer | undefined} */
  let session
  let resumed = 0
  let protocol = ''
  for (let i = 0; i < count; i++) {
    const outcome = await probeTls(port, {
      ca,
      path: '/index.html',
      ...(session === undefined ? {} : { session }),
      ...(mode === 'session-ids' ? { version: 'TLSv1.2', noTickets: true } : {})
    })
    if (outcome.session !== undefined) session = outcome.session
    if (outcome.reused) resumed++
    protocol = outcome.protocol
  }
  return { resumed, total: count, protocol }
}
