#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench:ab -- --contenders a,b[,c…]`: CPU per request of a few
 * contenders, for telling apart differences of 5-15 % that `npm run bench`
 * cannot on a noisy machine. Every contender runs at the same time (idle but
 * one); the scenario's load goes to each in turn for short slices, the order
 * reversed every round, so a drift of the machine (other tenants of a VM)
 * hits all of them alike. Prints CPU µs per request over all slices, the
 * ratio to the first contender, and the median of the per-round ratios.
 * See bench/README.md, "A/B of small differences".
 */
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { chooseContenders, contenderIds as benchContenderIds, contenders as benchContenders, diagnosticContenderIds, diagnosticContenders, seraphWithNodeOptions } from './contenders.mjs'
import { prepareContext } from './context.mjs'
import { clockTicksPerSecond } from './cpu.mjs'
import { parseIdList, parseScriptArgs, wholeNumber } from './options.mjs'
import { scenarios } from './scenarios.mjs'
import { failWith, runBenchScript } from './script-lifecycle.mjs'
import { runSlices, sliceRatio, usPerRequest } from './slices.mjs'
import { formatTable } from './table.mjs'

const contenderIds = [...benchContenderIds, ...diagnosticContenderIds]
/** @param {number} cores */
const allContenders = (cores) => [...benchContenders(cores), ...diagnosticContenders(cores)]

const usage = `usage: npm run bench:ab -- --contenders id,id[,id…] [--scenario id] [--rounds N] [--slice S] [--node-options FLAGS]
  --contenders  two or more of: ${contenderIds.join(', ')} (ratios are to the first)
  --node-options  adds one more contender: seraph (N workers) started with NODE_OPTIONS=FLAGS
                (e.g. --node-options=--max-semi-space-size=16), to weigh a V8 flag against seraph as it ships
  --scenario    one of: ${scenarios.map((s) => s.id).join(', ')} (default small-page)
  --rounds      rounds of one slice per contender (default 12)
  --slice       seconds of load per slice (default 1)
`

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/** @type {(message: string) => never} An annotated const, so that TypeScript narrows after a call. */
const fail = failWith('bench:ab')

function parseOptions () {
  const values = parseScriptArgs({
    contenders: { type: 'string' },
    scenario: { type: 'string', default: 'small-page' },
    rounds: { type: 'string', default: '12' },
    slice: { type: 'string', default: '1' },
    'node-options': { type: 'string' }
  }, usage)
  const ids = parseIdList(values.contenders, contenderIds, 'contender', fail) ?? []
  const nodeOptions = values['node-options']
  if (ids.length + (nodeOptions === undefined ? 0 : 1) < 2) fail('--contenders needs two or more ids, e.g. --contenders seraph,bare-https')
  const scenario = scenarios.find((s) => s.id === values.scenario)
  if (scenario === undefined) fail(`unknown scenario ${values.scenario}; known: ${scenarios.map((s) => s.id).join(', ')}`)
  const rounds = wholeNumber(values.rounds, 'rounds', 1, fail)
  const slice = wholeNumber(values.slice, 'slice', 1, fail)
  return { ids, scenario, rounds, slice, nodeOptions }
}

async function main (/** @type {string} */ tmpDir) {
  const options = parseOptions()
  const cores = availableParallelism()
  const ticksPerSec = clockTicksPerSecond()
  const { ctx, build } = await prepareContext(repoRoot, tmpDir, cores)
  const extra = options.nodeOptions === undefined ? [] : [seraphWithNodeOptions(cores, options.nodeOptions)]
  const chosen = chooseContenders([...allContenders(cores), ...extra], [...options.ids, ...extra.map((c) => c.id)], options.scenario.protocol ?? 'h1', fail)
  /** @type {{ label: string, pid: number, port: number, stop: () => Promise<void> }[]} */
  const running = []
  for (const contender of chosen) {
    const started = await contender.start(ctx)
    running.push({ label: contender.label, pid: started.pid, port: started.port, stop: started.stop })
  }
  process.stderr.write(`seraph build ${build}; ${options.scenario.id}; ${options.rounds} rounds of ${options.slice} s per contender\n`)
  const totals = await runSlices(running.map((server) => ({ pid: server.pid, port: server.port, scenario: options.scenario })), {
    rounds: options.rounds,
    sliceSec: options.slice,
    onRound: (round) => process.stderr.write(`round ${round}/${options.rounds}\n`)
  })
  const reference = totals[0]
  if (reference === undefined) return
  const rows = running.map((server, i) => {
    const mine = /** @type {import('./slices.mjs').SliceTotals} */ (totals[i])
    const { ratio, median } = sliceRatio(mine, reference)
    return [
      server.label,
      usPerRequest(mine, ticksPerSec).toFixed(1),
      ratio.toFixed(2),
      median.toFixed(2),
      String(Math.round(mine.requests / (options.rounds * options.slice)))
    ]
  })
  process.stdout.write(formatTable(['contender', 'server CPU µs/req', `× ${running[0]?.label}`, 'median of per-round ratios', 'req/s'], rows) + '\n')
  for (const server of running) await server.stop()
}

runBenchScript({ name: 'bench:ab', folderPrefix: 'seraph-ab-' }, main)
