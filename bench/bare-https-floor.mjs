// @ts-check
/**
 * The floor: the least a Node static server over HTTPS can do per request on
 * every core. node:cluster with N workers, each a plain `https.createServer`
 * answering GET/HEAD from an in-memory Map (URL path → Buffer) built at
 * start-up from every file under the root, 404 for anything else. Headers per
 * file prepared once: content-type (small extension table) and
 * content-length, plus what Node's http adds by itself (Date, Connection,
 * Keep-Alive). No logging, no ETag, no compression, no conditional requests.
 *
 * Configured by environment variables:
 *   BARE_ROOT        folder to serve (required)
 *   BARE_CERT        PEM certificate file (required)
 *   BARE_KEY         PEM key file (required)
 *   BARE_HOST        default 127.0.0.1
 *   BARE_PORT        default 0 (a free port, the same for every worker)
 *   BARE_WORKERS     default os.availableParallelism()
 *   BARE_SCHEDULING  `none` (default): cluster.SCHED_NONE, the primary creates
 *                    the listening socket and shares the handle, every worker
 *                    accepts on it itself (seraph's model);
 *                    `rr`: cluster.SCHED_RR, the primary accepts every
 *                    connection and passes it to a worker over IPC (round-robin);
 *                    `reuseport`: every worker listens on a socket of its own
 *                    with SO_REUSEPORT (Node 22.12+/23.1+ on Linux), the kernel
 *                    hands each connection to one of them: no shared socket,
 *                    so no wake-up of every worker per connection
 *   BARE_EXTRA_HEADERS  optional JSON object of headers every response also
 *                    carries; when set, each file also gets what seraph sends
 *                    per file (ETag, Last-Modified, Cache-Control,
 *                    Accept-Ranges, Vary), so the response is as large as
 *                    seraph's and costs Node the same per-header work
 *   BARE_HTTP2       optional: `compat` serves HTTP/2 (ALPN h2, HTTP/1.1 for
 *                    other clients) with `http2.createSecureServer({ allowHTTP1 })`
 *                    and the same 'request' handler (Node's compat layer,
 *                    Http2ServerRequest/Http2ServerResponse); `stream` the same
 *                    server answering HTTP/2 on the core stream API
 *                    (`stream.respond()` + `stream.end()`, headers with
 *                    `:status` prepared once per file), HTTP/1.1 as before
 *
 * Prints one JSON line {"msg":"ready","port":N,"workers":N,"scheduling":"none"|"rr"|"reuseport","files":N}
 * once every worker listens. SIGTERM or SIGINT stops the workers, then the
 * primary (exit 0).
 */
import cluster from 'node:cluster'
import net from 'node:net'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:https'
import { createSecureServer } from 'node:http2'
import { extname, join } from 'node:path'
import { runClusterPrimary } from './cluster-primary.mjs'
import { failWith } from './fail.mjs'
import { readServerSettings } from './server-settings.mjs'
import { reusePortMissing } from './reuse-port.mjs'

const name = 'bare-https-floor'
const fail = failWith(name)
const { root, certPath, keyPath, host, port, workers } = readServerSettings(name, 'BARE')
const scheduling = process.env.BARE_SCHEDULING ?? 'none'
if (scheduling !== 'none' && scheduling !== 'rr' && scheduling !== 'reuseport') fail(`BARE_SCHEDULING must be none, rr or reuseport, not ${scheduling}`)
const noReusePort = scheduling === 'reuseport' ? reusePortMissing() : undefined
if (noReusePort !== undefined) fail(noReusePort)
const http2 = process.env.BARE_HTTP2
if (http2 !== undefined && http2 !== 'compat' && http2 !== 'stream') fail(`BARE_HTTP2 must be compat or stream, not ${http2}`)
if (scheduling === 'reuseport' && http2 !== undefined) fail('BARE_SCHEDULING=reuseport serves HTTPS only, without BARE_HTTP2')
/** @type {Record<string, string> | undefined} */
let extraHeaders
try {
  extraHeaders = process.env.BARE_EXTRA_HEADERS === undefined ? undefined : JSON.parse(process.env.BARE_EXTRA_HEADERS)
} catch {
  fail('BARE_EXTRA_HEADERS is not a JSON object')
}

/** @type {Record<string, string>} */
const types = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.pdf': 'application/pdf'
}

/**
 * Every file under `dir` by URL path; a folder's index.html also answers for
 * the folder's path with a trailing slash (`/about/`, `/`).
 * @param {string} dir
 * @returns {Map<string, { body: Buffer, headers: Record<string, string | number> }>}
 */
function loadFiles (dir) {
  /** @type {Map<string, { body: Buffer, headers: Record<string, string | number> }>} */
  const files = new Map()
  const walk = (/** @type {string} */ folder, /** @type {string} */ urlPrefix) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name)
      const url = `${urlPrefix}${entry.name}`
      if (entry.isDirectory()) {
        walk(path, `${url}/`)
      } else if (entry.isFile()) {
        const body = readFileSync(path)
        const type = types[extname(entry.name).toLowerCase()] ?? 'application/octet-stream'
        const file = {
          body,
          headers: { ...(extraHeaders === undefined ? {} : perFileHeaders(path, body, type)), 'content-type': type, 'content-length': body.length }
        }
        files.set(url, file)
        if (entry.name === 'index.html') files.set(urlPrefix, file)
      }
    }
  }
  walk(dir, '/')
  return files
}

/**
 * The headers seraph adds per file, with the same shapes and lengths.
 * @param {string} path
 * @param {Buffer} body
 * @param {string} type
 * @returns {Record<string, string>}
 */
function perFileHeaders (path, body, type) {
  const compressible = /^(?:text\/|application\/(?:json|xml)|image\/svg\+xml)/.test(type)
  return {
    ...extraHeaders,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    'last-modified': new Date(Math.floor(statSync(path).mtimeMs / 1000) * 1000).toUTCString(),
    'cache-control': 'public, max-age=300',
    'accept-ranges': 'bytes',
    ...(compressible ? { vary: 'Accept-Encoding' } : {})
  }
}

/**
 * Binds (without listening) a socket with SO_REUSEPORT; returns its port.
 * @param {string} address
 * @param {number} port
 * @returns {number}
 */
function bindReusePort (address, port) {
  // net._createServerHandle binds without listening (node:cluster's primary
  // uses it); flag 2 is libuv's UV_TCP_REUSEPORT (Node 22.12+).
  const create = /** @type {(a: string, p: number, t: number, fd: undefined, flags: number) => any} */ (/** @type {any} */ (net)._createServerHandle)
  const handle = create(address, port, net.isIP(address), undefined, 2)
  if (typeof handle === 'number') fail(`cannot bind ${address}:${port} with SO_REUSEPORT (error ${handle})`)
  /** @type {{ port?: number }} */
  const out = {}
  handle.getsockname(out)
  return out.port ?? port
}

/** @param {string} dir */
function countFiles (dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length
}

const notFound = Buffer.from('not found\n')
const notFoundHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': notFound.length }

if (cluster.isPrimary) {
  // Frozen when the first worker is forked: set it before.
  cluster.schedulingPolicy = scheduling === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE
  if (scheduling === 'reuseport') {
    // With port 0 every worker would get a port of its own: the primary binds
    // one with SO_REUSEPORT to pick it and keeps it bound, never listening, so
    // the kernel never hands it a connection. A worker that listens itself
    // (reusePort makes it exclusive) tells node:cluster's primary nothing, so
    // each says so over IPC.
    const reserved = bindReusePort(host, port)
    process.env.BARE_PORT = String(reserved)
    cluster.on('message', (worker, message) => {
      if (message === 'listening') cluster.emit('listening', worker, { port: reserved })
    })
  }
  runClusterPrimary({ name, workers, readyFields: () => ({ scheduling, files: countFiles(root) }) })
} else {
  const files = loadFiles(root)
  /** @type {import('node:http').RequestListener} */
  const onRequest = (req, res) => {
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    const file = files.get(query === -1 ? url : url.slice(0, query))
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 })
      res.end()
    } else if (file === undefined) {
      res.writeHead(404, notFoundHeaders)
      res.end(req.method === 'HEAD' ? undefined : notFound)
    } else {
      res.writeHead(200, file.headers)
      res.end(req.method === 'HEAD' ? undefined : file.body)
    }
  }
  const tls = { key: readFileSync(keyPath), cert: readFileSync(certPath) }
  if (http2 === undefined) {
    if (scheduling === 'reuseport') {
      createServer(tls, onRequest).listen({ port, host, reusePort: true }, () => process.send?.('listening'))
    } else {
      createServer(tls, onRequest).listen(port, host)
    }
  } else {
    const server = createSecureServer({ ...tls, allowHTTP1: true }, /** @type {never} */ (onRequest))
    if (http2 === 'stream') {
      // The 'request' listener made Node add its compat layer as the 'stream'
      // listener; HTTP/2 streams are answered here instead (HTTP/1.1 still
      // reaches onRequest). Headers with :status, prepared once per file.
      server.removeAllListeners('stream')
      /** @type {Map<string, Record<string, string | number>>} */
      const streamHeaders = new Map()
      const ok = (/** @type {string} */ path, /** @type {Record<string, string | number>} */ headers) => {
        let prepared = streamHeaders.get(path)
        if (prepared === undefined) streamHeaders.set(path, prepared = { ':status': 200, ...headers })
        return prepared
      }
      const notFoundStream = { ':status': 404, ...notFoundHeaders }
      server.on('stream', (stream, headers) => {
        stream.on('error', () => {})
        const url = String(headers[':path'] ?? '/')
        const query = url.indexOf('?')
        const path = query === -1 ? url : url.slice(0, query)
        const file = files.get(path)
        const head = headers[':method'] === 'HEAD'
        if (file === undefined) {
          stream.respond(notFoundStream)
          if (!head) stream.end(notFound)
        } else {
          stream.respond(ok(path, file.headers))
          if (!head) stream.end(file.body)
        }
      })
    }
    server.listen(port, host)
  }
}
