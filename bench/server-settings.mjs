// @ts-check
/**
 * The environment variables of the bench's own servers (the Fastify baseline,
 * the bare https floor), each with its prefix: `<P>_ROOT`, `<P>_CERT`,
 * `<P>_KEY` (required), `<P>_HOST` (127.0.0.1), `<P>_PORT` (0: a free port),
 * `<P>_WORKERS` (os.availableParallelism()).
 */
import { availableParallelism } from 'node:os'
import { failWith } from './fail.mjs'

/**
 * @param {string} name the server's name, for error lines
 * @param {string} prefix e.g. `BARE`
 */
export function readServerSettings (name, prefix) {
  const fail = failWith(name)
  const required = (/** @type {string} */ key) => {
    const value = process.env[`${prefix}_${key}`]
    if (value === undefined || value === '') return fail(`${prefix}_${key} is not set`)
    return value
  }
  const workersText = process.env[`${prefix}_WORKERS`]
  const workers = workersText === undefined ? availableParallelism() : Number(workersText)
  if (!Number.isInteger(workers) || workers < 1) fail(`${prefix}_WORKERS must be a positive integer, not ${workersText}`)
  return {
    root: required('ROOT'),
    certPath: required('CERT'),
    keyPath: required('KEY'),
    host: process.env[`${prefix}_HOST`] ?? '127.0.0.1',
    port: Number(process.env[`${prefix}_PORT`] ?? 0),
    workers
  }
}
