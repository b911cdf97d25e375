// @ts-check
/**
 * The targets of issue 14, read from one run's medians: seraph against Node's
 * own HTTP/2 floors (bare-https-floor.mjs with BARE_HTTP2), against its own
 * HTTP/1.1, against the HTTP/1.1 floors (keep-alive with seraph's headers,
 * new TLS connections with N workers) and their memory; plus, for reading,
 * what N workers cost per new connection against 1, for seraph and for the
 * floor (no target: the issue asks why). Ratios in one run are what count:
 * the machine may be shared, absolute numbers move between runs. The CPU
 * rows are also measured in interleaved slices after the scenarios
 * (`pairedUnits`, slices.mjs), and judged on that ratio where it ran: the
 * medians of runs a minute apart differ by 10-40 % on a shared VM.
 */
import { sliceRatio } from './slices.mjs'
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
 * @property {{ ratio: number, median: number, low: number, high: number } | null} paired
 *   the CPU ratio from the interleaved slices (median and quartiles of the
 *   per-round ratios beside it), null where they did not run
 * @property {boolean | null} met null when either side did not run or there is no target
 *
 * @typedef {object} TargetSpec
 * @property {string} id
 * @property {string} what
 * @property {number | null} limit
 * @property {string} unit
 * @property {'cpu' | 'rss'} measure
 * @property {[string, string]} seraph [scenario, contender]
 * @property {[string, string]} reference [scenario, contender]
 * @property {string} against
 */

/** @param {SummaryRow} r */
const cpu = (r) => r.cpuUsPerRequest
/** @param {SummaryRow} r */
const totalRss = (r) => r.rssMiB.main + r.rssMiB.workers.reduce((sum, w) => sum + w, 0)

const compat = 'bare-h2-compat'
const stream = 'bare-h2-stream'

/** @type {TargetSpec[]} */
const specs = [
  { id: 'h2-small-page-cpu-compat', what: 'HTTP/2 small page, server CPU per request', limit: 1.0, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', compat], against: 'bare http2 compat floor' },
  { id: 'h2-small-page-cpu-stream', what: 'HTTP/2 small page, server CPU per request', limit: 1.3, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', stream], against: 'bare http2 stream-API floor' },
  { id: 'h2-vs-h1-cpu', what: 'small page, seraph\'s HTTP/2 CPU per request vs its HTTP/1.1', limit: 1.0, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph'], reference: ['small-page', 'seraph'], against: 'seraph over HTTP/1.1 keep-alive' },
  { id: 'h2-mix-cpu-compat', what: 'HTTP/2 mix, server CPU per request', limit: 1.0, unit: 'µs/req', measure: 'cpu', seraph: ['h2-mix', 'seraph'], reference: ['h2-mix', compat], against: 'bare http2 compat floor' },
  { id: 'h2-rss-compat', what: 'RSS after the HTTP/2 small page run, main + workers', limit: 1.0, unit: 'MiB', measure: 'rss', seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', compat], against: 'bare http2 compat floor' },
  { id: 'h1-rss-floor', what: 'RSS after the HTTP/1.1 small page run, main + workers', limit: 1.0, unit: 'MiB', measure: 'rss', seraph: ['small-page', 'seraph'], reference: ['small-page', 'bare-https-headers'], against: 'bare https floor with seraph\'s headers' },
  { id: 'h1-small-page-cpu-headers', what: 'HTTP/1.1 keep-alive small page, server CPU per request', limit: 1.3, unit: 'µs/req', measure: 'cpu', seraph: ['small-page', 'seraph'], reference: ['small-page', 'bare-https-headers'], against: 'bare https floor with seraph\'s headers' },
  // Issue 29: the most rules seraph takes cost a cached page at most 5 %.
  { id: 'rules-small-page-cpu', what: 'small page with 2,000 + 100 redirect rules and 100 header blocks, server CPU per request', limit: 1.05, unit: 'µs/req', measure: 'cpu', seraph: ['small-page', 'seraph-rules'], reference: ['small-page', 'seraph'], against: 'seraph without rules files' },
  { id: 'rules-h2-small-page-cpu', what: 'HTTP/2 small page with 2,000 + 100 redirect rules and 100 header blocks, server CPU per request', limit: 1.05, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph-rules'], reference: ['h2-small-page', 'seraph'], against: 'seraph without rules files' },
  { id: 'new-tls-cpu-floor', what: 'full TLS handshake per request, N workers, server CPU per connection', limit: 1.1, unit: 'µs/req', measure: 'cpu', seraph: ['new-tls-per-request', 'seraph'], reference: ['new-tls-per-request', 'bare-https'], against: 'bare https floor, N workers' },
  { id: 'h2-small-page-cpu-stream-headers', what: 'HTTP/2 small page, server CPU per request (to read)', limit: null, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', 'bare-h2-stream-headers'], against: 'bare http2 stream-API floor with seraph\'s headers' },
  { id: 'h2-small-page-cpu-compat-headers', what: 'HTTP/2 small page, server CPU per request (to read)', limit: null, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', 'bare-h2-compat-headers'], against: 'bare http2 compat floor with seraph\'s headers' },
  // Issue 31: against the plain compat floor (http2.createSecureServer({ allowHTTP1 }),
  // compat 'request' handler, 2 headers), the server a seraph worker is, in every scenario.
  { id: 'i31-new-tls', what: 'issue 31: new connection per request (full TLS handshake + GET), server CPU per connection', limit: 1.05, unit: 'µs/req', measure: 'cpu', seraph: ['new-tls-per-request', 'seraph'], reference: ['new-tls-per-request', compat], against: 'plain compat floor' },
  { id: 'i31-h2-small-page', what: 'issue 31: HTTP/2 small page, server CPU per request', limit: 1.1, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', compat], against: 'plain compat floor' },
  { id: 'i31-h2-small-page-headers', what: 'issue 31: HTTP/2 small page, server CPU per request', limit: 1.0, unit: 'µs/req', measure: 'cpu', seraph: ['h2-small-page', 'seraph'], reference: ['h2-small-page', 'bare-h2-compat-headers'], against: 'compat floor with seraph\'s headers' },
  { id: 'i31-small-page', what: 'issue 31: HTTP/1.1 keep-alive small page, server CPU per request', limit: 1.25, unit: 'µs/req', measure: 'cpu', seraph: ['small-page', 'seraph'], reference: ['small-page', compat], against: 'plain compat floor' },
  { id: 'i31-mix', what: 'issue 31: HTTP/1.1 keep-alive mix, server CPU per request', limit: 1.25, unit: 'µs/req', measure: 'cpu', seraph: ['mix', 'seraph'], reference: ['mix', compat], against: 'plain compat floor' },
  { id: 'i31-rss', what: 'issue 31: RSS after the HTTP/1.1 small page run, main + workers', limit: 1.15, unit: 'MiB', measure: 'rss', seraph: ['small-page', 'seraph'], reference: ['small-page', compat], against: 'plain compat floor' },
  { id: 'new-tls-seraph-n-vs-1', what: 'full TLS handshake, seraph N workers vs 1 (to read)', limit: null, unit: 'µs/req', measure: 'cpu', seraph: ['new-tls-per-request', 'seraph'], reference: ['new-tls-per-request', 'seraph-1'], against: 'seraph, 1 worker' },
  { id: 'new-tls-floor-n-vs-1', what: 'full TLS handshake, floor N workers vs 1 (to read)', limit: null, unit: 'µs/req', measure: 'cpu', seraph: ['new-tls-per-request', 'bare-https'], reference: ['new-tls-per-request', 'bare-https-1'], against: 'bare https floor, 1 worker' }
]

/** @param {string} scenario @param {string} contender */
export const unitKey = (scenario, contender) => `${scenario}/${contender}`

/**
 * The (scenario, contender) pairs the CPU rows compare, each once, for the
 * interleaved slices; only rows whose two sides can both run.
 * @param {(scenario: string, contender: string) => boolean} available
 * @returns {{ scenario: string, contender: string }[]}
 */
export function pairedUnits (available) {
  /** @type {Map<string, { scenario: string, contender: string }>} */
  const units = new Map()
  for (const spec of specs) {
    if (spec.measure !== 'cpu' || !available(...spec.seraph) || !available(...spec.reference)) continue
    for (const [scenario, contender] of [spec.seraph, spec.reference]) units.set(unitKey(scenario, contender), { scenario, contender })
  }
  return [...units.values()]
}

const pickers = { cpu, rss: totalRss }

/**
 * @param {SummaryRow[]} summary
 * @param {Map<string, import('./slices.mjs').SliceTotals>} [paired] the slices' totals by unitKey
 * @returns {Http2TargetRow[]}
 */
export function http2TargetRows (summary, paired = new Map()) {
  const find = (/** @type {string} */ scenario, /** @type {string} */ contender) =>
    summary.find((r) => r.scenario === scenario && r.contender === contender)
  return specs.map((spec) => {
    const mine = find(...spec.seraph)
    const theirs = find(...spec.reference)
    const pick = pickers[spec.measure]
    const seraph = mine === undefined ? null : pick(mine)
    const reference = theirs === undefined ? null : pick(theirs)
    const ratio = seraph === null || reference === null || reference === 0 ? null : seraph / reference
    const a = paired.get(unitKey(...spec.seraph))
    const b = paired.get(unitKey(...spec.reference))
    const slices = spec.measure === 'cpu' && a !== undefined && b !== undefined ? sliceRatio(a, b) : null
    const judged = slices !== null && Number.isFinite(slices.ratio) ? slices.ratio : ratio
    return {
      id: spec.id,
      what: spec.what,
      target: spec.limit === null ? '–' : `≤ ${spec.limit}×`,
      against: spec.against,
      unit: spec.unit,
      seraph,
      reference,
      ratio,
      paired: slices,
      met: judged === null || spec.limit === null ? null : judged <= spec.limit
    }
  })
}

const one = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })

/**
 * @param {Http2TargetRow[]} rows
 * @param {string} slices what the interleaved slices were, e.g. `12 rounds of 1 s`; '' when they did not run
 * @returns {string}
 */
export function formatHttp2Targets (rows, slices = '') {
  const cells = rows.map((t) => [
    t.met === null && t.target === '–' ? `${t.what}: against ${t.against}` : `${t.what}: ${t.target} ${t.against}`,
    t.seraph === null ? '–' : `${one.format(t.seraph)} ${t.unit}`,
    t.reference === null ? '–' : `${one.format(t.reference)} ${t.unit}`,
    t.ratio === null ? '–' : `${t.ratio.toFixed(2)}×`,
    t.paired === null ? '–' : `${t.paired.ratio.toFixed(2)}× (${t.paired.low.toFixed(2)}-${t.paired.high.toFixed(2)})`,
    t.met === null ? '–' : t.met ? 'yes' : 'no'
  ])
  const how = slices === ''
    ? 'the interleaved slices did not run: "met?" reads the ratio of the medians'
    : `"interleaved": the servers of a scenario running at once, loaded in turn, ${slices}, CPU summed (in brackets the quartiles of the per-round ratios; seraph's HTTP/2 against its HTTP/1.1 compares two scenarios measured one after the other); "met?" reads it where it ran`
  return ['Targets of issues 14 and 31 (ratios in this run; the rows "to read" have no target: against the HTTP/2 floors that send seraph\'s headers, and N workers against 1 for a new TLS connection)',
    `  ${how}`,
    formatTable(['target', 'seraph (median)', 'compared with (median)', 'ratio of medians', 'interleaved', 'met?'], cells, [false, true, true, true, true, false]), ''].join('\n')
}
