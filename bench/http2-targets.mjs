// @ts-check
/**
 * The targets of issue 14, read from one run's medians: seraph against Node's
 * own HTTP/2 floors (bare-https-floor.mjs with BARE_HTTP2), against its own
 * HTTP/1.1, against the HTTP/1.1 floors (keep-alive with seraph's headers,
 * new TLS connections with N workers) and their memory; plus, for reading,
 * what N workers cost per new connection against 1, for seraph and for the
 * floor (no target: the issue asks why). Ratios in one run are what count:
 * the machine may be shared, absolute numbers move between runs.
 */
import { formatTable } from './table.mjs'

/**
 * @typedef {import('./report.mjs').SummaryRow} SummaryRow
 *
 * @typedef {object} Http2TargetRow
 * @property {string} id
 * @property {string} what
 * @property {string} target e.g. `≤ 1.3×`, `–` for a row to read (no target)
 * @property {string} against the label of what seraph is compared with
 * @property {string} unit
 * @property {number | null} seraph
 * @property {number | null} reference
 * @property {number | null} ratio seraph / reference
 * @property {boolean | null} met null when either side did not run or there is no target
 */

/** @param {SummaryRow} r */
const cpu = (r) => r.cpuUsPerRequest
/** @param {SummaryRow} r */
const totalRss = (r) => r.rssMiB.main + r.rssMiB.workers.reduce((sum, w) => sum + w, 0)

/**
 * @param {SummaryRow[]} summary
 * @returns {Http2TargetRow[]}
 */
export function http2TargetRows (summary) {
  const find = (/** @type {string} */ scenario, /** @type {string} */ contender) =>
    summary.find((r) => r.scenario === scenario && r.contender === contender)
  /**
   * @param {{ id: string, what: string, limit: number | null, unit: string, pick: (r: SummaryRow) => number,
   *   seraph: [string, string], reference: [string, string], against: string }} spec
   * @returns {Http2TargetRow}
   */
  const row = (spec) => {
    const mine = find(...spec.seraph)
    const theirs = find(...spec.reference)
    const seraph = mine === undefined ? null : spec.pick(mine)
    const reference = theirs === undefined ? null : spec.pick(theirs)
    const ratio = seraph === null || reference === null || reference === 0 ? null : seraph / reference
    return {
      id: spec.id,
      what: spec.what,
      target: spec.limit === null ? '–' : `≤ ${spec.limit}×`,
      against: spec.against,
      unit: spec.unit,
      seraph,
      reference,
      ratio,
      met: ratio === null || spec.limit === null ? null : ratio <= spec.limit
    }
  }
  const compat = 'bare-h2-compat'
  const stream = 'bare-h2-stream'
  return [
    row({ id: 'h2-small-page-cpu-compat', what: 'HTTP/2 small page, server CPU per request', limit: 1.0, unit: 'µs/req', pick: cpu, seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', compat], against: 'bare http2 compat floor' }),
    row({ id: 'h2-small-page-cpu-stream', what: 'HTTP/2 small page, server CPU per request', limit: 1.3, unit: 'µs/req', pick: cpu, seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', stream], against: 'bare http2 stream-API floor' }),
    row({ id: 'h2-vs-h1-cpu', what: 'small page, seraph\'s HTTP/2 CPU per request vs its HTTP/1.1', limit: 1.0, unit: 'µs/req', pick: cpu, seraph: ['h2-small-page', 'seraph'], reference: ['small-page', 'seraph'], against: 'seraph over HTTP/1.1 keep-alive' }),
    row({ id: 'h2-mix-cpu-compat', what: 'HTTP/2 mix, server CPU per request', limit: 1.0, unit: 'µs/req', pick: cpu, seraph: ['h2-mix', 'seraph'], reference: ['h2-mix', compat], against: 'bare http2 compat floor' }),
    row({ id: 'h2-rss-compat', what: 'RSS after the HTTP/2 small page run, main + workers', limit: 1.0, unit: 'MiB', pick: totalRss, seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', compat], against: 'bare http2 compat floor' }),
    row({ id: 'h1-rss-floor', what: 'RSS after the HTTP/1.1 small page run, main + workers', limit: 1.0, unit: 'MiB', pick: totalRss, seraph: ['small-page', 'seraph'], reference: ['small-page', 'bare-https-headers'], against: 'bare https floor with seraph\'s headers' }),
    row({ id: 'h1-small-page-cpu-headers', what: 'HTTP/1.1 keep-alive small page, server CPU per request', limit: 1.3, unit: 'µs/req', pick: cpu, seraph: ['small-page', 'seraph'], reference: ['small-page', 'bare-https-headers'], against: 'bare https floor with seraph\'s headers' }),
    row({ id: 'new-tls-cpu-floor', what: 'full TLS handshake per request, N workers, server CPU per connection', limit: 1.1, unit: 'µs/req', pick: cpu, seraph: ['new-tls-per-request', 'seraph'], reference: ['new-tls-per-request', 'bare-https'], against: 'bare https floor, N workers' }),
    row({ id: 'new-tls-seraph-n-vs-1', what: 'full TLS handshake, seraph N workers vs 1 (to read)', limit: null, unit: 'µs/req', pick: cpu, seraph: ['new-tls-per-request', 'seraph'], reference: ['new-tls-per-request', 'seraph-1'], against: 'seraph, 1 worker' }),
    row({ id: 'new-tls-floor-n-vs-1', what: 'full TLS handshake, floor N workers vs 1 (to read)', limit: null, unit: 'µs/req', pick: cpu, seraph: ['new-tls-per-request', 'bare-https'], reference: ['new-tls-per-request', 'bare-https-1'], against: 'bare https floor, 1 worker' })
  ]
}

const one = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })

/**
 * @param {Http2TargetRow[]} rows
 * @returns {string}
 */
export function formatHttp2Targets (rows) {
  const cells = rows.map((t) => [
    t.met === null && t.target === '–' ? `${t.what}: against ${t.against}` : `${t.what}: ${t.target} ${t.against}`,
    t.seraph === null ? '–' : `${one.format(t.seraph)} ${t.unit}`,
    t.reference === null ? '–' : `${one.format(t.reference)} ${t.unit}`,
    t.ratio === null ? '–' : `${t.ratio.toFixed(2)}×`,
    t.met === null ? '–' : t.met ? 'yes' : 'no'
  ])
  return ['Targets of issue 14 (ratios in this run; the last two rows have no target: N workers against 1 for a new TLS connection, seraph and the floor)',
    formatTable(['target', 'seraph', 'compared with', 'ratio', 'met?'], cells, [false, true, true, true, false]), ''].join('\n')
}
