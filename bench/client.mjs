// @ts-check
/**
 * One-off requests the bench makes besides the load itself: readiness checks,
 * the content check before measuring, and seraph's metrics.
 */
import http from 'node:http'
import https from 'node:https'

/**
 * GET over HTTPS on a fresh connection, checking the certificate against `ca`.
 * @param {number} port
 * @param {string} path
 * @param {string | Buffer} ca
 * @returns {Promise<{ status: number, bytes: number, contentType: string }>}
 */
export function httpsGet (port, path, ca) {
  return new Promise((resolve, reject) => {
    const request = https.get({
      host: '127.0.0.1',
      port,
      path,
      ca,
      servername: 'localhost',
      agent: false,
      timeout: 5000
    }, (response) => {
      let bytes = 0
      response.on('data', (chunk) => { bytes += chunk.length })
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, bytes, contentType: String(response.headers['content-type'] ?? '') })
      })
      response.on('error', reject)
    })
    request.on('timeout', () => { request.destroy(new Error(`GET ${path}: timed out`)) })
    request.on('error', reject)
  })
}

/**
 * Text of a plain-HTTP GET (seraph's admin port).
 * @param {string} url
 * @returns {Promise<string>}
 */
export function httpGetText (url) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 5000 }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => { text += chunk })
      response.on('end', () => {
        if (response.statusCode === 200) resolve(text)
        else reject(new Error(`GET ${url}: ${response.statusCode}`))
      })
      response.on('error', reject)
    })
    request.on('timeout', () => { request.destroy(new Error(`GET ${url}: timed out`)) })
    request.on('error', reject)
  })
}

/**
 * The value of one Prometheus sample, e.g. `seraph_workers_listening` or
 * `seraph_connections_opened_total{worker="all"}`.
 * @param {string} text
 * @param {string} sample
 * @returns {number | undefined}
 */
export function metricValue (text, sample) {
  for (const line of text.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1))
  }
  return undefined
}
