// @ts-check
/**
 * The load generator: autocannon's programmatic API, in this process (one
 * thread), with the same settings for every contender.
 *
 * autocannon 9 never counts a response that triggers a reconnect: with
 * `reconnectRate: 1` it reports 0 requests and no latencies. It also opens
 * every TLS connection without a saved session, so each reconnect is a full
 * handshake. A hook on its client objects therefore counts, for every
 * scenario, the TLS connections it opens and whether each one was resumed, and
 * in the reconnect scenario the responses themselves (status, latency from
 * writing the request on the new connection to the end of the response,
 * bytes).
 */
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { runH2load } from './h2load.mjs'

// autocannon ships no types: the part used here is typed below.
const autocannon = /** @type {(options: Record<string, unknown>) => Promise<AutocannonResult>} */ (
  createRequire(import.meta.url)('autocannon'))

/**
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 *
 * @typedef {object} LoadResult
 * @property {'autocannon' | 'bench hook' | 'h2load'} countedBy
 * @property {number} durationSec measured window
 * @property {number} requests completed responses
 * @property {number} reqPerSec
 * @property {number} mbPerSec MB (10^6 bytes) per second read from the sockets, headers included
 * @property {number} p50Ms
 * @property {number} p99Ms
 * @property {number} errors connection errors + timeouts
 * @property {number} non2xx
 * @property {number} tlsConnections TLS connections autocannon opened
 * @property {number} tlsResumed of those, how many resumed a session
 * @property {number} autocannonRequests what autocannon itself counted
 * @property {number} [generatorCpuSeconds] CPU of a load generator that runs
 *   as a child process (h2load), which this process's cpuUsage() does not see
 */

/**
 * @param {{ port: number, scenario: Scenario, durationSec: number }} options
 * @returns {Promise<LoadResult>}
 */
export async function runLoad ({ port, scenario, durationSec }) {
  if (scenario.protocol === 'h2') return runH2load({ port, scenario, durationSec })
  const hook = createClientHook(scenario.reconnect)
  const paths = scenario.paths
  /** @type {Record<string, unknown>} */
  const options = {
    url: `https://127.0.0.1:${port}${paths[0]}`,
    connections: scenario.connections,
    pipelining: 1,
    duration: durationSec,
    timeout: 10,
    setupClient: hook.setupClient
  }
  // autocannon cycles through this list on each connection.
  if (paths.length > 1) options.requests = paths.map((path) => ({ method: 'GET', path }))
  if (scenario.reconnect) options.reconnectRate = 1

  const result = await autocannon(options)
  const elapsed = result.duration > 0 ? result.duration : durationSec
  const stats = hook.stats
  const byHook = scenario.reconnect
  const requests = byHook ? stats.completed : result.requests.total
  const bytes = byHook ? stats.bytes : result.throughput.total
  const latencies = byHook ? stats.latencies.sort((a, b) => a - b) : []
  return {
    countedBy: byHook ? 'bench hook' : 'autocannon',
    durationSec: elapsed,
    requests,
    reqPerSec: requests / elapsed,
    mbPerSec: bytes / elapsed / 1e6,
    p50Ms: byHook ? percentile(latencies, 50) : result.latency.p50,
    p99Ms: byHook ? percentile(latencies, 99) : result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: byHook ? stats.non2xx : result.non2xx,
    tlsConnections: stats.connections,
    tlsResumed: stats.resumed,
    autocannonRequests: result.requests.total
  }
}

/**
 * @typedef {object} AutocannonResult
 * @property {number} duration seconds
 * @property {{ total: number }} requests
 * @property {{ total: number }} throughput bytes
 * @property {{ p50: number, p99: number }} latency milliseconds
 * @property {number} errors
 * @property {number} timeouts
 * @property {number} non2xx
 */

/**
 * @param {number[]} sorted
 * @param {number} p
 */
function percentile (sorted, p) {
  if (sorted.length === 0) return 0
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return Math.round((sorted[Math.max(0, index)] ?? 0) * 10) / 10
}

/**
 * @typedef {import('node:tls').TLSSocket} TLSSocket
 * @typedef {import('node:events').EventEmitter & {
 *   conn: TLSSocket,
 *   _resetConnection?: (...args: unknown[]) => unknown
 * }} AutocannonClient
 */

/** @param {boolean} countResponses */
function createClientHook (countResponses) {
  const stats = { connections: 0, resumed: 0, completed: 0, non2xx: 0, bytes: 0, latencies: /** @type {number[]} */ ([]) }
  /** @param {AutocannonClient} client */
  const setupClient = (client) => {
    /** @type {TLSSocket | undefined} */
    let conn
    let sentAt = 0
    let status = 0
    // autocannon emits 'request' right after writing a request, and opens a
    // new socket (client.conn) before the first request on it.
    client.on('request', () => {
      sentAt = performance.now()
      if (client.conn === conn) return
      const socket = client.conn
      conn = socket
      stats.connections++
      socket.once('secureConnect', () => { if (socket.isSessionReused()) stats.resumed++ })
      if (countResponses) socket.on('data', (chunk) => { stats.bytes += chunk.length })
    })
    if (!countResponses) return
    client.on('headers', (/** @type {{ statusCode: number }} */ info) => { status = info.statusCode })
    const reset = client._resetConnection
    if (typeof reset !== 'function') {
      throw new Error('autocannon has no Client#_resetConnection any more: update the reconnect counting in bench/load.mjs')
    }
    // Called exactly when a response completes and reconnectRate says reconnect.
    client._resetConnection = function (...args) {
      stats.completed++
      stats.latencies.push(performance.now() - sentAt)
      if (status < 200 || status > 299) stats.non2xx++
      return reset.apply(this, args)
    }
  }
  return { stats, setupClient }
}
