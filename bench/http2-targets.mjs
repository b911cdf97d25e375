// @ts-check
/**
 * The HTTP/2 targets of issue 14, read from one run's medians: seraph against
 * Node's own HTTP/2 floors (bare-https-floor.mjs with BARE_HTTP2) and
 * against its own HTTP/1.1. Ratios in one run are what count: the machine
 * may be shared, absolute numbers move between runs.
 */
import { formatTable } from './table.mjs'

/**
 * @typedef {import('./report.mjs').SummaryRow} SummaryRow
 *
 * @typedef {object} Http2TargetRow
 * @property {string} id
 * @property {string} what
 * @property {string} target e.g. `≤ 1.3×`
 * @property {string} against the label of what seraph is compared with
 * @property {string} unit
 * @property {number | null} seraph
 * @property {number | null} reference
 * @property {number | null} ratio seraph / reference
 * @property {boolean | null} met null when either side did not run
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
   * @param {{ id: string, what: string, limit: number, unit: string, pick: (r: SummaryRow) => number,
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
      target: `≤ ${spec.limit}×`,
      against: spec.against,
      unit: spec.unit,
      seraph,
      reference,
      ratio,
      met: ratio === null ? null : ratio <= spec.limit
    }
  }
  const compat = 'bare-h2-compat'
  const stream = 'bare-h2-stream'
  return [
    row({ id: 'h2-small-page-cpu-compat', what: 'HTTP/2 small page, server CPU per request', limit: 1.0, unit: 'µs/req', pick: cpu, seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', compat], against: 'bare http2 compat floor' }),
    row({ id: 'h2-small-page-cpu-stream', what: 'HTTP/2 small page, server CPU per request', limit: 1.3, unit: 'µs/req', pick: cpu, seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', stream], against: 'bare http2 stream-API floor' }),
    row({ id: 'h2-vs-h1-cpu', what: 'small page, seraph\'s HTTP/2 CPU per request vs its HTTP/1.1', limit: 1.0, unit: 'µs/req', pick: cpu, seraph: ['h2-small-page', 'seraph'], reference: ['small-page', 'seraph'], against: 'seraph over HTTP/1.1 keep-alive' }),
    row({ id: 'h2-mix-cpu-compat', what: 'HTTP/2 mix, server CPU per request', limit: 1.0, unit: 'µs/req', pick: cpu, seraph: ['h2-mix', 'seraph'], reference: ['h2-mix', compat], against: 'bare http2 compat floor' }),
    row({ id: 'h2-rss-compat', what: 'RSS after the HTTP/2 small page run, main + workers', limit: 1.0, unit: 'MiB', pick: totalRss, seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', compat], against: 'bare http2 compat floor' })
  ]
}

const one = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })

/**
 * @param {Http2TargetRow[]} rows
 * @returns {string}
 */
export function formatHttp2Targets (rows) {
  const cells = rows.map((t) => [
    `${t.what}: ${t.target} ${t.against}`,
    t.seraph === null ? '–' : `${one.format(t.seraph)} ${t.unit}`,
    t.reference === null ? '–' : `${one.format(t.reference)} ${t.unit}`,
    t.ratio === null ? '–' : `${t.ratio.toFixed(2)}×`,
    t.met === null ? '–' : t.met ? 'yes' : 'no'
  ])
  return ['HTTP/2 targets of issue 14 (ratios in this run)',
    formatTable(['target', 'seraph', 'compared with', 'ratio', 'met?'], cells, [false, true, true, true, false]), ''].join('\n')
}
