// @ts-check
/**
 * The performance issue's targets and the floor ratios, read from one run's
 * summary (report.mjs prints them).
 */

/**
 * @typedef {import('./report.mjs').SummaryRow} SummaryRow
 * @typedef {import('./report.mjs').ProbeRow} ProbeRow
 * @typedef {import('./report.mjs').TargetRow} TargetRow
 * @typedef {import('./report.mjs').FloorRatio} FloorRatio
 */

/** The load generator at this many cores or more was the limit of a run. */
export const generatorBoundCores = 0.9

/** The contender the targets are about, the one they are measured against, the floor. */
const targetIds = { seraph: 'seraph', nginx: 'nginx', floor: 'bare-https', floorWithHeaders: 'bare-https-headers' }
/** The floors, in the order their ratios are printed. */
const floorIds = ['bare-https', 'bare-https-rr', 'bare-https-headers']
/**
 * The targets of the performance issue, read from this run (seraph with N
 * workers against nginx). A row whose scenario or contender did not run has
 * null values.
 * @param {SummaryRow[]} summary
 * @param {ProbeRow[]} probes
 * @returns {TargetRow[]}
 */
export function targetRows (summary, probes) {
  const find = (/** @type {string} */ scenario, /** @type {string} */ contender) =>
    summary.find((r) => r.scenario === scenario && r.contender === contender)
  const ratio = (/** @type {number | null} */ a, /** @type {number | null} */ b) => a === null || b === null || b === 0 ? null : a / b
  /**
   * @param {{ id: string, what: string, scenario: string, unit: 'µs/req' | 'req/s' | 'MB/s',
   *   pick: (r: SummaryRow) => number, limit: number, atMost: boolean }} spec
   * @returns {TargetRow}
   */
  const measured = (spec) => {
    const rows = { seraph: find(spec.scenario, targetIds.seraph), nginx: find(spec.scenario, targetIds.nginx), floor: find(spec.scenario, targetIds.floor) }
    const seraph = rows.seraph === undefined ? null : spec.pick(rows.seraph)
    const nginx = rows.nginx === undefined ? null : spec.pick(rows.nginx)
    const floor = rows.floor === undefined ? null : spec.pick(rows.floor)
    const withHeadersRow = find(spec.scenario, targetIds.floorWithHeaders)
    const floorWithHeaders = withHeadersRow === undefined ? null : spec.pick(withHeadersRow)
    const r = ratio(seraph, nginx)
    const throughput = spec.unit !== 'µs/req'
    return {
      id: spec.id,
      what: spec.what,
      target: `${spec.atMost ? '≤' : '≥'} ${spec.limit}×`,
      scenario: spec.scenario,
      unit: spec.unit,
      seraph,
      nginx,
      ratio: r,
      floor,
      floorRatio: ratio(floor, nginx),
      floorWithHeaders,
      floorWithHeadersRatio: ratio(floorWithHeaders, nginx),
      probeTotal: null,
      met: r === null ? null : spec.atMost ? r <= spec.limit : r >= spec.limit,
      generatorBound: throughput
        ? [rows.seraph, rows.nginx].filter((row) => row !== undefined && row.clientCores >= generatorBoundCores).map((row) => row?.contender ?? '')
        : []
    }
  }
  const probeOf = (/** @type {string} */ contender) => probes.find((p) => p.contender === contender)?.sessionIds
  const seraphProbe = probeOf(targetIds.seraph)
  const nginxProbe = probeOf(targetIds.nginx)
  const floorProbe = probeOf(targetIds.floor)
  return [
    measured({ id: 'small-page-cpu', what: 'small page, server CPU per request', scenario: 'small-page', unit: 'µs/req', pick: (r) => r.cpuUsPerRequest, limit: 1.5, atMost: true }),
    measured({ id: 'small-page-rps', what: 'small page, req/s', scenario: 'small-page', unit: 'req/s', pick: (r) => r.reqPerSec, limit: 0.75, atMost: false }),
    // One request per connection: CPU per request is CPU per connection.
    measured({ id: 'new-tls-cpu', what: 'new TLS connection per request, server CPU per connection', scenario: 'new-tls-per-request', unit: 'µs/req', pick: (r) => r.cpuUsPerRequest, limit: 1.3, atMost: true }),
    measured({ id: 'large-file-mbps', what: 'large file, MB/s', scenario: 'large-file', unit: 'MB/s', pick: (r) => r.mbPerSec, limit: 0.8, atMost: false }),
    // Issue 31: seraph's large file at least 0.95× nginx's MB/s.
    measured({ id: 'large-file-mbps-i31', what: 'issue 31: large file, MB/s', scenario: 'large-file', unit: 'MB/s', pick: (r) => r.mbPerSec, limit: 0.95, atMost: false }),
    {
      id: 'session-id-resumption',
      what: 'TLS 1.2 session-ID resumption (client without tickets)',
      target: 'all but the first',
      scenario: 'probe',
      unit: 'resumed',
      seraph: seraphProbe?.resumed ?? null,
      nginx: nginxProbe?.resumed ?? null,
      ratio: null,
      floor: floorProbe?.resumed ?? null,
      floorRatio: null,
      floorWithHeaders: null,
      floorWithHeadersRatio: null,
      probeTotal: seraphProbe?.total ?? null,
      // The first connection has no session to offer: total - 1 is the best.
      met: seraphProbe === undefined ? null : seraphProbe.resumed >= seraphProbe.total - 1,
      generatorBound: []
    }
  ]
}

/**
 * seraph (N workers) against each bare https floor that ran, per scenario.
 * @param {SummaryRow[]} summary
 * @returns {FloorRatio[]}
 */
export function floorRatios (summary) {
  /** @type {FloorRatio[]} */
  const out = []
  for (const seraph of summary.filter((r) => r.contender === targetIds.seraph)) {
    for (const floorId of floorIds) {
      const floor = summary.find((r) => r.scenario === seraph.scenario && r.contender === floorId)
      if (floor === undefined || floor.cpuUsPerRequest <= 0 || floor.reqPerSec <= 0) continue
      out.push({
        scenario: seraph.scenario,
        floor: floorId,
        seraphCpuUsPerRequest: seraph.cpuUsPerRequest,
        floorCpuUsPerRequest: floor.cpuUsPerRequest,
        cpuRatio: seraph.cpuUsPerRequest / floor.cpuUsPerRequest,
        reqPerSecRatio: seraph.reqPerSec / floor.reqPerSec
      })
    }
  }
  return out
}
