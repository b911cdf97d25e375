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
 *                    connection and passes it to a worker over IPC (round-robin)
 *   BARE_EXTRA_HEADERS  optional JSON object of headers every response also
 *                    carries; when set, each file also gets what seraph sends
 *                    per file (ETag, Last-Modified, Cache-Control,
 *                    Accept-Ranges, Vary), so the response is as large as
 *                    seraph's and costs Node the same per-header work
 *
 * Prints one JSON line {"msg":"ready","port":N,"workers":N,"scheduling":"none"|"rr","files":N}
 * once every worker listens. SIGTERM or SIGINT stops the workers, then the
 * primary (exit 0).
 */
import cluster from 'node:cluster'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:https'
import { extname, join } from 'node:path'
import { runClusterPrimary } from './cluster-primary.mjs'
import { failServer, readServerSettings } from './server-settings.mjs'

const name = 'bare-https-floor'
/** @param {string} message */
const fail = (message) => failServer(name, message)
const { root, certPath, keyPath, host, port, workers } = readServerSettings(name, 'BARE')
const scheduling = process.env.BARE_SCHEDULING ?? 'none'
if (scheduling !== 'none' && scheduling !== 'rr') fail(`BARE_SCHEDULING must be none or rr, not ${scheduling}`)
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

/** @param {string} dir */
function countFiles (dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length
}

const notFound = Buffer.from('not found\n')
const notFoundHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': notFound.length }

if (cluster.isPrimary) {
  // Frozen when the first worker is forked: set it before.
  cluster.schedulingPolicy = scheduling === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE
  runClusterPrimary({ name, workers, readyFields: () => ({ scheduling, files: countFiles(root) }) })
} else {
  const files = loadFiles(root)
  const server = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
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
  })
  server.listen(port, host)
}
