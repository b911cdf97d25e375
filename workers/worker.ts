/**
 * A worker process: builds its own TLS context from the certificate files,
 * listens on the socket the primary bound and shares, serves the blog, and
 * drains on request. It never forks. When the primary disappears, node:cluster
 * exits it (the IPC channel's 'disconnect').
 */
import { readFileSync } from 'node:fs'
import { buildApp, type App } from '../src/app.js'
import { ConnectionAccounting } from '../src/connection-accounting.js'
import { isSeraphError } from '../src/errors.js'
import { createLogger, type Logger } from '../src/logger.js'
import { dispatch, type DispatchTable, type PrimaryMessage, type WorkerMessage, type WorkerSettings } from '../src/messages.js'
import { WorkerMetrics } from '../src/worker-metrics.js'

let logger: Logger | undefined
let app: App | undefined
let draining = false
let signalsReceived = 0
let drainAfter = 10_000
let metrics: WorkerMetrics | undefined
let accounting: ConnectionAccounting | undefined

function send (message: WorkerMessage, callback?: () => void): void {
  if (process.send === undefined) callback?.()
  else process.send(message, undefined, {}, callback)
}

async function start (settings: WorkerSettings, handle: unknown): Promise<void> {
  drainAfter = settings.shutdownTimeoutMs
  logger = createLogger({ role: 'worker', level: settings.logLevel, workerId: settings.workerId })
  // Each worker reads the files and builds its TLS context itself: no TLS
  // state crosses a process boundary.
  const tls = { cert: readFileSync(settings.certPath), key: readFileSync(settings.keyPath) }
  metrics = new WorkerMetrics(settings.workerId)
  accounting = new ConnectionAccounting(metrics)
  const workerMetrics = metrics
  app = await buildApp({
    root: settings.root,
    logger,
    tls,
    workerId: settings.workerId,
    isDraining: () => draining,
    limits: settings.limits,
    accounting,
    onResponse: (status) => workerMetrics.response(status)
  })
  await app.ready()
  const server = app.server
  // --max-connections: Node closes the surplus at once and tells us here.
  server.on('drop', () => workerMetrics.rejected())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(handle, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  logger.debug({ port }, 'listening')
  send({ act: 'listening', port })
}

/** Stops accepting, lets in-flight requests finish, then exits; `force` closes every connection now. */
function shutdown (force: boolean): void {
  if (app === undefined) process.exit(0)
  if (force) {
    logger?.warn({ connections: accounting?.open }, 'forced shutdown: closing all connections')
    accounting?.destroyAll()
    return
  }
  if (draining) return
  draining = true
  accounting?.startShutdown()
  logger?.info({ connections: accounting?.open }, 'draining')
  // server.close() (inside app.close()) stops accepting and closes idle
  // keep-alive connections; busy ones get `Connection: close` on their response.
  const timer = setTimeout(() => shutdown(true), drainAfter)
  app.close().then(() => {
    clearTimeout(timer)
    logger?.info('drained')
    process.exit(0)
  }, (err: unknown) => {
    logger?.error({ err }, 'close failed')
    process.exit(1)
  })
}

const handlers: DispatchTable<PrimaryMessage, unknown> = {
  start: (message, handle) => {
    start(message.settings, handle).catch((err: unknown) => {
      const error = err as NodeJS.ErrnoException
      send({ act: 'start-failed', code: isSeraphError(err) ? err.code : error.code, message: error.message }, () => process.exit(1))
    })
  },
  shutdown: (message) => shutdown(message.force),
  report: (message) => {
    if (metrics === undefined) return
    const connectionsOpen = accounting?.open ?? 0
    metrics.snapshot().then((snapshot) => {
      send({ act: 'report', requestId: message.requestId, report: { metrics: snapshot, connectionsOpen, draining } })
    }, (err: unknown) => logger?.error({ err }, 'metrics snapshot failed'))
  }
}

process.on('message', (message: unknown, handle: unknown) => {
  dispatch(handlers, message, handle)
})
send({ act: 'hello' })

// Ctrl-C in a terminal and pm2's tree-kill signal every process, workers
// included: treat it like the primary's shutdown message, never as an abort.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signalsReceived++
    shutdown(signalsReceived > 1)
  })
}

process.on('uncaughtException', (err) => {
  if (logger === undefined) console.error(err)
  else logger.fatal({ err }, 'uncaught exception; the primary will replace this worker')
  process.exit(1)
})
