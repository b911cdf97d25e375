// @ts-check
/**
 * Turns the runs into medians, prints the tables, writes the JSON and SVG.
 */
import { formatTable } from './table.mjs'
import { generatorBoundCores } from './targets.mjs'

/**
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 * @typedef {import('./tls-probe.mjs').ProbeResult} ProbeResult
 *
 * @typedef {object} RunRecord one measured run
 * @property {string} scenario
 * @property {string} contender
 * @property {number} rep 1-based
 * @property {import('./load.mjs').LoadResult} load
 * @property {number} cpuSeconds CPU of the server's process tree during the run
 * @property {number} mainCpuShare the part of it used by the process we started (primary, master)
 * @property {number[]} workerCpuShares each child's (worker's) share of the CPU all the children used
 *   during the run, sorted descending: how evenly the connections were spread
 * @property {number} cpuUsPerRequest
 * @property {number} serverCores cpuSeconds / run duration
 * @property {number} clientCores CPU of this process (the load generator) / run duration
 * @property {number} otherCores CPU of every other process on the machine / run duration
 * @property {number} attempts how often it was measured (see disturbedCores in run.mjs)
 * @property {string} [node] the Node (process.version) the run's servers and load generator ran on (run.mjs --node)
 * @property {{ main: number, workers: number[] }} rssMiB after the run
 * @property {{ connections: number, responses: number } | undefined} serverCounts seraph's own counts during the run
 *
 * @typedef {object} SummaryRow medians over the repetitions of one scenario and contender
 * @property {string} scenario
 * @property {string} contender
 * @property {string} label
 * @property {number} reps
 * @property {number} reqPerSec
 * @property {number | undefined} ratioToSeraph
 * @property {number} mbPerSec
 * @property {number} p50Ms
 * @property {number} p99Ms
 * @property {number} cpuUsPerRequest
 * @property {number} mainCpuShare
 * @property {number[]} workerCpuShares of the median run
 * @property {number} serverCores
 * @property {number} clientCores
 * @property {number} otherCores
 * @property {number} errors summed over the repetitions
 * @property {number} non2xx summed over the repetitions
 * @property {{ main: number, workers: number[] }} rssMiB of the median run (by req/s)
 * @property {number} tlsConnections of the median run
 * @property {number} tlsResumed of the median run
 * @property {number | undefined} serverConnections of the median run, counted by seraph
 *
 * @typedef {object} ProbeRow
 * @property {string} contender
 * @property {string} label
 * @property {ProbeResult | undefined} tickets
 * @property {ProbeResult | undefined} sessionIds
 * @property {string | undefined} error
 *
 * @typedef {object} TargetRow one target of the performance issue, seraph (N workers) against nginx
 * @property {string} id
 * @property {string} what
 * @property {string} target e.g. '≤ 1.5×'
 * @property {string} scenario the scenario it is read from, or 'probe'
 * @property {'µs/req' | 'req/s' | 'MB/s' | 'resumed'} unit
 * @property {number | null} seraph
 * @property {number | null} nginx
 * @property {number | null} ratio seraph / nginx
 * @property {number | null} floor the bare https floor (shared socket)
 * @property {number | null} floorRatio floor / nginx
 * @property {number | null} floorWithHeaders the bare https floor sending seraph's response headers
 * @property {number | null} floorWithHeadersRatio floorWithHeaders / nginx
 * @property {number | null} probeTotal connections of the probe (resumption row)
 * @property {boolean | null} met null when seraph or nginx did not run
 * @property {string[]} generatorBound contenders (seraph, nginx) whose run had the load generator at
 *   ≥ 0.9 cores: for req/s and MB/s that is the generator's limit, not the server's
 *
 * @typedef {object} FloorRatio seraph (N workers) against a bare https floor, per scenario
 * @property {string} scenario
 * @property {string} floor the floor's contender id
 * @property {number} seraphCpuUsPerRequest
 * @property {number} floorCpuUsPerRequest
 * @property {number} cpuRatio seraph / floor
 * @property {number} reqPerSecRatio seraph / floor
 */

/** @param {number[]} values */
export function median (values) {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] ?? 0 : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/**
 * @param {RunRecord[]} runs
 * @param {Scenario[]} scenarios
 * @param {{ id: string, label: string }[]} contenders
 * @param {string} referenceId the contender ratios are relative to
 * @returns {SummaryRow[]}
 */
export function summarize (runs, scenarios, contenders, referenceId) {
  /** @type {SummaryRow[]} */
  const rows = []
  for (const scenario of scenarios) {
    for (const contender of contenders) {
      const mine = runs.filter((r) => r.scenario === scenario.id && r.contender === contender.id)
      if (mine.length === 0) continue
      const pick = (/** @type {(r: RunRecord) => number} */ f) => median(mine.map(f))
      const reqPerSec = pick((r) => r.load.reqPerSec)
      const medianRun = [...mine].sort((a, b) => Math.abs(a.load.reqPerSec - reqPerSec) - Math.abs(b.load.reqPerSec - reqPerSec))[0] ?? mine[0]
      if (medianRun === undefined) continue
      rows.push({
        scenario: scenario.id,
        contender: contender.id,
        label: contender.label,
        reps: mine.length,
        reqPerSec,
        ratioToSeraph: undefined,
        mbPerSec: pick((r) => r.load.mbPerSec),
        p50Ms: pick((r) => r.load.p50Ms),
        p99Ms: pick((r) => r.load.p99Ms),
        cpuUsPerRequest: pick((r) => r.cpuUsPerRequest),
        mainCpuShare: pick((r) => r.mainCpuShare),
        workerCpuShares: medianRun.workerCpuShares,
        serverCores: pick((r) => r.serverCores),
        clientCores: pick((r) => r.clientCores),
        otherCores: pick((r) => r.otherCores),
        errors: mine.reduce((sum, r) => sum + r.load.errors, 0),
        non2xx: mine.reduce((sum, r) => sum + r.load.non2xx, 0),
        rssMiB: medianRun.rssMiB,
        tlsConnections: medianRun.load.tlsConnections,
        tlsResumed: medianRun.load.tlsResumed,
        serverConnections: medianRun.serverCounts?.connections
      })
    }
    const reference = rows.find((r) => r.scenario === scenario.id && r.contender === referenceId)
    for (const row of rows) {
      if (row.scenario === scenario.id && reference !== undefined && reference.reqPerSec > 0) {
        row.ratioToSeraph = row.reqPerSec / reference.reqPerSec
      }
    }
  }
  return rows
}

/** @type {Record<string, string>} */
const floorModels = { 'bare-https': 'shared socket', 'bare-https-rr': 'round-robin', 'bare-https-headers': 'shared socket, seraph\'s headers' }

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
/** @param {number} n */
const fixed1 = (n) => n.toFixed(1)
/** @param {number} n */
const ms = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(1))

/**
 * @param {SummaryRow} row
 * @returns {string[]}
 */
function scenarioCells (row) {
  const server = row.serverConnections === undefined ? '–' : int.format(row.serverConnections)
  return [
    row.label,
    int.format(row.reqPerSec),
    row.ratioToSeraph === undefined ? '–' : `${row.ratioToSeraph.toFixed(2)}×`,
    fixed1(row.mbPerSec),
    `${ms(row.p50Ms)}/${ms(row.p99Ms)}`,
    `${int.format(row.cpuUsPerRequest)} (main ${Math.round(row.mainCpuShare * 100)}%)`,
    row.workerCpuShares.length === 0 ? '–' : row.workerCpuShares.map((share) => Math.round(share * 100)).join('/'),
    `${row.serverCores.toFixed(2)} + ${row.clientCores.toFixed(2)} + ${row.otherCores.toFixed(2)}`,
    `${row.errors}/${row.non2xx}`,
    `${Math.round(row.rssMiB.main)} | ${row.rssMiB.workers.map((w) => Math.round(w)).join(' ')}`,
    `${int.format(row.tlsConnections)} (${row.tlsResumed}) / ${server}`
  ]
}

const scenarioHeaders = [
  'contender', 'req/s (median)', 'ratio to seraph', 'MB/s', 'p50/p99 ms', 'server CPU µs/req', 'worker CPU split',
  'cores server+gen+other', 'errors/non-2xx', 'RSS MiB main|workers', 'TLS conns client (resumed) / server'
]

/**
 * @param {ProbeRow} row
 * @returns {string[]}
 */
function probeCells (row) {
  if (row.error !== undefined) return [row.label, `failed: ${row.error}`, '', '']
  return [
    row.label,
    row.tickets === undefined ? '–' : `resumed ${row.tickets.resumed}/${row.tickets.total}`,
    row.sessionIds === undefined ? '–' : `resumed ${row.sessionIds.resumed}/${row.sessionIds.total} (session IDs)`,
    row.tickets?.protocol ?? ''
  ]
}

/**
 * The human report, as lines for stdout.
 * @param {{
 *   header: string[],
 *   scenarios: Scenario[],
 *   summary: SummaryRow[],
 *   probes: ProbeRow[],
 *   skipped: string[],
 *   reps: number,
 *   targets: TargetRow[],
 *   floors: FloorRatio[]
 * }} report
 * @returns {string}
 */
export function formatReport (report) {
  const out = [...report.header, '']
  for (const line of report.skipped) out.push(line)
  if (report.skipped.length > 0) out.push('')

  out.push('TLS session resumption probe: 20 sequential connections per contender, each offering the session saved from the one before.')
  out.push(formatTable(['contender', 'TLS resumption (client with tickets)', 'TLS resumption (session IDs, TLS 1.2, no tickets)', 'protocol'],
    report.probes.map(probeCells)))
  out.push('')

  for (const scenario of report.scenarios) {
    const rows = report.summary.filter((r) => r.scenario === scenario.id)
    if (rows.length === 0) continue
    out.push(`Scenario ${scenario.id}: ${scenario.title}`)
    out.push(`  ${scenario.explains}; ${scenario.connections} connections, median of ${report.reps} run(s) on Node ${process.version}` +
      `${scenario.reconnect ? '; responses counted by the bench hook (autocannon 9 counts none with reconnectRate 1)' : ''}`)
    out.push(formatTable(scenarioHeaders, rows.map(scenarioCells)))
    if (scenario.reconnect) out.push(handshakeNote(rows, report.probes))
    const floors = report.floors.filter((f) => f.scenario === scenario.id)
    if (floors.length > 0) out.push(`  ${floors.map(floorNote).join('; ')}`)
    out.push('')
  }

  out.push('Targets of the performance issue (ratios to nginx in this run)')
  out.push(formatTable(['target', 'seraph', 'nginx', 'ratio', 'bare https floor / nginx', 'floor with seraph\'s headers / nginx', 'met?'],
    report.targets.map(targetCells), [false, true, true, true, true, true, false]))
  const bound = report.targets.filter((t) => t.generatorBound.length > 0)
  if (bound.length > 0) {
    out.push(`  * the load generator used ≥ ${generatorBoundCores} cores in ${bound.map((t) => `${t.what} (${t.generatorBound.join(', ')})`).join('; ')}:` +
      ' there the req/s or MB/s is the generator\'s limit, the ratio does not compare the servers.')
  }
  out.push('')
  return out.join('\n')
}

/** @param {FloorRatio} f */
function floorNote (f) {
  const model = floorModels[f.floor] ?? f.floor
  return `seraph / bare https floor (${model}): ${f.cpuRatio.toFixed(2)}× CPU per request ` +
    `(${int.format(f.seraphCpuUsPerRequest)} / ${int.format(f.floorCpuUsPerRequest)} µs), ${f.reqPerSecRatio.toFixed(2)}× req/s`
}

/**
 * @param {TargetRow} t
 * @returns {string[]}
 */
function targetCells (t) {
  const value = (/** @type {number | null} */ v) => {
    if (v === null) return '–'
    switch (t.unit) {
      case 'µs/req': return `${int.format(v)} µs`
      case 'req/s': return `${int.format(v)} req/s`
      case 'MB/s': return `${fixed1(v)} MB/s`
      case 'resumed': return `${v}/${t.probeTotal ?? 20}`
    }
    return String(v)
  }
  const times = (/** @type {number | null} */ v) => v === null ? '–' : `${v.toFixed(2)}×`
  const target = t.unit === 'resumed'
    ? `${t.what}: ${t.target} (${(t.probeTotal ?? 20) - 1}/${t.probeTotal ?? 20})`
    : `${t.what}: seraph / nginx ${t.target}`
  const floor = t.unit === 'resumed'
    ? (t.floor === null ? '–' : `resumed ${value(t.floor)}`)
    : (t.floorRatio === null ? '–' : `${times(t.floorRatio)} (${value(t.floor)})`)
  const floorWithHeaders = t.floorWithHeadersRatio === null ? '–' : `${times(t.floorWithHeadersRatio)} (${value(t.floorWithHeaders)})`
  const met = t.met === null ? '–' : `${t.met ? 'yes' : 'no'}${t.generatorBound.length > 0 ? '*' : ''}`
  return [target, value(t.seraph), value(t.nginx), times(t.ratio), floor, floorWithHeaders, met]
}

/**
 * Which handshakes the reconnect scenario really did.
 * @param {SummaryRow[]} rows
 * @param {ProbeRow[]} probes
 */
function handshakeNote (rows, probes) {
  const opened = rows.reduce((sum, r) => sum + r.tlsConnections, 0)
  const resumed = rows.reduce((sum, r) => sum + r.tlsResumed, 0)
  const kind = resumed === 0
    ? 'all FULL handshakes (autocannon offers no saved session when it reconnects)'
    : `${opened - resumed} full and ${resumed} resumed handshakes`
  const couldResume = probes.filter((p) => (p.tickets?.resumed ?? 0) > 0).map((p) => `${p.label} ${p.tickets?.resumed}/${p.tickets?.total}`)
  return `  Handshakes in the median runs: ${int.format(opened)} TLS connections opened, ${kind}.` +
    (couldResume.length > 0 ? `\n  A client that resumes would get resumed sessions from: ${couldResume.join(', ')} (probe above).` : '')
}
