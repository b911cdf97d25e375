// @ts-check
/**
 * Does a server let a returning client resume its TLS session? Sequential
 * connections, each offering the session saved from the one before (what a
 * browser does; autocannon does not), each sending one request and reading
 * the response, which is also when TLS 1.3 tickets arrive.
 */
import { constants } from 'node:crypto'
import tls from 'node:tls'

/**
 * @typedef {object} ProbeResult
 * @property {number} resumed
 * @property {number} total
 * @property {string} protocol negotiated by the last connection
 */

/**
 * `tickets`: TLS 1.3 (or 1.2) with session tickets, Node's client defaults.
 * `session-ids`: TLS 1.2 with tickets refused (SSL_OP_NO_TICKET), so only a
 * session-ID cache on the server can resume; TLS 1.3 has no session IDs.
 * @param {{ port: number, ca: string | Buffer, mode: 'tickets' | 'session-ids', count?: number }} options
 * @returns {Promise<ProbeResult>}
 */
export async function probeResumption ({ port, ca, mode, count = 20 }) {
  /** @type {Buffer | undefined} */
  let session
  let resumed = 0
  let protocol = ''
  for (let i = 0; i < count; i++) {
    const outcome = await oneConnection(port, ca, mode, session)
    if (outcome.session !== undefined) session = outcome.session
    if (outcome.reused) resumed++
    protocol = outcome.protocol
  }
  return { resumed, total: count, protocol }
}

/**
 * @param {number} port
 * @param {string | Buffer} ca
 * @param {'tickets' | 'session-ids'} mode
 * @param {Buffer | undefined} session
 * @returns {Promise<{ reused: boolean, protocol: string, session: Buffer | undefined }>}
 */
function oneConnection (port, ca, mode, session) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer | undefined} */
    let newSession
    let reused = false
    let protocol = ''
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      session,
      ...(mode === 'session-ids' ? { maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET } : {})
    })
    const timer = setTimeout(() => { socket.destroy(new Error('TLS probe: no response within 5 s')) }, 5000)
    socket.on('session', (data) => { newSession = data })
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused()
      protocol = socket.getProtocol() ?? ''
      socket.write('GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    })
    socket.on('data', () => {})
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ reused, protocol, session: newSession })
    })
  })
}
