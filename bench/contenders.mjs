// @ts-check
/**
 * The servers compared: how to start each one on a free loopback port with the
 * shared certificate, how to tell it is ready, and how to stop it.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { httpGetText, httpsGet, metricValue } from './client.mjs'
import { processTree } from './cpu.mjs'
import { findNginx, nginxArgs, nginxConfig, nginxVersion } from './nginx.mjs'
import { freePort, startProcess, stopProcess, waitUntil } from './processes.mjs'
import { reusePortMissing } from './reuse-port.mjs'
import { rulesSite } from './site-rules-fixture.mjs'

/**
 * @typedef {object} BenchContext
 * @property {string} repoRoot
 * @property {string} seraphDir the snapshot of seraph's build (see snapshot.mjs)
 * @property {string} root the folder every contender serves (public/)
 * @property {string} certPath
 * @property {string} keyPath
 * @property {Buffer} ca the CA that signed the certificate
 * @property {string} tmpDir removed after the run
 * @property {number} cores workers for the multi-process contenders
 * @property {string[]} [launcher] a command that runs node, e.g. valgrind and
 *   its flags (bench/instructions.mjs); only the Node contenders take it
 * @property {number} [readyTimeoutMs] how long a start may take (default 20 s)
 *
 * @typedef {object} ServerCounters seraph's own counts, from its metrics
 * @property {number} connections TLS connections it accepted
 * @property {number} responses responses it sent (any status)
 *
 * @typedef {object} Running
 * @property {number} pid the process we started; its workers are its children
 * @property {number} port
 * @property {() => Promise<ServerCounters | undefined>} counters
 * @property {() => Promise<void>} stop
 *
 * @typedef {object} Contender
 * @property {string} id
 * @property {string} label
 * @property {string} description
 * @property {string | undefined} skipped why it cannot run here
 * @property {Protocol[]} protocols the scenarios it is measured in, by protocol
 *   (an HTTP/2 scenario needs h2 over ALPN; the HTTP/2 floors run only there)
 * @property {string[]} [scenarios] only these scenarios (by id), for a
 *   contender that answers one question (seraph-rules: the small pages)
 * @property {(ctx: BenchContext) => Promise<Running>} start
 */

/** @typedef {import('./scenarios.mjs').Protocol} Protocol */

const defaultReadyTimeoutMs = 20_000

/**
 * `node <args>`, or the same behind ctx.launcher.
 * @param {BenchContext} ctx
 * @param {string[]} args
 */
function nodeCommand (ctx, args) {
  const [command, ...launcherArgs] = ctx.launcher ?? []
  return command === undefined
    ? { command: process.execPath, args }
    : { command, args: [...launcherArgs, process.execPath, ...args] }
}

/** @returns {Promise<ServerCounters | undefined>} */
async function noCounters () { return undefined }

/**
 * seraph with `workers` workers, started through its CLI as a user would.
 * @param {string} id
 * @param {number} workers
 * @param {string} [nodeOptions] NODE_OPTIONS for the primary and its workers
 *   (`npm run bench:ab -- --node-options`: V8 flags against the defaults)
 * @param {Protocol[]} [protocols] the scenarios it runs in; seraph-1 is about
 *   new connections with N workers, where HTTP/1.1 is enough
 * @param {{ label: string, scenarios: string[], root: (ctx: BenchContext) => string }} [site]
 *   another root than ctx.root, in these scenarios only (seraph-rules)
 * @returns {Contender}
 */
function seraph (id, workers, nodeOptions = undefined, protocols = workers === 1 ? ['h1'] : ['h1', 'h2'], site = undefined) {
  return {
    id,
    label: `seraph (${workers} worker${workers === 1 ? '' : 's'}${nodeOptions === undefined ? '' : `, NODE_OPTIONS=${nodeOptions}`}${site === undefined ? '' : `, ${site.label}`})`,
    description: `node dist/src/cli.js --workers ${workers}, access log on (to a file), from a copy of dist/ taken at the start${site === undefined ? '' : `; ${site.label}`}`,
    skipped: undefined,
    protocols,
    ...(site === undefined ? {} : { scenarios: site.scenarios }),
    async start (ctx) {
      const port = await freePort()
      let adminPort = await freePort()
      while (adminPort === port) adminPort = await freePort()
      const proc = startProcess({
        name: this.label,
        ...nodeCommand(ctx, [join(ctx.seraphDir, 'dist/src/cli.js'),
          '--host', '127.0.0.1', '--port', String(port), '--workers', String(workers),
          '--root', site === undefined ? ctx.root : site.root(ctx), '--cert', ctx.certPath, '--key', ctx.keyPath,
          '--admin-port', String(adminPort),
          // Started as root, seraph runs its workers as nobody, who cannot
          // read the bench's private temp folder (mode 0700) that holds this
          // copy of seraph: as root they run as root, as nginx's do (`user root`).
          ...(process.getuid?.() === 0 ? ['--user', 'root'] : [])]),
        cwd: ctx.seraphDir,
        ...(nodeOptions === undefined ? {} : { env: { ...process.env, NODE_OPTIONS: nodeOptions } }),
        // The access log stays on, as in production; it goes to a file.
        stdoutFile: join(ctx.seraphDir, `${id}.log`)
      })
      const metricsUrl = `http://127.0.0.1:${adminPort}/metrics`
      const stop = async () => { await stopProcess(proc, 'SIGTERM', 12_000) }
      try {
        // Its stdout goes to a file: ask its metrics how many workers listen.
        await waitUntil(proc, async () => {
          if (proc.lines.some((line) => line.includes('"msg":"ready"'))) return true
          return metricValue(await httpGetText(metricsUrl), 'seraph_workers_listening') === workers ? true : undefined
        }, ctx.readyTimeoutMs ?? defaultReadyTimeoutMs)
      } catch (err) {
        await stop()
        throw err
      }
      return {
        pid: proc.pid,
        port,
        stop,
        async counters () {
          const text = await httpGetText(metricsUrl)
          let responses = 0
          for (const line of text.split('\n')) {
            if (line.startsWith('seraph_http_requests_total{') && line.includes('worker="all"')) {
              responses += Number(line.slice(line.lastIndexOf(' ') + 1))
            }
          }
          return { connections: metricValue(text, 'seraph_connections_opened_total{worker="all"}') ?? 0, responses }
        }
      }
    }
  }
}

/**
 * Starts a node:cluster script that prints one JSON line
 * {"msg":"ready","port":N,...} once every worker listens.
 * @param {{ name: string, script: string, env: NodeJS.ProcessEnv }} spec
 * @param {BenchContext} ctx
 * @returns {Promise<Running>}
 */
async function startWithReadyLine (spec, ctx) {
  const proc = startProcess({
    name: spec.name,
    ...nodeCommand(ctx, [join(ctx.repoRoot, spec.script)]),
    cwd: ctx.repoRoot,
    env: { ...process.env, ...spec.env }
  })
  const stop = async () => { await stopProcess(proc, 'SIGTERM', 10_000) }
  let port
  try {
    port = await waitUntil(proc, () => {
      const line = proc.lines.find((l) => l.includes('"msg":"ready"'))
      return line === undefined ? undefined : /** @type {{ port: number }} */ (JSON.parse(line)).port
    }, ctx.readyTimeoutMs ?? defaultReadyTimeoutMs)
  } catch (err) {
    await stop()
    throw err
  }
  return { pid: proc.pid, port, stop, counters: noCounters }
}

/**
 * @param {number} workers
 * @returns {Contender}
 */
function fastifyCluster (workers) {
  return {
    id: 'fastify-cluster',
    label: `fastify cluster (${workers} workers)`,
    description: 'bench/fastify-cluster-baseline.mjs: Fastify 5 + @fastify/static defaults in node:cluster',
    skipped: undefined,
    protocols: ['h1'],
    start (ctx) {
      return startWithReadyLine({
        name: this.label,
        script: 'bench/fastify-cluster-baseline.mjs',
        env: {
          BASELINE_ROOT: ctx.root,
          BASELINE_CERT: ctx.certPath,
          BASELINE_KEY: ctx.keyPath,
          BASELINE_HOST: '127.0.0.1',
          BASELINE_PORT: '0',
          BASELINE_WORKERS: String(workers)
        }
      }, ctx)
    }
  }
}

/**
 * The response headers seraph sends on every response with a real
 * certificate (helmet's set, HSTS on), computed by seraph's own code.
 * @param {BenchContext} ctx
 * @returns {Promise<string>} JSON
 */
async function seraphCommonHeaders (ctx) {
  const url = pathToFileURL(join(ctx.seraphDir, 'dist/src/worker/security-headers.js')).href
  const module = /** @type {{ securityHeaderValues: (o: { hstsMaxAgeSeconds: number, contentSecurityPolicy: string }) => Record<string, string>, defaultContentSecurityPolicy: string }} */ (await import(url))
  return JSON.stringify(module.securityHeaderValues({ hstsMaxAgeSeconds: 365 * 24 * 3600, contentSecurityPolicy: module.defaultContentSecurityPolicy }))
}

/**
 * The floor: bare `https.createServer` answering from memory in node:cluster.
 * `none`: cluster.SCHED_NONE, the workers accept on the shared listening
 * socket themselves (seraph's model); `rr`: cluster.SCHED_RR, the primary
 * accepts and hands each connection to a worker; `reuseport`: a socket per
 * worker with SO_REUSEPORT (no shared socket). With `seraphHeaders`, every
 * response carries the same headers as seraph's (security headers, ETag…):
 * the floor for a server that keeps them.
 * @param {string} id
 * @param {number} workers
 * @param {'none' | 'rr' | 'reuseport'} scheduling
 * @param {boolean} [seraphHeaders]
 * @param {'compat' | 'stream'} [http2] the HTTP/2 floors (BARE_HTTP2): Node's
 *   compat layer or the core stream API; measured in the HTTP/2 scenarios only
 * @returns {Contender}
 */
function bareHttps (id, workers, scheduling, seraphHeaders = false, http2 = undefined) {
  const model = { none: 'shared socket', rr: 'round-robin', reuseport: 'SO_REUSEPORT' }[scheduling]
  const kind = http2 === undefined ? 'https' : `http2 ${http2 === 'compat' ? 'compat' : 'stream API'}`
  const server = http2 === undefined
    ? 'https.createServer'
    : `http2.createSecureServer({ allowHTTP1 }) with a ${http2 === 'compat' ? "compat 'request'" : "core 'stream'"} handler`
  return {
    id,
    label: `bare ${kind} floor (${workers} worker${workers === 1 ? '' : 's'}, ${model}${seraphHeaders ? ', seraph\'s headers' : ''})`,
    description: `bench/bare-https-floor.mjs: ${server} answering from an in-memory Map in node:cluster, ${
      {
        none: 'SCHED_NONE (the workers accept on the shared socket)',
        rr: 'SCHED_RR (the primary accepts, round-robin)',
        reuseport: 'a listening socket per worker with SO_REUSEPORT'
      }[scheduling]}${
      seraphHeaders ? ', with the same response headers as seraph' : ''}`,
    skipped: scheduling === 'reuseport' ? reusePortMissing() : undefined,
    // The plain compat floor is issue 31's floor for every scenario: over
    // HTTP/1.1 it is the same server (allowHTTP1) a seraph worker is.
    protocols: http2 === undefined ? ['h1'] : http2 === 'compat' && !seraphHeaders ? ['h1', 'h2'] : ['h2'],
    async start (ctx) {
      return await startWithReadyLine({
        name: this.label,
        script: 'bench/bare-https-floor.mjs',
        env: {
          BARE_ROOT: ctx.root,
          BARE_CERT: ctx.certPath,
          BARE_KEY: ctx.keyPath,
          BARE_HOST: '127.0.0.1',
          BARE_PORT: '0',
          BARE_WORKERS: String(workers),
          BARE_SCHEDULING: scheduling,
          ...(seraphHeaders ? { BARE_EXTRA_HEADERS: await seraphCommonHeaders(ctx) } : {}),
          ...(http2 === undefined ? {} : { BARE_HTTP2: http2 })
        }
      }, ctx)
    }
  }
}

/**
 * @param {number} workers
 * @returns {Contender}
 */
function nginx (workers) {
  const binary = findNginx()
  const version = binary === undefined ? '' : nginxVersion(binary)
  return {
    id: 'nginx',
    label: `nginx ${version} (${workers} workers)`.replace('  ', ' '),
    description: `Debian's nginx package, worker_processes ${workers}, sendfile on, access_log off`,
    skipped: binary === undefined ? 'nginx not installed: skipped (apt-get install nginx)' : undefined,
    // Its config has no `http2` on the listen line yet (issue 14 leaves it out).
    protocols: ['h1'],
    async start (ctx) {
      if (binary === undefined) throw new Error('nginx is not installed')
      const prefix = await mkdtemp(join(ctx.tmpDir, 'nginx-'))
      await mkdir(join(prefix, 'logs'), { recursive: true })
      const port = await freePort()
      const configPath = join(prefix, 'nginx.conf')
      await writeFile(configPath, nginxConfig({ prefix, port, workers, root: ctx.root, certPath: ctx.certPath, keyPath: ctx.keyPath }))
      const proc = startProcess({ name: this.label, command: binary, args: nginxArgs(prefix, configPath) })
      // SIGQUIT: graceful shutdown of the master and its workers.
      const stop = async () => { await stopProcess(proc, 'SIGQUIT', 10_000) }
      try {
        await waitUntil(proc, async () => {
          if (processTree(proc.pid).length < workers + 1) return undefined
          return (await httpsGet(port, '/index.html', ctx.ca)).status === 200 ? true : undefined
        }, defaultReadyTimeoutMs)
      } catch (err) {
        await stop()
        throw err
      }
      return { pid: proc.pid, port, stop, counters: noCounters }
    }
  }
}

/**
 * seraph serving the site with the most rules it takes (site-rules-fixture.mjs),
 * in the small-page scenarios only: issue 29's cost of rules, against `seraph`.
 * @param {number} workers
 * @returns {Contender}
 */
function seraphRules (workers) {
  return seraph('seraph-rules', workers, undefined, ['h1', 'h2'], {
    label: '2,000 + 100 redirect rules, 100 header blocks',
    scenarios: ['small-page', 'h2-small-page'],
    root: rulesSite
  })
}

/**
 * In this order in every repetition (the first one moves along by one each
 * repetition).
 * @param {number} cores
 * @returns {Contender[]}
 */
export function contenders (cores) {
  return [
    seraph('seraph', cores),
    seraph('seraph-1', 1),
    seraphRules(cores),
    bareHttps('bare-https', cores, 'none'),
    bareHttps('bare-https-1', 1, 'none'),
    bareHttps('bare-https-rr', cores, 'rr'),
    bareHttps('bare-https-headers', cores, 'none', true),
    bareHttps('bare-h2-compat', cores, 'none', false, 'compat'),
    bareHttps('bare-h2-stream', cores, 'none', false, 'stream'),
    bareHttps('bare-h2-compat-headers', cores, 'none', true, 'compat'),
    bareHttps('bare-h2-stream-headers', cores, 'none', true, 'stream'),
    fastifyCluster(cores),
    nginx(cores)
  ]
}

/**
 * The Node contenders of `npm run bench:instructions`, one worker each, plus
 * the HTTP/2 floors with seraph's headers (so the difference is not the
 * headers' count).
 * @returns {Contender[]}
 */
export function instructionContenders () {
  return [
    seraph('seraph', 1, undefined, ['h1', 'h2']),
    seraphRules(1),
    bareHttps('bare-https', 1, 'none'),
    bareHttps('bare-https-headers', 1, 'none', true),
    bareHttps('bare-h2-compat', 1, 'none', false, 'compat'),
    bareHttps('bare-h2-compat-headers', 1, 'none', true, 'compat'),
    bareHttps('bare-h2-stream', 1, 'none', false, 'stream'),
    bareHttps('bare-h2-stream-headers', 1, 'none', true, 'stream')
  ]
}

/** Every contender id, in the order of `contenders()`. */
export const contenderIds = ['seraph', 'seraph-1', 'seraph-rules', 'bare-https', 'bare-https-1', 'bare-https-rr', 'bare-https-headers', 'bare-h2-compat', 'bare-h2-stream',
  'bare-h2-compat-headers', 'bare-h2-stream-headers', 'fastify-cluster', 'nginx']

/**
 * Contenders only `bench:ab` offers, to settle one question each rather than
 * to be measured in every scenario of `npm run bench`: the https floor on a
 * listening socket per worker (SO_REUSEPORT), against `bare-https` on
 * `new-tls-per-request`, tells whether waking every worker on the shared
 * socket is what a new connection costs more with N workers than with 1.
 * @param {number} cores
 * @returns {Contender[]}
 */
export function diagnosticContenders (cores) {
  return [bareHttps('bare-https-reuseport', cores, 'reuseport')]
}

/** The ids of `diagnosticContenders()`. */
export const diagnosticContenderIds = ['bare-https-reuseport']

/**
 * seraph (N workers) started with NODE_OPTIONS, for `bench:ab -- --node-options`:
 * a V8 flag's trade-off against seraph as it ships, in the same slices.
 * @param {number} cores
 * @param {string} nodeOptions
 * @returns {Contender}
 */
export function seraphWithNodeOptions (cores, nodeOptions) {
  return seraph('seraph-node-options', cores, nodeOptions)
}

/**
 * The contenders named by `ids`, in that order (ratios are to the first), or
 * `fail` naming the first that cannot run `protocol`'s scenarios here.
 * @param {Contender[]} all
 * @param {readonly string[]} ids
 * @param {Protocol} protocol
 * @param {(message: string) => never} fail
 * @returns {Contender[]}
 */
export function chooseContenders (all, ids, protocol, fail) {
  const chosen = ids.flatMap((id) => all.filter((c) => c.id === id))
  const unfit = chosen.find((c) => c.skipped !== undefined || !c.protocols.includes(protocol))
  if (unfit !== undefined) fail(unfit.skipped ?? `${unfit.id} does not run ${protocol} scenarios`)
  return chosen
}
