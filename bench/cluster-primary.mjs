// @ts-check
/**
 * The primary of the bench's node:cluster servers (the Fastify baseline, the
 * bare https floor): forks the workers, prints one JSON ready line once every
 * worker listens, exits 1 if a worker dies before the stop, and on SIGTERM or
 * SIGINT stops the workers and exits 0 after them.
 */
import cluster from 'node:cluster'

/**
 * @param {{ name: string, workers: number, readyFields?: () => Record<string, unknown> }} options
 *   `name` prefixes error lines; `readyFields` adds to the ready line
 */
export function runClusterPrimary ({ name, workers, readyFields = () => ({}) }) {
  let listening = 0
  let stopping = false
  cluster.on('listening', (_worker, address) => {
    listening++
    if (listening === workers) {
      process.stdout.write(JSON.stringify({ msg: 'ready', port: address.port, workers, ...readyFields() }) + '\n')
    }
  })
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      process.stderr.write(`${name}: worker ${worker.id} died (${signal ?? code})\n`)
      process.exit(1)
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    const running = Object.values(cluster.workers ?? {})
    if (running.length === 0) process.exit(0)
    for (const worker of running) worker?.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  for (let i = 0; i < workers; i++) cluster.fork()
}
