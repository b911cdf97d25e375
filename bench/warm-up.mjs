#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench:warm-up -- --contenders a,b`: server CPU per request in each
 * second after a fresh start, under the scenario's load. It shows how long a
 * contender takes to reach its steady state (V8 compiles the hot code with
 * its optimizing tiers during the first seconds of load), which is what
 * `npm run bench`'s warm-up before each measured run has to cover. See
 * bench/README.md, "Warm-up".
 */
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { chooseContenders, contenderIds, contenders } from './contenders.mjs'
import { prepareContext } from './context.mjs'
import { clockTicksPerSecond, treeCpuTicks } from './cpu.mjs'
import { parseIdList, parseScriptArgs, wholeNumber } from './options.mjs'
import { runLoad } from './load.mjs'
import { median } from './report.mjs'
import { scenarios } from './scenarios.mjs'
import { failWith, runBenchScript } from './script-lifecycle.mjs'
import { formatTable } from './table.mjs'

const usage = `usage: npm run bench:warm-up -- --contenders id,id[,id…] [--scenario id] [--seconds N] [--reps N]
  --contenders  one or more of: ${contenderIds.join(', ')}
  --scenario    one of: ${scenarios.map((s) => s.id).join(', ')} (default small-page)
  --seconds     one-second loads after each start (default 10)
  --reps        fresh starts per contender, interleaved; the table shows medians (default 3)
`

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/** @type {(message: string) => never} An annotated const, so that TypeScript narrows after a call. */
const fail = failWith('bench:warm-up')

function parseOptions () {
  const values = parseScriptArgs({
    contenders: { type: 'string' },
    scenario: { type: 'string', default: 'small-page' },
    seconds: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' }
  }, usage)
  const ids = parseIdList(values.contenders, contenderIds, 'contender', fail) ?? []
  if (ids.length === 0) fail('--contenders needs one or more ids, e.g. --contenders seraph,bare-https-headers')
  const scenario = scenarios.find((s) => s.id === values.scenario)
  if (scenario === undefined) fail(`unknown scenario ${values.scenario}; known: ${scenarios.map((s) => s.id).join(', ')}`)
  const seconds = wholeNumber(values.seconds, 'seconds', 2, fail)
  const reps = wholeNumber(values.reps, 'reps', 1, fail)
  return { ids, scenario, seconds, reps }
}

async function main (/** @type {string} */ tmpDir) {
  const options = parseOptions()
  const cores = availableParallelism()
  const ticksPerSec = clockTicksPerSecond()
  const chosen = chooseContenders(contenders(cores), options.ids, options.scenario.protocol ?? 'h1', fail)
  const { ctx, build } = await prepareContext(repoRoot, tmpDir, cores)
  process.stderr.write(`seraph build ${build}; ${options.scenario.id}; ${options.reps} start(s) per contender, ${options.seconds} one-second loads each\n`)
  /** @type {Map<string, number[][]>} µs per request in each second, one array per start */
  const samples = new Map(chosen.map((c) => [c.label, []]))
  for (let rep = 0; rep < options.reps; rep++) {
    // The first contender moves along by one each repetition, as in `npm run bench`.
    const order = chosen.map((_, i) => chosen[(i + rep) % chosen.length])
    for (const contender of order) {
      if (contender === undefined) continue
      const running = await contender.start(ctx)
      /** @type {number[]} */
      const perSecond = []
      for (let second = 0; second < options.seconds; second++) {
        const before = treeCpuTicks(running.pid).total
        const load = await runLoad({ port: running.port, scenario: options.scenario, durationSec: 1 })
        const ticks = treeCpuTicks(running.pid).total - before
        perSecond.push(load.requests > 0 ? (ticks / ticksPerSec) * 1e6 / load.requests : Number.NaN)
      }
      await running.stop()
      samples.get(contender.label)?.push(perSecond)
      process.stderr.write(`start ${rep + 1}/${options.reps} ${contender.label}: ${perSecond.map((us) => us.toFixed(0)).join(' ')}\n`)
    }
  }
  const seconds = Array.from({ length: options.seconds }, (_, i) => i)
  // The first three seconds (as many as were measured) against the steady state.
  const early = seconds.slice(0, 3)
  // Steady: the median of the second half of the seconds, over all starts.
  const steadyOf = (/** @type {number[][]} */ runs) => median(runs.flatMap((run) => run.slice(Math.floor(options.seconds / 2))))
  const rows = chosen.map((c) => {
    const runs = samples.get(c.label) ?? []
    const steady = steadyOf(runs)
    // Each second's median over the starts, once for its column and its ratio.
    const perSecond = seconds.map((s) => median(runs.map((run) => run[s] ?? Number.NaN)))
    return [c.label, ...perSecond.map((us) => us.toFixed(0)), steady.toFixed(0),
      ...early.map((s) => ((perSecond[s] ?? Number.NaN) / steady).toFixed(2))]
  })
  process.stdout.write(`server CPU µs per request in each second after the start (${options.scenario.id}, medians of ${options.reps} start(s)); steady = median of the second half\n`)
  process.stdout.write(formatTable(['contender', ...seconds.map((s) => `${s + 1}`), 'steady', ...early.map((s) => `${['1st', '2nd', '3rd'][s]} ÷ steady`)], rows) + '\n')
}

runBenchScript({ name: 'bench:warm-up', folderPrefix: 'seraph-warm-up-' }, main)
