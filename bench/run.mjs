#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench [-- --quick]`: starts each contender, waits until it is
 * ready, loads it with autocannon, stops it; prints one table per scenario
 * (medians, ratios to seraph) and writes bench/results/<stamp>.json and .svg.
 * See bench/README.md.
 */
import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism, cpus, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { contenderIds as allContenderIds, contenders as allContenders } from './contenders.mjs'
import { prepareContext } from './context.mjs'
import { clockTicksPerSecond } from './cpu.mjs'
import { h2loadMissing, h2loadVersion } from './h2load.mjs'
import { parseIdList, parseScriptArgs, wholeNumber } from './options.mjs'
import { formatHttp2Targets, http2TargetRows, pairedUnits, unitKey } from './http2-targets.mjs'
import { findNginx, nginxVersion } from './nginx.mjs'
import { formatReport, summarize } from './report.mjs'
import { writeResults } from './results.mjs'
import { floorRatios, targetRows } from './targets.mjs'
import { scenarios as allScenarios } from './scenarios.mjs'
import { ensureNode24, nodeChoices, nodeDescription, node24Prefix, rerunOn } from './node-choice.mjs'
import { measure, probePhase, progress, waitForQuiet } from './phases.mjs'
import { failWith, runBenchScript } from './script-lifecycle.mjs'
import { runSlices } from './slices.mjs'

/**
 * @typedef {import('./contenders.mjs').Contender} Contender
 * @typedef {import('./contenders.mjs').BenchContext} BenchContext
 * @typedef {import('./report.mjs').RunRecord} RunRecord
 * @typedef {import('./report.mjs').ProbeRow} ProbeRow
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 */

const usage = `usage: npm run bench -- [--quick] [--duration S] [--warmup S] [--reps N]
                     [--scenarios id,id] [--contenders id,id] [--paired-rounds N] [--node 24|current]
  --quick       3 scenarios, 2 s runs after a 2 s warm-up, 1 repetition, 4 paired rounds (about 4 minutes)
  default       6 scenarios, 8 s runs after a 3 s warm-up, 3 repetitions, 12 paired rounds (about 30 minutes)
  --paired-rounds  rounds of the interleaved 1 s slices that measure the targets' CPU ratios
                (one scenario at a time, its servers running at once, loaded in turn); 0 leaves them out
  scenarios:    ${allScenarios.map((s) => s.id).join(', ')}
  --node        24 (default): Node 24, npm's node@24 installed once into ${node24Prefix()}
                (as .ci/run installs it) when this is not Node 24; current: the Node running this (${process.version})
  contenders:   ${allContenderIds.join(', ')}
`

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/** @type {(message: string) => never} An annotated const, so that TypeScript narrows after a call. */
const fail = failWith('bench')

function parseOptions () {
  const values = parseScriptArgs({
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    reps: { type: 'string' },
    scenarios: { type: 'string' },
    contenders: { type: 'string' },
    'paired-rounds': { type: 'string' },
    node: { type: 'string', default: '24' }
  }, usage)
  const number = (/** @type {string | undefined} */ text, /** @type {number} */ fallback, /** @type {string} */ name) => {
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isFinite(value) || value <= 0) fail(`--${name} needs a positive number, not ${text}`)
    return value
  }
  const quick = values.quick
  const durationSec = Math.ceil(number(values.duration, quick ? 2 : 8, 'duration'))
  // V8 needs about 3 s of this load to compile a server's hot code with its
  // optimizing tiers: seraph's first second costs ~3.5× its steady CPU per
  // request, its third ~1.1× (`npm run bench:warm-up`, bench/README.md,
  // "Warm-up"). A 1 s warm-up left that in the measured run, for seraph more
  // than for the floors, which have less code to compile.
  const warmupSec = Math.ceil(number(values.warmup, quick ? 2 : 3, 'warmup'))
  const reps = Math.round(number(values.reps, quick ? 1 : 3, 'reps'))
  const scenarioIds = parseIdList(values.scenarios, allScenarios.map((s) => s.id), 'scenario', fail)
  const scenarios = allScenarios.filter((s) => scenarioIds === undefined ? !quick || s.quick : scenarioIds.includes(s.id))
  const contenderIds = parseIdList(values.contenders, allContenderIds, 'contender', fail)
  const pairedRounds = wholeNumber(values['paired-rounds'] ?? (quick ? '4' : '12'), 'paired-rounds', 0, fail)
  const node = /** @type {import('./node-choice.mjs').NodeChoice} */ (values.node)
  if (!nodeChoices.includes(node)) fail(`--node is 24 or current, not ${values.node}`)
  return { quick, durationSec, warmupSec, reps, scenarios, contenderIds, pairedRounds, node }
}

/** Other processes using more CPU than this during a run disturbed it. */
const disturbedCores = 0.15

const pairedSliceSec = 1
/** The most (scenario, contender) pairs the targets' CPU rows compare (http2-targets.mjs). */
const maxPairedUnits = pairedUnits(() => true).length

/**
 * The targets' CPU ratios once more, in interleaved slices (slices.mjs), one
 * scenario at a time as `npm run bench:ab` does: the servers a scenario's
 * rows compare start together, each gets 1 s of load in turn, `rounds`
 * times, each slice after 1 s of unmeasured load, and they stop before the
 * next scenario. Only pairs whose scenario and contender ran in the main
 * phase. (All 13 pairs of the targets interleaved in one phase measured
 * seraph at 1.45-1.8× the floors where one scenario at a time gives
 * 1.2-1.35×; bench/README.md, "Why interleaved slices".)
 * @param {RunRecord[]} runs
 * @param {Scenario[]} scenarios
 * @param {Contender[]} contenders
 * @param {BenchContext} ctx
 * @param {number} rounds
 * @returns {Promise<{ totals: Map<string, import('./slices.mjs').SliceTotals>, how: string }>}
 */
async function pairedPhase (runs, scenarios, contenders, ctx, rounds) {
  /** @type {Map<string, import('./slices.mjs').SliceTotals>} */
  const totals = new Map()
  const units = rounds === 0 ? [] : pairedUnits((scenario, contender) => runs.some((r) => r.scenario === scenario && r.contender === contender))
  if (units.length === 0) return { totals, how: '' }
  for (const scenario of scenarios) {
    const group = units.filter((u) => u.scenario === scenario.id)
    if (group.length === 0) continue
    /** @type {import('./contenders.mjs').Running[]} */
    const servers = []
    try {
      for (const unit of group) {
        const contender = /** @type {Contender} */ (contenders.find((c) => c.id === unit.contender))
        servers.push(await contender.start(ctx))
      }
      progress(`paired targets, ${scenario.id}: ${group.length} servers, ${rounds} rounds of ${pairedSliceSec} s each`)
      const results = await runSlices(servers.map((server) => ({ pid: server.pid, port: server.port, scenario })), {
        rounds,
        sliceSec: pairedSliceSec,
        warmupSec: pairedSliceSec,
        onRound: (round) => progress(`paired targets, ${scenario.id}: round ${round}/${rounds}`)
      })
      group.forEach((u, i) => totals.set(unitKey(u.scenario, u.contender), /** @type {import('./slices.mjs').SliceTotals} */ (results[i])))
    } finally {
      for (const server of servers) await server.stop()
    }
  }
  return { totals, how: `${rounds} rounds of ${pairedSliceSec} s after ${pairedSliceSec} s unmeasured, one scenario at a time` }
}

/** @param {string} binary */
function versionOf (binary) {
  return binary === '' ? 'not installed' : nginxVersion(binary)
}

async function main (/** @type {string} */ tmpDir, /** @type {() => void} */ stopAll) {
  const options = parseOptions()
  const started = Date.now()
  const cliPath = join(repoRoot, 'dist/src/cli.js')
  const generatorPath = join(repoRoot, 'dist/src/primary/certificate-generator.js')
  if (!existsSync(cliPath) || !existsSync(generatorPath)) fail('dist/ is missing: run `npm run build` first (npm run bench does)')

  const cores = availableParallelism()
  const ticksPerSec = clockTicksPerSecond()
  const autocannonVersion = /** @type {{ version: string }} */ (JSON.parse(readFileSync(join(repoRoot, 'node_modules/autocannon/package.json'), 'utf8'))).version
  const nginxBinary = findNginx() ?? ''

  const candidates = allContenders(cores).filter((c) => options.contenderIds === undefined || options.contenderIds.includes(c.id))

  // A hard limit on the whole run, whatever hangs: per run of each contender
  // that may run, plus 5 min for the set-up and the probes.
  const budgetMs = 5 * 60_000 + options.scenarios.length * options.reps * Math.max(1, candidates.length) * (options.durationSec + options.warmupSec + 25) * 1000 +
    (options.pairedRounds + 1) * maxPairedUnits * (2 * pairedSliceSec + 3) * 1000 + options.scenarios.length * 60_000
  setTimeout(() => {
    progress(`bench: still running after ${Math.round(budgetMs / 1000)} s: stopping everything`)
    stopAll()
    process.exit(1)
  }, budgetMs).unref()

  const { ctx, build } = await prepareContext(repoRoot, tmpDir, cores)

  /** @type {string[]} */
  const skipped = []
  for (const c of candidates) {
    if (c.skipped !== undefined) {
      skipped.push(c.skipped)
      progress(c.skipped)
    }
  }
  const eligible = candidates.filter((c) => c.skipped === undefined)
  // The HTTP/2 scenarios need h2load: without it they are left out, with one line.
  const noH2load = options.scenarios.some((s) => s.protocol === 'h2') ? h2loadMissing() : undefined
  if (noH2load !== undefined) {
    skipped.push(noH2load)
    progress(noH2load)
    options.scenarios = options.scenarios.filter((s) => s.protocol !== 'h2')
  }
  const { probes, failed } = await probePhase(eligible, ctx, options.scenarios)
  for (const [id, message] of failed) skipped.push(`${id} failed to start or serve the files: skipped (${message})`)
  const contenders = eligible.filter((c) => !failed.has(c.id))

  /** @type {RunRecord[]} */
  const runs = []
  /** @type {{ scenario: string, contender: string, rep: number, error: string }[]} */
  const failures = []
  // Each contender runs in the scenarios of the protocols it speaks (contenders.mjs).
  const runsIn = (/** @type {Scenario} */ scenario) => contenders.filter((c) => c.protocols.includes(scenario.protocol ?? 'h1') && (c.scenarios === undefined || c.scenarios.includes(scenario.id)))
  const total = options.scenarios.reduce((sum, scenario) => sum + options.reps * runsIn(scenario).length, 0)
  let done = 0
  // Time the bench may spend waiting for the machine to be idle, in all.
  const quietBudget = { ms: options.quick ? 10_000 : 240_000, waitedMs: 0 }
  // Runs that may be repeated because other processes disturbed them, in all.
  const retries = { left: options.quick ? 3 : 16, used: 0 }
  for (const scenario of options.scenarios) {
    for (let rep = 1; rep <= options.reps; rep++) {
      // Interleaved, the first contender moving along by one each repetition.
      const those = runsIn(scenario)
      const order = those.map((_, i) => those[(i + rep - 1) % those.length]).filter((c) => c !== undefined)
      for (const contender of order) {
        done++
        const tag = `[${String(done).padStart(String(total).length)}/${total}] ${scenario.id} rep ${rep} ${contender.label}`
        try {
          /** @type {RunRecord | undefined} */
          let best
          let attempts = 0
          // A run during which other processes took CPU is done again (within
          // the retry budget); the least disturbed attempt counts.
          while (true) {
            attempts++
            await waitForQuiet(quietBudget, ticksPerSec)
            const record = await measure(contender, scenario, rep, ctx, { durationSec: options.durationSec, warmupSec: options.warmupSec, ticksPerSec })
            if (best === undefined || record.otherCores < best.otherCores) best = record
            progress(`${tag}: ${Math.round(record.load.reqPerSec)} req/s, ${record.load.mbPerSec.toFixed(1)} MB/s, ` +
              `${Math.round(record.cpuUsPerRequest)} µs CPU/req, errors ${record.load.errors}, non-2xx ${record.load.non2xx}` +
              (record.otherCores > disturbedCores ? `; other processes used ${record.otherCores.toFixed(2)} cores` : ''))
            if (record.otherCores <= disturbedCores || attempts >= 3 || retries.left <= 0) break
            retries.left--
            retries.used++
            progress('  disturbed: measuring again')
          }
          runs.push({ ...best, attempts, node: process.version })
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err)
          failures.push({ scenario: scenario.id, contender: contender.id, rep, error })
          progress(`${tag}: FAILED: ${error}`)
        }
      }
    }
  }

  const paired = await pairedPhase(runs, options.scenarios, contenders, ctx, options.pairedRounds)

  const summary = summarize(runs, options.scenarios, contenders, 'seraph')
  const targets = targetRows(summary, probes)
  const floors = floorRatios(summary)
  const http2Targets = http2TargetRows(summary, paired.totals)
  const date = new Date()
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU'
  const machine = {
    cpuModel,
    nproc: cpus().length,
    availableParallelism: cores,
    kernel: `Linux ${release()}`,
    node: process.version,
    nodeSource: nodeDescription(options.node),
    nginx: versionOf(nginxBinary),
    autocannon: autocannonVersion,
    h2load: h2loadVersion(),
    clockTicksPerSecond: ticksPerSec,
    seraphBuild: build
  }
  const header = [
    `seraph bench, ${date.toISOString()}${options.quick ? ' (--quick)' : ''}`,
    `machine: ${cpuModel}, ${machine.nproc} cores (availableParallelism ${cores}), ${machine.kernel}, node ${machine.node}, nginx ${machine.nginx}`,
    `every figure below ran on ${machine.nodeSource}: seraph, the floors and autocannon`,
    `seraph: the build in dist/ when the bench started (copied; JavaScript hash ${build})`,
    `load generator: autocannon ${autocannonVersion} in this one process (one thread), on the same ${machine.nproc} cores as the server`,
    `  (HTTP/2 scenarios: h2load ${machine.h2load}, one thread, as a child process; its CPU counts as the generator's),`,
    `  with the same settings for every contender: ${options.scenarios[0]?.connections ?? 50} connections, pipelining 1, ` +
      `${options.durationSec} s per run after a ${options.warmupSec} s warm-up, ${options.reps} repetition(s), contenders interleaved.`,
    `server CPU µs/req: utime+stime of the contender's whole process tree (/proc, CLK_TCK ${ticksPerSec}) during the run ÷ responses`,
    '  ("main N%": the share of the process we started: seraph\'s or node:cluster\'s primary, nginx\'s master);',
    '  "cores server+gen+other" = CPU seconds per second used by the server tree, by this load generator and by every',
    '  other process on the machine (should be ~0). RSS after the run.',
    '  "worker CPU split": each worker\'s share of the CPU all the workers used during the run (the children of the process we started).'
  ]
  const busiest = Math.max(0, ...runs.map((r) => r.otherCores))
  if (retries.used > 0) header.push(`${retries.used} run(s) were measured again because other processes used CPU during them.`)
  if (busiest > disturbedCores) {
    header.push(`WARNING: other processes used up to ${busiest.toFixed(2)} cores during some runs: the machine was not idle, numbers are noisy.`)
  }
  process.stdout.write(formatReport({ header, scenarios: options.scenarios, summary, probes, skipped, reps: options.reps, targets, floors }) + '\n')
  process.stdout.write(formatHttp2Targets(http2Targets, paired.how) + '\n')
  if (failures.length > 0) process.stdout.write(`${failures.length} run(s) failed: ${failures.map((f) => `${f.scenario}/${f.contender}#${f.rep}: ${f.error}`).join('; ')}\n`)

  const stamp = date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
  const files = await writeResults(join(repoRoot, 'bench/results'), stamp, {
    title: `seraph bench: median req/s per scenario${options.quick ? ' (--quick)' : ''}`,
    subtitle: `${date.toISOString().slice(0, 10)} · ${machine.nproc} cores (${cpuModel}) shared with autocannon ${autocannonVersion} · node ${machine.node} · nginx ${machine.nginx} · ${options.durationSec} s × ${options.reps}`,
    date: date.toISOString(),
    machine,
    settings: {
      quick: options.quick,
      durationSec: options.durationSec,
      warmupSec: options.warmupSec,
      reps: options.reps,
      pipelining: 1,
      timeoutSec: 10
    },
    contenders: contenders.map((c) => ({ id: c.id, label: c.label, description: c.description })),
    skipped,
    scenarios: options.scenarios,
    probes,
    summary,
    targets,
    http2Targets,
    pairedSlices: paired.how,
    seraphToFloor: floors,
    runs,
    failures,
    quietWaitSec: Math.round(quietBudget.waitedMs / 1000),
    repeatedRuns: retries.used,
    elapsedSec: Math.round((Date.now() - started) / 1000)
  })
  process.stdout.write(`results: ${files.json}\nchart:   ${files.svg}\n`)
  if (summary.length === 0) process.exitCode = 1
}

// Node 24 unless asked otherwise: the options are checked first (a bad one
// is one line on the machine's Node, before anything is installed), then
// the bench runs again on Node 24 when this is another Node.
/** @type {string} */
let chosen
try {
  chosen = parseOptions().node
} catch (err) {
  // parseArgs' ERR_PARSE_ARGS_* errors go on with hints: their first line.
  fail(err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err))
}
if (chosen === '24' && !process.version.startsWith('v24.')) {
  await rerunOn(ensureNode24(progress, fail))
}

runBenchScript({ name: 'bench', folderPrefix: 'seraph-bench-', stack: true, onSignal: (signal) => progress(`bench: ${signal}: stopping every server it started`) }, main)
