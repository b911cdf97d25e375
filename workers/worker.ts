/**
 * A worker process's entry: one WorkerProcess (src/worker/worker-process.ts)
 * that the primary's messages drive. It never forks. When the primary
 * disappears, node:cluster exits it (the IPC channel's 'disconnect').
 */
import { dispatch, type DispatchTable, type PrimaryMessage, type WorkerMessage } from '../src/shared/messages.js'
import { WorkerProcess } from '../src/worker/worker-process.js'

function send (message: WorkerMessage, callback?: () => void): void {
  if (process.send === undefined || !process.connected) callback?.()
  else process.send(message, undefined, {}, callback)
}

const worker = new WorkerProcess(send)

// The whole protocol a worker speaks, one line per message (messages.ts).
const handlers: DispatchTable<PrimaryMessage, unknown> = {
  start: (message, handle) => worker.start(message.settings, handle),
  'redirect-handle': (message, handle) => worker.receiveRedirectHandle(message.httpsPort, handle),
  shutdown: (message) => worker.shutdown(message.force, message.mode),
  report: (message) => worker.report(message.requestId, message.metrics),
  'reload-certificate': (message) => worker.reloadCertificate(message),
  'ticket-keys': (message) => worker.setTicketKeys(message.keys),
  session: (message) => worker.sessions.settle(message.requestId, message.data),
  'session-stored': (message) => worker.sessions.stored(message.requestId),
  certificates: (message) => worker.applyAcmeCertificates(message.certificates),
  'acme-challenges': (message) => worker.applyChallenges(message.version, message.challenges),
  'session-ids': (message) => worker.sessions.remember(message.ids)
}

process.on('message', (message: unknown, handle: unknown) => {
  dispatch(handlers, message, handle)
})
// The primary sends 'start' only after this: a message that came before the
// handler was installed would be dropped.
send({ act: 'hello' })

// Ctrl-C in a terminal and pm2's tree-kill signal every process, workers
// included: treat it like the primary's shutdown message, never as an abort.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => worker.stopOnSignal())
// Reload signals are for the primary; one sent to the whole process group
// must not kill a worker (their default action).
for (const signal of ['SIGHUP', 'SIGUSR2'] as const) process.on(signal, () => {})

process.on('uncaughtException', (err) => {
  worker.logFatal(err)
  process.exit(1)
})
