// @ts-check
/**
 * Interleaved slices: several servers, all running at once, loaded in turn
 * for short slices, the order reversed every round; each one's CPU is summed
 * over its slices. A drift of the machine (another tenant of the VM waking
 * up) then hits every server alike, so ratios between them hold to a few
 * percent where separate runs a minute apart differ by 10-40 %. Used by
 * `npm run bench:ab` and by the paired targets of `npm run bench`.
 */
import { treeCpuTicks } from './cpu.mjs'
import { runLoad } from './load.mjs'
import { median } from './report.mjs'

/**
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 *
 * @typedef {object} SliceUnit one server under one scenario's load
 * @property {number} pid the server's process (its whole tree is counted)
 * @property {number} port
 * @property {Scenario} scenario
 *
 * @typedef {object} SliceTotals
 * @property {number} ticks CPU clock ticks of the server's tree, over its slices
 * @property {number} requests responses, over its slices
 * @property {number[]} perRound ticks per request in each round
 */

/**
 * Loads each unit for `sliceSec` per round, `rounds` times, after one
 * second of warm-up each; returns the totals in the units' order. With
 * `warmupSec`, every slice follows that much unmeasured load of its own
 * instead, so that a server which idled while the others were loaded is
 * measured warm.
 * @param {SliceUnit[]} units
 * @param {{ rounds: number, sliceSec: number, warmupSec?: number, onRound?: (round: number) => void }} settings
 * @returns {Promise<SliceTotals[]>}
 */
export async function runSlices (units, settings) {
  const totals = units.map(() => ({ ticks: 0, requests: 0, perRound: /** @type {number[]} */ ([]) }))
  const warmupSec = settings.warmupSec ?? 0
  // The warm-up before every slice also warms the first one.
  if (warmupSec === 0) for (const unit of units) await runLoad({ port: unit.port, scenario: unit.scenario, durationSec: 1 })
  const indexes = units.map((_, i) => i)
  for (let round = 0; round < settings.rounds; round++) {
    for (const i of round % 2 === 0 ? indexes : [...indexes].reverse()) {
      const unit = /** @type {SliceUnit} */ (units[i])
      const total = /** @type {SliceTotals} */ (totals[i])
      if (warmupSec > 0) await runLoad({ port: unit.port, scenario: unit.scenario, durationSec: warmupSec })
      const before = treeCpuTicks(unit.pid).total
      const load = await runLoad({ port: unit.port, scenario: unit.scenario, durationSec: settings.sliceSec })
      const ticks = treeCpuTicks(unit.pid).total - before
      total.ticks += ticks
      total.requests += load.requests
      total.perRound.push(load.requests > 0 ? ticks / load.requests : Number.NaN)
    }
    settings.onRound?.(round + 1)
  }
  return totals
}

/**
 * CPU µs per request over all slices.
 * @param {SliceTotals} totals
 * @param {number} ticksPerSec
 */
export function usPerRequest (totals, ticksPerSec) {
  return totals.requests > 0 ? (totals.ticks / ticksPerSec) * 1e6 / totals.requests : Number.NaN
}

/**
 * `a` against `b`: the ratio of their summed CPU per request, and the
 * median and quartiles of the per-round ratios (how steady it was).
 * @param {SliceTotals} a
 * @param {SliceTotals} b
 */
export function sliceRatio (a, b) {
  const perRound = a.perRound.map((value, i) => value / (b.perRound[i] ?? Number.NaN)).filter(Number.isFinite).sort((x, y) => x - y)
  // Quartiles with linear interpolation between the sorted ratios.
  const at = (/** @type {number} */ q) => {
    if (perRound.length === 0) return Number.NaN
    const position = q * (perRound.length - 1)
    const below = /** @type {number} */ (perRound[Math.floor(position)])
    const above = /** @type {number} */ (perRound[Math.ceil(position)])
    return below + (above - below) * (position - Math.floor(position))
  }
  return {
    ratio: a.requests > 0 && b.requests > 0 && b.ticks > 0 ? (a.ticks / a.requests) / (b.ticks / b.requests) : Number.NaN,
    median: median(perRound),
    low: at(0.25),
    high: at(0.75)
  }
}
