// @ts-check
/**
 * Turns the runs into medians, prints the tables, writes the JSON and SVG.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderChart } from './svg.mjs'
import { formatTable } from './table.mjs'

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
 * @property {number} cpuUsPerRequest
 * @property {number} serverCores cpuSeconds / run duration
 * @property {number} clientCores CPU of this process (the load generator) / run duration
 * @property {number} otherCores CPU of every other process on the machine / run duration
 * @property {number} attempts how often it was measured (see disturbedCores in run.mjs)
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
    `${row.serverCores.toFixed(2)} + ${row.clientCores.toFixed(2)} + ${row.otherCores.toFixed(2)}`,
    `${row.errors}/${row.non2xx}`,
    `${Math.round(row.rssMiB.main)} | ${row.rssMiB.workers.map((w) => Math.round(w)).join(' ')}`,
    `${int.format(row.tlsConnections)} (${row.tlsResumed}) / ${server}`
  ]
}

const scenarioHeaders = [
  'contender', 'req/s (median)', 'ratio to seraph', 'MB/s', 'p50/p99 ms', 'server CPU µs/req',
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
 *   reps: number
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
    out.push(`  ${scenario.explains}; ${scenario.connections} connections, median of ${report.reps} run(s)` +
      `${scenario.reconnect ? '; responses counted by the bench hook (autocannon 9 counts none with reconnectRate 1)' : ''}`)
    out.push(formatTable(scenarioHeaders, rows.map(scenarioCells)))
    if (scenario.reconnect) out.push(handshakeNote(rows, report.probes))
    out.push('')
  }
  return out.join('\n')
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

/**
 * Writes `<dir>/<stamp>.json` and `<dir>/<stamp>.svg`.
 * @param {string} dir
 * @param {string} stamp
 * @param {Record<string, unknown> & { summary: SummaryRow[], scenarios: Scenario[], title: string, subtitle: string }} data
 * @returns {Promise<{ json: string, svg: string }>}
 */
export async function writeResults (dir, stamp, data) {
  await mkdir(dir, { recursive: true })
  const json = join(dir, `${stamp}.json`)
  const svg = join(dir, `${stamp}.svg`)
  await writeFile(json, JSON.stringify(data, null, 2) + '\n')
  await writeFile(svg, renderChart({ title: data.title, subtitle: data.subtitle, scenarios: data.scenarios, summary: data.summary }))
  return { json, svg }
}
