// @ts-check
/**
 * The bench's phases for one contender: the probe (does it serve every file,
 * does TLS resumption work) and one measured run with its CPU, RSS and the
 * machine's other load; run.mjs puts them together.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { httpsGet } from './client.mjs'
import { childCpuShares, childCpuTicks, machineBusyTicks, processTree, treeCpuTicks, treeRss } from './cpu.mjs'
import { runLoad } from './load.mjs'
import { probeResumption } from './tls-probe.mjs'

/**
 * @typedef {import('./contenders.mjs').Contender} Contender
 * @typedef {import('./contenders.mjs').BenchContext} BenchContext
 * @typedef {import('./report.mjs').RunRecord} RunRecord
 * @typedef {import('./report.mjs').ProbeRow} ProbeRow
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 */

/**
 * Every path the scenarios request answers 200 with the file's full size.
 * @param {number} port
 * @param {BenchContext} ctx
 * @param {Scenario[]} scenarios
 */
async function checkContent (port, ctx, scenarios) {
  const paths = [...new Set(scenarios.flatMap((s) => s.paths))]
  for (const path of paths) {
    const response = await httpsGet(port, path, ctx.ca)
    const size = statSync(join(ctx.root, path)).size
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`)
    if (response.bytes !== size) throw new Error(`GET ${path} sent ${response.bytes} bytes, the file has ${size}`)
  }
}

/**
 * Starts each contender once: checks it serves the files, probes TLS
 * resumption. A contender that fails here is left out of the runs.
 * @param {Contender[]} contenders
 * @param {BenchContext} ctx
 * @param {Scenario[]} scenarios
 * @returns {Promise<{ probes: ProbeRow[], failed: Map<string, string> }>}
 */
export async function probePhase (contenders, ctx, scenarios) {
  /** @type {ProbeRow[]} */
  const probes = []
  /** @type {Map<string, string>} */
  const failed = new Map()
  for (const contender of contenders) {
    /** @type {import('./contenders.mjs').Running | undefined} */
    let running
    try {
      running = await contender.start(ctx)
      await checkContent(running.port, ctx, scenarios)
      const tickets = await probeResumption({ port: running.port, ca: ctx.ca, mode: 'tickets' })
      const sessionIds = await probeResumption({ port: running.port, ca: ctx.ca, mode: 'session-ids' })
      probes.push({ contender: contender.id, label: contender.label, tickets, sessionIds, error: undefined })
      progress(`probe ${contender.label}: content ok; TLS resumption with tickets ${tickets.resumed}/${tickets.total} (${tickets.protocol}), session IDs ${sessionIds.resumed}/${sessionIds.total}`)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      failed.set(contender.id, message)
      probes.push({ contender: contender.id, label: contender.label, tickets: undefined, sessionIds: undefined, error: message })
      progress(`probe ${contender.label}: FAILED: ${message}`)
    } finally {
      await running?.stop()
    }
  }
  return { probes, failed }
}

/** @param {string} line */
export function progress (line) {
  process.stderr.write(`${line}\n`)
}

/**
 * One measured run: start, warm up, measure (CPU before/after), stop.
 * @param {Contender} contender
 * @param {Scenario} scenario
 * @param {number} rep
 * @param {BenchContext} ctx
 * @param {{ durationSec: number, warmupSec: number, ticksPerSec: number }} settings
 * @returns {Promise<RunRecord>}
 */
export async function measure (contender, scenario, rep, ctx, settings) {
  const running = await contender.start(ctx)
  try {
    await runLoad({ port: running.port, scenario, durationSec: settings.warmupSec })
    const countsBefore = await running.counters()
    const busyBefore = machineBusyTicks()
    const treeBefore = processTree(running.pid)
    const ticksBefore = treeCpuTicks(running.pid, treeBefore)
    const childrenBefore = childCpuTicks(running.pid, treeBefore)
    const clientBefore = process.cpuUsage()
    const load = await runLoad({ port: running.port, scenario, durationSec: settings.durationSec })
    const client = process.cpuUsage(clientBefore)
    const treeAfter = processTree(running.pid)
    const ticksAfter = treeCpuTicks(running.pid, treeAfter)
    const childrenAfter = childCpuTicks(running.pid, treeAfter)
    const busyAfter = machineBusyTicks()
    const countsAfter = await running.counters()
    const rssMiB = treeRss(running.pid)
    const cpuSeconds = (ticksAfter.total - ticksBefore.total) / settings.ticksPerSec
    const mainCpuSeconds = (ticksAfter.main - ticksBefore.main) / settings.ticksPerSec
    const clientSeconds = (client.user + client.system) / 1e6 + (load.generatorCpuSeconds ?? 0)
    const otherSeconds = Math.max(0, (busyAfter - busyBefore) / settings.ticksPerSec - cpuSeconds - clientSeconds)
    return {
      scenario: scenario.id,
      contender: contender.id,
      rep,
      load,
      cpuSeconds,
      mainCpuShare: cpuSeconds > 0 ? mainCpuSeconds / cpuSeconds : 0,
      workerCpuShares: childCpuShares(childrenBefore, childrenAfter),
      cpuUsPerRequest: load.requests > 0 ? (cpuSeconds * 1e6) / load.requests : 0,
      serverCores: cpuSeconds / load.durationSec,
      clientCores: clientSeconds / load.durationSec,
      otherCores: otherSeconds / load.durationSec,
      attempts: 1,
      rssMiB,
      serverCounts: countsBefore === undefined || countsAfter === undefined
        ? undefined
        : { connections: countsAfter.connections - countsBefore.connections, responses: countsAfter.responses - countsBefore.responses }
    }
  } finally {
    await running.stop()
  }
}

/**
 * Waits, within what is left of `budget.ms`, until the other processes on the
 * machine use less than a quarter of a core, so that a test suite or build
 * running beside the bench does not land in a measurement.
 * @param {{ ms: number, waitedMs: number }} budget
 * @param {number} ticksPerSec
 */
export async function waitForQuiet (budget, ticksPerSec) {
  let announced = false
  while (true) {
    const before = machineBusyTicks()
    await sleep(300)
    const cores = (machineBusyTicks() - before) / ticksPerSec / 0.3
    if (cores < 0.25) return
    if (budget.waitedMs >= budget.ms) {
      if (!announced) progress(`  machine busy (${cores.toFixed(2)} cores used by other processes), no waiting time left: measuring anyway`)
      return
    }
    if (!announced) progress(`  machine busy (${cores.toFixed(2)} cores used by other processes): waiting for it to calm down`)
    announced = true
    budget.waitedMs += 300
  }
}
