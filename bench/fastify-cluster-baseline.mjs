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
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'
import { runClusterPrimary } from './cluster-primary.mjs'
import { readServerSettings } from './server-settings.mjs'

const name = 'fastify-cluster-baseline'
const { root, certPath, keyPath, host, port, workers } = readServerSettings(name, 'BASELINE')

if (cluster.isPrimary) {
  runClusterPrimary({ name, workers })
} else {
  const app = Fastify({ https: { key: readFileSync(keyPath), cert: readFileSync(certPath) } })
  await app.register(fastifyStatic, { root })
  await app.listen({ host, port })
}
