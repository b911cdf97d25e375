// @ts-check
/**
 * The baseline: what a Node user would write by hand to serve a folder over
 * HTTPS on every core. Fastify 5 + @fastify/static with their defaults in a
 * plain node:cluster (round-robin scheduling, Node's default on Linux).
 *
 * Configured by environment variables:
 *   BASELINE_ROOT     folder to serve (required)
 *   BASELINE_CERT     PEM certificate file (required)
 *   BASELINE_KEY      PEM key file (required)
 *   BASELINE_HOST     default 127.0.0.1
 *   BASELINE_PORT     default 0 (a free port, the same for every worker)
 *   BASELINE_WORKERS  default os.availableParallelism()
 *
 * Prints one JSON line {"msg":"ready","port":N,"workers":N} once every worker
 * listens. SIGTERM or SIGINT stops the workers, then the primary (exit 0).
 */
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'
import { runClusterPrimary } from './cluster-primary.mjs'

/** @param {string} name */
function required (name) {
  const value = process.env[name]
  if (value === undefined || value === '') {
    process.stderr.write(`fastify-cluster-baseline: ${name} is not set\n`)
    process.exit(1)
  }
  return value
}

const root = required('BASELINE_ROOT')
const certPath = required('BASELINE_CERT')
const keyPath = required('BASELINE_KEY')
const host = process.env.BASELINE_HOST ?? '127.0.0.1'
const port = Number(process.env.BASELINE_PORT ?? 0)
const workers = Number(process.env.BASELINE_WORKERS ?? availableParallelism())

if (cluster.isPrimary) {
  runClusterPrimary({ name: 'fastify-cluster-baseline', workers })
} else {
  const app = Fastify({ https: { key: readFileSync(keyPath), cert: readFileSync(certPath) } })
  await app.register(fastifyStatic, { root })
  await app.listen({ host, port })
}
